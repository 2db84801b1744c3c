"""scale.variants: every variant defined once, and what reads the registry."""

from pathlib import Path

import pytest
import yaml

from scale import variants
from scale.config import ConfigError, stage_of, validate_config
from scale.variants import REGISTRY

REPO = Path(__file__).resolve().parents[1]


def test_the_registry_is_consistent():
    names = [v.name for v in REGISTRY]
    assert len(set(names)) == len(names)
    assert len({v.label for v in REGISTRY}) == len(REGISTRY) and len({v.colour for v in REGISTRY}) == len(REGISTRY)
    for v in REGISTRY:
        assert v.stage in variants.STAGES
        if v.stage == "sft":
            assert v.defaults["loss"] in variants.LOSSES, v.name
        if v.stage == "grpo":
            assert variants.get(v.defaults["init"]).stage == "sft", v.name
        if v.baseline:
            assert variants.get(v.baseline).stage == v.stage, v.name
    assert set(variants.REQUIRED) <= set(variants.TRAINED)


def test_the_stage_of_a_variant_comes_from_the_registry():
    trained = {v.name: v.stage for v in REGISTRY if v.stage != "base"}
    assert {name: stage_of(name) for name in variants.TRAINED} == trained
    with pytest.raises(ConfigError, match="unknown variant 'sft2'"):
        stage_of("sft2")
    with pytest.raises(ConfigError, match="'base' is not trained"):
        stage_of("base")


def test_merging_overrides_key_by_key_and_drops_on_none():
    merged = variants.merged({"scale_sft": {"w_answer": 2.0}, "grpo_fw": None})
    assert merged["scale_sft"] == {**variants.DEFAULT_VARIANTS["scale_sft"], "w_answer": 2.0}
    assert "grpo_fw" not in merged and set(merged) == set(variants.TRAINED) - {"grpo_fw"}
    merged["sft"]["loss"] = "scale"
    assert variants.DEFAULT_VARIANTS["sft"]["loss"] == "ce", "merging must not share the defaults' mappings"


def test_the_report_reads_its_comparisons_claims_labels_and_colours_from_the_registry():
    from scale.report import TABLES
    from scale.report.claims import BEYOND, CLAIMS
    from scale.report.figures import COLOURS, LABELS

    compared = [(v.baseline, v.name) for v in REGISTRY if v.baseline]
    assert compared == [("sft", "scale_sft"), ("grpo", "scale_grpo"), ("scale_sft", "auto_sft"),
                        ("scale_grpo", "auto_grpo"), ("sft", "sample_sft"), ("sft", "dft_sft")]
    # each registry baseline is a paired test beside some table; Table 5 adds each loss against SCALe-SFT
    tested = {name: variants.pair(name) for spec in TABLES.values() for name in spec.get("significance", [])}
    assert set(compared) < set(tested.values())
    assert tested["dft_sft_vs_scale_sft"] == ("scale_sft", "dft_sft") and tested["scale_sft_vs_sft"] == compared[0]
    for bad in ("dft_sft_vs_sft2", "dft_sft", "sft_versus_base"):
        with pytest.raises(variants.UnknownVariant, match="<treatment>_vs_<baseline>"):
            variants.pair(bad)
    # the paper's claims on the paper's variants; the others are tested apart (Tables 4 and 5)
    assert {(b, t) for _, b, t, _ in CLAIMS.values()} == {("base", "sft"), *compared[:2]}
    assert {(b, t) for _, b, t, _ in BEYOND.values()} == set(compared[2:])
    assert {(o, s) for o, *_, s in CLAIMS.values()} == {("correct", +1), ("invalid", -1)}
    assert LABELS == {v.name: v.label for v in REGISTRY} and COLOURS == {v.name: v.colour for v in REGISTRY}
    assert variants.weighted() == ("sft_fw", "scale_sft", "auto_sft")


def test_the_command_lines_help_names_the_registrys_variants(capsys):
    from scale.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert f"({variants.described('sft')})" in out and "sft, sft_fw, scale_sft" in out
    assert f"({variants.described('grpo')})" in out


@pytest.mark.parametrize("weight, value", [("w_think", {"start": 2.0, "end": 1.0, "kind": "cosine"}),
                                           ("w_answer", {"start": 1.0, "end": 0.5})])
def test_the_fixed_weight_loss_with_a_moving_weight_stops_validation(weight, value):
    config = {"variants": {"sft_fw": {"loss": "fixed", weight: value}}}
    from scale.settings import SettingError, check_settings

    with pytest.raises(SettingError, match=f"variants/sft_fw/{weight}: the fixed-weight loss"):
        check_settings({"sft": {"training": {}}, "grpo": {"training": {}}, **config})
    check_settings({"sft": {"training": {}}, "grpo": {"training": {}},
                    "variants": {"sft_fw": {"loss": "fixed", weight: {"start": 1.5, "kind": "constant"}}}})


def test_validate_config_names_a_bad_fixed_weight_variant():
    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["variants"] = {"sft_fw": {"w_think": {"start": 2.0, "end": 1.0}}}
    with pytest.raises(ConfigError, match="variants/sft_fw/w_think: the fixed-weight loss"):
        validate_config(config)

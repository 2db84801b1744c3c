"""The Snakemake workflow: validation, the paper grid's plan, lint, and the CI config end to end."""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scale.config import load_config, variants_for
from scale.report import TABLES
from scale.variants import GRPO_VARIANTS, SFT_VARIANTS

from conftest import assert_base_never_sees_a_test_question

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--workflow-profile", "none"]


def snakemake(*args, cwd=REPO, check=True):
    result = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


REPORT_JOBS = {"significance": 1, "cost": 1, "figures": 1, "qualitative": 1, "report": 1}


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1].split("\n\n")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)
            if m.group(1) != "total"}


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run plans."""
    return re.findall(r"^(?:local)?rule (\w+):\n(?:.*\n)*?(?:    wildcards: (.*)\n|\n)", output, re.MULTILINE)


def test_paper_dry_run_plans_exactly_the_grid_of_the_config():
    config = load_config(REPO / "configs" / "paper.yaml")
    models, datasets, seeds = config["models"], config["data"]["datasets"], config["seeds"]
    sft_runs = sum(len([v for v in variants_for(config, m) if v in SFT_VARIANTS]) for m in models)
    grpo_runs = sum(len([v for v in variants_for(config, m) if v in GRPO_VARIANTS]) for m in models)
    per_row = len(datasets) * len(seeds)
    expected = {
        "download_visionr1": 1,
        "fetch_checkpoint": len(models),
        "fetch_test_set": len(datasets),
        "prepare_train_set": len(datasets),
        "prepare_test_set": len(datasets),
        "train_sft": sft_runs * per_row,
        "train_grpo": grpo_runs * per_row,
        "evaluate_base": len(models) * len(datasets),
        "evaluate_trained": (sft_runs + grpo_runs) * per_row,
        "score": len(models) * len(datasets) + (sft_runs + grpo_runs) * per_row,
        "token_stats": len(datasets),  # the think/answer imbalance, with the first model's tokenizer
        "chance_level": len(datasets),
        # Tables 4 and 5 too: the paper config's Qwen2.5-VL row runs the online-weighted pair and the other losses
        "table": 5,
        **REPORT_JOBS,
        "table_significance_tests": 2,
        "all": 1,
    }
    result = snakemake("-n", "--configfile", "configs/paper.yaml")
    assert job_counts(result.stdout) == expected


@pytest.mark.parametrize("table, flag", [("table4", "adaptive"), ("table5", "alternatives")])
def test_table1_plans_no_run_beyond_the_paper_and_tables_4_and_5_plan_theirs_for_their_rows_only(table, flag):
    """Tables 4 and 5's runs are apart: the default's results/table1.csv needs none of them (its time does not
    grow); each of those tables trains its variants, and what they are tested against, for its flag's models."""
    table1 = planned_jobs(snakemake("-n", "results/table1.csv").stdout)
    beyond = set(TABLES[table]["variants"]) - set(TABLES["table1"]["variants"])
    assert table1 and beyond and not [w for _, w in table1 for v in beyond if f"variant={v}" in w]
    config = load_config(REPO / "configs" / "paper.yaml")
    plan = planned_jobs(snakemake("-n", f"results/paper/{table}.csv", "--configfile", "configs/paper.yaml").stdout)
    trained = {(m.group(1), m.group(2)) for rule, w in plan if rule in ("train_sft", "train_grpo")
               for m in [re.search(r"model=([^,]+), dataset=\w+, \w+_variant=(\w+)", w)]}
    flagged = [m for m, spec in config["models"].items() if spec.get(flag)]
    assert flagged == ["qwen2.5_vl_3b"]
    assert trained == {(m, v) for m in flagged for v in TABLES[table]["variants"]}
    assert ("table_significance_tests", f"table={table}") in plan


def test_a_bad_config_key_fails_validation_naming_the_key(tmp_path):
    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["sft"]["trainig"] = {}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "--configfile", str(path), check=False)
    assert result.returncode != 0
    assert "trainig" in result.stdout + result.stderr


def test_cross_field_rules_are_checked(tmp_path):
    from scale.config import ConfigError, validate_config

    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["variants"] = {"grpo": {"init": "sft_fw"}, "sft_fw": None}  # FW dropped, GRPO still starting from it
    with pytest.raises(ConfigError, match="variants/grpo/init: no variant 'sft_fw'"):
        validate_config(config)
    config["variants"] = {"scale_sft": None}
    with pytest.raises(ConfigError, match="variants/scale_sft: Tables 1 and 2 need it"):
        validate_config(config)


def test_the_papers_variants_are_every_configs_unless_it_overrides_them():
    from scale.config import variants
    from scale.variants import DEFAULT_VARIANTS

    for config_file in ("config.yaml", "configs/ci.yaml", "configs/paper.yaml"):
        assert variants(load_config(REPO / config_file)) == DEFAULT_VARIANTS, config_file
    overridden = variants({"variants": {"scale_sft": {"w_answer": 2.0}, "grpo_fw": None}})
    assert overridden["scale_sft"] == {**DEFAULT_VARIANTS["scale_sft"], "w_answer": 2.0} and "grpo_fw" not in overridden


@pytest.mark.parametrize("configs", [[], ["configs/paper.yaml"], ["configs/paper.yaml", "configs/rehearsal.yaml"],
                                     ["configs/text.yaml"], ["configs/text_smollm2.yaml"], ["configs/smolvlm.yaml"]],
                         ids=["default", "paper", "rehearsal", "text", "smollm2", "smolvlm"])
def test_lint_reports_nothing(configs):
    result = snakemake("--lint", *(["--configfile", *configs] if configs else []))
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_ruff_check_passes():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "scale", "tests", "benchmarks"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_snakefmt_check_passes():
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules/"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def assert_tables_equal_their_metrics(results: Path) -> None:
    """No number in a table is typed in: each cell is the mean of its metrics.json values."""
    import json

    import pandas as pd

    from scale.report import TABLES

    built = [table for table in TABLES if (results / f"{table}.csv").is_file()]  # the callers say which must be
    assert {"table1", "table2"} <= set(built)
    for table in built:
        spec, frame = TABLES[table], pd.read_csv(results / f"{table}.csv")
        for _, row in frame.iterrows():
            for variant in spec["variants"]:
                cell = results / "eval" / row["model"] / row["dataset"] / variant
                files = [cell / "metrics.json"] if variant == "base" else sorted(cell.glob("seed*/metrics.json"))
                metrics = [json.loads(f.read_text()) for f in files]
                assert files and row[variant] == pytest.approx(
                    sum(m[spec["metric"]] for m in metrics) / len(metrics), abs=1e-4)
                if spec.get("with_invalid"):
                    assert row[f"{variant}_invalid"] == pytest.approx(
                        sum(m["invalid_rate"] for m in metrics) / len(metrics), abs=1e-4)


@pytest.mark.slow
def test_ci_config_runs_end_to_end_and_a_changed_w_think_reruns_only_the_scale_sft_chain(tmp_path):
    config_path = REPO / "configs" / "ci.yaml"
    snakemake("--cores", "2", "--configfile", str(config_path), "--directory", str(tmp_path))
    results = tmp_path / load_config(config_path)["results_dir"]
    for table in ("table1", "table2"):
        assert (results / f"{table}.csv").is_file() and (results / f"{table}.md").is_file()
    assert not (results / "table3.csv").exists()  # no row asks for the ablation
    assert_tables_equal_their_metrics(results)
    assert_base_never_sees_a_test_question(results / "data")  # the files the warm-up rule read
    for name in ("report.md", "qualitative.md", "significance.csv", "cost.csv"):
        assert (results / name).stat().st_size > 0, name
    assert len(list((results / "figures").glob("*.png"))) == 6
    assert "Nothing to be done" in snakemake("-n", "--configfile", str(config_path), "--directory",
                                             str(tmp_path)).stdout
    html = tmp_path / "report.html"  # Snakemake's HTML report, as the README tells users to build it
    snakemake("--configfile", str(config_path), "--directory", str(tmp_path), "--report", str(html))
    page = html.read_text(errors="replace")
    # every table and figure explains itself (docs/report/*.rst captions, rendered per table)
    for caption in ("Table 1: accuracy (%) per model", "McNemar's exact p", "one-seventh",
                    "follows the cosine from its start value"):
        assert caption in page, caption
    # the several-seed summary, asked for on this one-seed grid: one job over the finished cells
    summary = f"{load_config(config_path)['results_dir']}/seeds/summary.md"
    snakemake("--cores", "1", summary, "--configfile", str(config_path), "--directory", str(tmp_path))
    table1 = pd.read_csv(results / "table1.csv")
    assert f"| {table1['model'][0]} | {table1['dataset'][0]} | {table1['base'][0]:.1f} ± 0.0 | " in (
        tmp_path / summary).read_text()
    claims = pd.read_csv(results / "seeds" / "claims.csv")
    assert {"sft_over_base", "scale_sft_over_sft", "scale_grpo_over_grpo"} <= set(claims["claim"])

    changed = yaml.safe_load(config_path.read_text())
    changed["variants"] = {"scale_sft": {"w_think": {"start": 3.0, "end": 1.0, "kind": "cosine"}}}
    changed_path = tmp_path / "changed.yaml"
    changed_path.write_text(yaml.safe_dump(changed))
    plan = snakemake("-n", "--configfile", str(changed_path), "--directory", str(tmp_path)).stdout
    jobs = planned_jobs(plan)
    counts = job_counts(plan)
    datasets = len(changed["data"]["datasets"])
    assert counts == {"train_sft": datasets, "train_grpo": datasets, "evaluate_trained": 2 * datasets,
                      "score": 2 * datasets, "table": 2, **REPORT_JOBS, "all": 1}
    for rule, wildcards in jobs:
        if rule in ("train_sft", "train_grpo", "evaluate_trained", "score"):
            assert re.search(r"\b(scale_sft|scale_grpo)\b", wildcards), (rule, wildcards)
            assert not re.search(r"variant=(sft|grpo|sft_fw|grpo_fw)\b", wildcards), (rule, wildcards)


def test_a_variant_can_override_its_stage_training_settings():
    from scale.config import grpo_spec, sft_spec

    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["variants"] = {"scale_sft": {"training": {"learning_rate": 0.5}}}
    assert sft_spec(config, "scale_sft")["training"]["learning_rate"] == 0.5
    assert sft_spec(config, "sft")["training"]["learning_rate"] == config["sft"]["training"]["learning_rate"]
    assert grpo_spec(config, "grpo")["training"] == config["grpo"]["training"]
    assert config["sft"]["training"].get("learning_rate") != 0.5, "the stage settings must not be mutated"


def test_the_schema_names_the_variants_and_losses_the_registry_defines():
    """The schema's variant entries are written from the registry (scale.variants) when it is loaded."""
    from scale.config import schema
    from scale.variants import LOSSES

    patterns = schema()["properties"]["variants"]["patternProperties"]
    by_stage = {frozenset(pattern.strip("^()$").split("|")): spec for pattern, spec in patterns.items()}
    assert set(by_stage) == {frozenset(SFT_VARIANTS), frozenset(GRPO_VARIANTS)}
    assert set(by_stage[frozenset(SFT_VARIANTS)]["properties"]["loss"]["enum"]) == set(LOSSES)
    assert set(by_stage[frozenset(GRPO_VARIANTS)]["properties"]["init"]["enum"]) == set(SFT_VARIANTS)

"""scale.grid and the config slices the rules hand their jobs: what each report rule reads, decided here."""

from pathlib import Path

from scale import layout
from scale.config import load_config, visionr1_spec
from scale.grid import comparison_predictions, run_files, stats_files, train_timings, trained_cells

REPO = Path(__file__).resolve().parents[1]


def test_the_significance_inputs_are_the_compared_variants_predictions_only():
    config = load_config(REPO / "configs" / "ci.yaml")
    files = comparison_predictions(config)
    variants = {layout.parse_eval_path(f)["variant"] for f in files}
    assert variants == {"sft", "scale_sft", "grpo", "scale_grpo"}  # Table 1's significance
    assert len(files) == 4 * len(config["data"]["datasets"]) * len(config["seeds"])


def test_every_training_run_has_its_log_summary_and_timing_in_the_report_inputs():
    config = load_config(REPO / "configs" / "paper.yaml")
    cells = trained_cells(config)
    logs, timings = run_files(config, layout.train_log), train_timings(config)
    assert len(logs) == len(timings) == len(cells)
    assert logs[0] == f"{layout.run_dir(config['results_dir'], *cells[0])}/train_log.jsonl"
    assert timings[0].endswith(f"/train/{layout.run_name(*cells[0])}.tsv")


def test_token_stats_use_the_first_models_tokenizer_for_every_dataset():
    config = load_config(REPO / "config.yaml")
    assert stats_files(config) == [layout.stats_file("results", d, "qwen2_5_vl") for d in ("scienceqa", "iconqa")]


def test_a_vision_r1_subset_depends_on_the_corpus_settings_and_its_own_folders_not_the_hub_id():
    config = load_config(REPO / "configs" / "paper.yaml")
    spec = visionr1_spec(config, "iconqa")
    assert spec["subsets"] == ["IconQA", "iconqa"] and spec["min_kept_share"] == 0.8
    assert "repo_id" not in spec and spec["root"] == config["data"]["visionr1"]["root"]


def test_a_flag_naming_datasets_runs_its_pair_and_builds_its_table_rows_on_those_datasets_only():
    import copy

    import pytest

    from scale.config import ConfigError, validate_config
    from scale.grid import table_metrics, tables

    config = load_config(REPO / "configs" / "paper.yaml")
    everywhere = trained_cells(config)
    one = copy.deepcopy(config)
    one["models"]["qwen2.5_vl_3b"]["adaptive"] = ["iconqa"]
    cells = trained_cells(validate_config(one))
    dropped = sorted(set(everywhere) - set(cells))
    from scale.variants import REGISTRY

    # auto_grpo (auto_sft also runs for Table 5's alternatives flag, which stays true)
    adaptive = sorted(v.name for v in REGISTRY if v.model_flags == ("adaptive",))
    assert dropped == [("qwen2.5_vl_3b", "scienceqa", v, 0) for v in adaptive] and adaptive
    assert set(cells) < set(everywhere)  # nothing else moves, and the order of what stays is kept
    assert cells == [cell for cell in everywhere if cell not in dropped]
    rows = {(f.split("/")[3], f.split("/")[4]) for f in table_metrics(one, "table4")}
    assert rows == {("qwen2.5_vl_3b", "iconqa")} and "table4" in tables(one)
    assert {layout.parse_eval_path(f)["dataset"] for f in comparison_predictions(one, "table4")} == {"iconqa"}
    assert len(table_metrics(one, "table3")) == len(table_metrics(config, "table3"))  # ablation: still true
    one["models"]["qwen2.5_vl_3b"]["ablation"] = ["mathvista"]
    with pytest.raises(ConfigError, match=r"models/qwen2.5_vl_3b/ablation: \['mathvista'\] are not datasets"):
        validate_config(one)
    one["models"]["qwen2.5_vl_3b"]["ablation"] = []
    with pytest.raises(ConfigError, match="models/qwen2.5_vl_3b/ablation"):
        validate_config(one)


def test_a_models_datasets_key_keeps_its_runs_evaluations_and_table_rows_to_those_datasets():
    import copy

    import pytest

    from scale.config import ConfigError, validate_config
    from scale.grid import all_metrics, rows, table_metrics

    config = load_config(REPO / "configs" / "paper.yaml")
    cut = copy.deepcopy(config)
    cut["models"]["gemma_3_4b_it"]["datasets"] = ["scienceqa"]
    cells = trained_cells(validate_config(cut))
    dropped = [cell for cell in trained_cells(config) if cell not in cells]
    assert {(m, d) for m, d, _, _ in dropped} == {("gemma_3_4b_it", "iconqa")}
    assert len(dropped) == 4 and cells == [cell for cell in trained_cells(config) if cell not in dropped]
    assert ("gemma_3_4b_it", "iconqa") not in rows(cut) and ("gemma_3_4b_it", "scienceqa") in rows(cut)
    assert len(rows(cut)) == len(rows(config)) - 1
    evaluated = {(layout.parse_eval_path(f)["model"], layout.parse_eval_path(f)["dataset"]) for f in all_metrics(cut)}
    assert evaluated == set(rows(cut))  # Base too
    for table in ("table1", "table2"):
        assert {(f.split("/")[3], f.split("/")[4]) for f in table_metrics(cut, table)} == set(rows(cut))
    cut["models"]["gemma_3_4b_it"]["datasets"] = ["mathvista"]
    with pytest.raises(ConfigError, match=r"models/gemma_3_4b_it/datasets: \['mathvista'\] are not datasets"):
        validate_config(cut)
    cut["models"]["qwen2.5_vl_3b"]["datasets"] = ["iconqa"]  # its Table 3 and 4 pairs run on both datasets
    cut["models"]["gemma_3_4b_it"]["datasets"] = ["scienceqa"]
    cut["models"]["qwen2.5_vl_3b"]["ablation"] = ["scienceqa"]
    with pytest.raises(ConfigError, match=r"models/qwen2.5_vl_3b/ablation: the model does not run on \['scienceqa'\]"):
        validate_config(cut)

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
    assert variants == {"sft", "scale_sft", "grpo", "scale_grpo"}  # scale.report.significance.COMPARISONS
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

"""scale.report: tables from metrics over seeds, significance, cost, qualitative examples and figures."""

import json
from pathlib import Path

import pandas as pd
import pytest

from scale.eval.predictions import prediction, write_predictions
from scale.report import figures
from scale.report.cost import write_cost
from scale.report.qualitative import qualitative_markdown
from scale.report.significance import write_significance
from scale.report.tables import build_table, collect_metrics, markdown, with_paper, write_table


def write_metrics(root: Path, model, dataset, variant, seed, accuracy, invalid=0.0) -> Path:
    cell = f"{model}/{dataset}/base" if variant == "base" else f"{model}/{dataset}/{variant}/seed{seed}"
    path = root / "eval" / cell / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"accuracy": accuracy, "invalid_rate": invalid, "n": 100}))
    return path


@pytest.fixture
def two_seed_metrics(tmp_path):
    values = {"sft": (80.0, 84.0), "scale_sft": (85.0, 86.0), "grpo": (81.0, 83.0), "scale_grpo": (86.0, 88.0)}
    paths = [write_metrics(tmp_path, "qwen2.5_vl_3b", "scienceqa", "base", None, 80.6)]
    for variant, accuracies in values.items():
        for seed, accuracy in enumerate(accuracies):
            paths.append(write_metrics(tmp_path, "qwen2.5_vl_3b", "scienceqa", variant, seed, accuracy, 1.0 + seed))
    return paths


def test_table_cells_are_mean_and_std_over_seeds_with_the_paper_beside(two_seed_metrics):
    table = with_paper(build_table(collect_metrics(two_seed_metrics), "table1"), "table1")
    row = table.iloc[0]
    assert row["sft"] == 82.0 and row["sft_std"] == pytest.approx(2.8284271, rel=1e-6)  # sample std of 80, 84
    assert row["scale_grpo"] == 87.0 and row["scale_grpo_seeds"] == 2
    assert row["base"] == 80.6 and pd.isna(row["base_std"])  # evaluated once
    assert row["paper_sft"] == 85.0 and row["delta_sft"] == pytest.approx(-3.0)
    text = markdown(table, "table1")
    assert "82.00 ± 2.83 (85.00, -3.00)" in text


def test_rows_the_paper_does_not_have_show_empty_reference_never_zero(tmp_path):
    paths = [write_metrics(tmp_path, "tiny", "iconqa", v, 0, 50.0) for v in ("sft", "scale_sft", "grpo", "scale_grpo")]
    paths.append(write_metrics(tmp_path, "tiny", "iconqa", "base", None, 30.0))
    table = with_paper(build_table(collect_metrics(paths), "table1"), "table1")
    assert table["paper_sft"].isna().all() and table["delta_sft"].isna().all()
    assert "(" not in markdown(table, "table1").split("|---|")[-1]


def test_a_table_missing_a_cell_is_an_error(two_seed_metrics):
    with pytest.raises(ValueError, match="sft_fw"):
        build_table(collect_metrics(two_seed_metrics), "table3")


def test_every_number_written_equals_its_metrics_file(two_seed_metrics, tmp_path):
    frame = write_table(two_seed_metrics, "table2", tmp_path / "t2.csv", tmp_path / "t2.md")
    written = pd.read_csv(tmp_path / "t2.csv")
    assert written.loc[0, "sft"] == pytest.approx(1.5)  # invalid rates 1.0 and 2.0
    assert written.loc[0, "sft"] == pytest.approx(frame.loc[0, "sft"])


def test_accuracy_tables_show_what_guessing_scores_per_dataset(two_seed_metrics, tmp_path):
    chance = tmp_path / "data" / "scienceqa" / "chance.json"
    chance.parent.mkdir(parents=True)
    chance.write_text(json.dumps({"uniform": 36.5, "majority": 41.0}))
    frame = write_table(two_seed_metrics, "table1", tmp_path / "t1.csv", tmp_path / "t1.md", chance_paths=[chance])
    assert frame.loc[0, "chance_uniform"] == 36.5 and frame.loc[0, "chance_majority"] == 41.0
    assert "| 36.50 / 41.00 |" in (tmp_path / "t1.md").read_text()
    invalid = write_table(two_seed_metrics, "table2", tmp_path / "t2.csv", tmp_path / "t2.md", chance_paths=[chance])
    assert "chance_uniform" not in invalid.columns  # guessing says nothing about invalid outputs
    other = tmp_path / "data" / "iconqa" / "chance.json"
    other.parent.mkdir()
    other.write_text(chance.read_text())
    with pytest.raises(ValueError, match="scienceqa"):
        write_table(two_seed_metrics, "table1", tmp_path / "t1.csv", tmp_path / "t1.md", chance_paths=[other])


def predictions_file(root, model, dataset, variant, seed, correct_ids, n=10):
    rows = [prediction({"id": str(i), "qtype": "q", "answer": "A"},
                       f"<think>t</think><answer>{'A' if i in correct_ids else 'B'}</answer>",
                       "stop", lambda t: len(t)) for i in range(n)]
    path = root / "eval" / model / dataset / variant / f"seed{seed}" / "predictions.jsonl"
    write_predictions(path, rows)
    return path


def test_significance_pools_seeds_and_matches_hand_values(tmp_path):
    files = [
        predictions_file(tmp_path, "m", "d", "sft", 0, {0, 1, 2}),
        predictions_file(tmp_path, "m", "d", "scale_sft", 0, {0, 1, 2, 3, 4}),
        predictions_file(tmp_path, "m", "d", "sft", 1, {0, 1}),
        predictions_file(tmp_path, "m", "d", "scale_sft", 1, {0, 1, 2}),
    ]
    frame = write_significance(files, tmp_path / "sig.csv", bootstrap=300)
    row = frame.iloc[0]
    # 20 pooled pairs; SCALe alone right on 3, SFT alone right on 0: McNemar p = 2 * (1/2)^3
    assert row["comparison"] == "scale_sft_vs_sft" and row["n_pairs"] == 20
    assert (row["only_baseline_correct"], row["only_treatment_correct"]) == (0, 3)
    assert row["difference"] == pytest.approx(15.0)
    assert row["mcnemar_p"] == pytest.approx(0.25)
    assert row["ci_low"] <= 15.0 <= row["ci_high"]


def test_cost_table_reads_timing_records_and_computes_the_pipeline_ratio(tmp_path):
    from scale import layout

    runs, timings = [], []
    for variant, seconds in (("sft", 10.0), ("scale_sft", 12.0), ("grpo", 50.0), ("scale_grpo", 55.0)):
        run = tmp_path / "runs" / "m" / "d" / variant / "seed0" / "run.json"
        run.parent.mkdir(parents=True)
        run.write_text(json.dumps({"train_tokens": 1000, "steps": 5}))
        runs.append(run)
        timing = Path(layout.timing_file(str(tmp_path), "train", layout.run_name("m", "d", variant, 0)))
        timing.parent.mkdir(parents=True, exist_ok=True)
        timing.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:10\t100\n")
        timings.append(timing)
    table = write_cost(runs, timings, tmp_path / "cost.csv")
    assert table["scale_sft_over_sft_plus_grpo"].iloc[0] == pytest.approx(12.0 / 60.0)
    assert set(table["train_tokens"]) == {1000}


def test_qualitative_shows_disagreements_with_gold_and_both_outputs(tmp_path):
    test = tmp_path / "data" / "d" / "test.jsonl"
    test.parent.mkdir(parents=True)
    test.write_text("".join(json.dumps({"id": str(i), "image": None, "question": f"Q{i}?", "choices": None,
                                        "answer": "A", "source": "s", "qtype": "q"}) + "\n" for i in range(10)))
    files = [predictions_file(tmp_path, "m", "d", "sft", 0, {0, 1}),
             predictions_file(tmp_path, "m", "d", "scale_sft", 0, {0, 2, 3})]
    text = qualitative_markdown(files, {"d": test}, per_row=2)
    assert "## m on d" in text
    assert "**2**" in text and "**3**" in text and "**1**" not in text  # SCALe-right cases come first
    assert "SCALe-SFT (correct" in text and "SFT (wrong" in text and "gold: `A`" in text


def test_figures_are_written_as_png(tmp_path, two_seed_metrics):
    log = tmp_path / "runs" / "m" / "d" / "scale_sft" / "seed0" / "train_log.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text("".join(json.dumps({"step": s, "w_think": 2 - s / 10, "w_answer": 1.0, "think_ce": 3.0 / s,
                                       "answer_ce": 2.0 / s}) + "\n" for s in range(1, 11)))
    figures.weight_schedule([log], tmp_path / "w.png")
    figures.segment_ce([log], tmp_path / "ce.png")
    write_table(two_seed_metrics, "table1", tmp_path / "t1.csv", tmp_path / "t1.md")
    figures.accuracy_bars(tmp_path / "t1.csv", tmp_path / "acc.png")
    for name in ("w.png", "ce.png", "acc.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_significance_columns_stand_beside_the_accuracy_table_only(two_seed_metrics, tmp_path):
    significance = pd.DataFrame([{"model": "qwen2.5_vl_3b", "dataset": "scienceqa", "comparison": "scale_sft_vs_sft",
                                  "difference": 4.5, "ci_low": 1.0, "ci_high": 8.0, "mcnemar_p": 0.012}])
    significance.to_csv(tmp_path / "sig.csv", index=False)
    write_table(two_seed_metrics, "table1", tmp_path / "t1.csv", tmp_path / "t1.md", tmp_path / "sig.csv")
    write_table(two_seed_metrics, "table2", tmp_path / "t2.csv", tmp_path / "t2.md", tmp_path / "sig.csv")
    assert "+4.50 [+1.00, +8.00], p=0.012" in (tmp_path / "t1.md").read_text()
    assert "p=" not in (tmp_path / "t2.md").read_text()


def test_table4_gives_accuracy_and_invalid_rate_per_cell_with_its_own_paired_tests_only(two_seed_metrics, tmp_path):
    more = {"auto_sft": (87.0, 89.0), "auto_grpo": (90.0, 84.0)}
    paths = [p for p in two_seed_metrics if "/base/" not in str(p)]
    for variant, accuracies in more.items():
        for seed, accuracy in enumerate(accuracies):
            paths.append(write_metrics(tmp_path, "qwen2.5_vl_3b", "scienceqa", variant, seed, accuracy, 10.0 * seed))
    significance = pd.DataFrame([
        {"model": "qwen2.5_vl_3b", "dataset": "scienceqa", "comparison": name, "difference": diff, "ci_low": -1.0,
         "ci_high": 8.0, "mcnemar_p": p}
        for name, diff, p in (("scale_sft_vs_sft", 4.5, 0.012), ("auto_sft_vs_scale_sft", 2.5, 0.5),
                              ("auto_grpo_vs_scale_grpo", 0.0, 1.0))])
    significance.to_csv(tmp_path / "sig.csv", index=False)
    frame = write_table(paths, "table4", tmp_path / "t4.csv", tmp_path / "t4.md", tmp_path / "sig.csv")
    row = frame.iloc[0]
    assert row["auto_sft"] == pytest.approx(88.0) and row["auto_grpo_std"] == pytest.approx(4.242641, rel=1e-5)
    assert row["auto_sft_invalid"] == pytest.approx(5.0) and row["scale_sft_invalid"] == pytest.approx(1.5)
    assert pd.isna(row["paper_auto_sft"])  # the paper has no Table 4
    text = (tmp_path / "t4.md").read_text()
    assert "88.00 ± 1.41; invalid 5.00" in text
    assert "+2.50 [-1.00, +8.00], p=0.5" in text and "auto_grpo_vs_scale_grpo" in text
    assert "scale_sft_vs_sft" not in text  # Table 1's test stands beside Table 1
    write_table(two_seed_metrics, "table1", tmp_path / "t1.csv", tmp_path / "t1.md", tmp_path / "sig.csv")
    assert "auto_" not in (tmp_path / "t1.md").read_text()
    with pytest.raises(ValueError, match="auto_grpo"):
        write_table(paths[:-2], "table4", tmp_path / "x.csv", tmp_path / "x.md")


def test_table5_tests_each_loss_against_sft_and_scale_sft_and_writes_the_tests_in_its_csv(tmp_path):
    """Table 5's paired tests come from its own list (each variant against SFT and against SCALe-SFT, not the
    registry's single baseline), pooled over seeds, and stand in its CSV with p to 3 significant digits."""
    from scale.report import TABLES

    right = {"sft": {0, 1}, "sample_sft": {0, 1, 2}, "dft_sft": set(), "sft_fw": {0, 1, 2, 3},
             "scale_sft": {0, 1, 2, 3}, "auto_sft": {0, 1, 2, 3, 4}}
    files, metrics = [], []
    for seed in (0, 1):
        for variant, correct in right.items():
            files.append(predictions_file(tmp_path, "m", "d", variant, seed, correct))
            metrics.append(write_metrics(tmp_path, "m", "d", variant, seed, 10.0 * len(correct),
                                         100.0 if variant == "dft_sft" else 0.0))
    frame = write_significance(files, tmp_path / "sig5.csv", bootstrap=200, table="table5")
    assert sorted(frame["comparison"]) == sorted(TABLES["table5"]["significance"])
    assert {"dft_sft_vs_sft", "dft_sft_vs_scale_sft", "scale_sft_vs_sft"} <= set(frame["comparison"])
    dft = frame.set_index("comparison").loc["dft_sft_vs_scale_sft"]
    # 20 pooled pairs: SCALe-SFT alone right on 8, DFT alone on none: McNemar p = 2 * (1/2)^8
    assert (dft["n_pairs"], dft["only_baseline_correct"], dft["only_treatment_correct"]) == (20, 8, 0)
    assert dft["mcnemar_p"] == pytest.approx(2 * 0.5 ** 8)
    table = write_table(metrics, "table5", tmp_path / "t5.csv", tmp_path / "t5.md", tmp_path / "sig5.csv")
    assert table.loc[0, "dft_sft_vs_scale_sft_difference"] == pytest.approx(-40.0)
    written = pd.read_csv(tmp_path / "t5.csv")
    assert written.loc[0, "dft_sft_vs_scale_sft_p"] == pytest.approx(0.00781, rel=1e-3)  # 3 digits, not 0.0078
    assert written.loc[0, "dft_sft_invalid"] == 100.0
    assert "scale_sft_vs_sft_p" in written
    others = [write_metrics(tmp_path, "m", "d", "base", None, 5.0)] + [
        write_metrics(tmp_path, "m", "d", v, seed, 1.0) for v in ("grpo", "scale_grpo") for seed in (0, 1)]
    write_table(metrics + others, "table1", tmp_path / "t1.csv", tmp_path / "t1.md", tmp_path / "sig5.csv")
    assert not [c for c in pd.read_csv(tmp_path / "t1.csv").columns if "_vs_" in c]  # Tables 1-4 keep theirs


def test_the_weight_figure_draws_the_online_weights_beside_the_cosine(tmp_path):
    logs = []
    for variant, weights in (("scale_sft", [2 - s / 10 for s in range(1, 11)]),
                             ("auto_sft", [1.0, 1.0, 1.3, 0.8, 1.1, 1.2, 0.9, 1.0, 1.05, 0.95])):
        log = tmp_path / "runs" / "m" / "d" / variant / "seed0" / "train_log.jsonl"
        log.parent.mkdir(parents=True)
        answer = (lambda w: 2 - w) if variant == "auto_sft" else (lambda w: 1.0)
        log.write_text("".join(json.dumps({"step": s, "w_think": w, "w_answer": answer(w)}) + "\n"
                               for s, w in enumerate(weights, start=1)))
        logs.append(log)
    drawn = figures.weight_schedule(logs, tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"
    assert set(drawn) >= {"w_think, SCALe-SFT", "w_think, Auto-SFT"}


@pytest.mark.parametrize("template", ["table", "significance"])
def test_each_tables_captions_render_from_its_entry_as_the_report_renders_them(template):
    """A table's captions live in its ``TABLES`` entry: the report's caption files render the rule's ``caption``
    parameter (rules/common.smk reads it from the entry) through Jinja and docutils as Snakemake's report does,
    so a new table brings its own captions, and a caption that is not valid reStructuredText fails here."""
    from docutils.core import publish_parts
    from jinja2 import Environment

    from scale.report import TABLES

    source = (Path(__file__).resolve().parents[1] / "docs" / "report" / f"{template}.rst").read_text()
    key = "caption" if template == "table" else "significance_caption"
    entries = {name: spec for name, spec in TABLES.items() if template == "table" or spec.get("significance")}
    assert entries.keys() == ({"table1", "table2", "table3", "table4", "table5"} if template == "table"
                              else {"table1", "table4", "table5"})
    captions = set()
    for name, spec in entries.items():
        params = type("Params", (), {"caption": spec[key]})
        rst = Environment(trim_blocks=True, lstrip_blocks=True).from_string(source).render(
            snakemake=type("Job", (), {"params": params}))
        assert rst.strip() == spec[key]
        html = publish_parts(rst, writer_name="html", settings_overrides={"halt_level": 2})["body"]
        assert spec["title"].split(":")[0].split(" (")[0] in html or template == "significance", (name, html)
        captions.add(spec[key])
    assert len(captions) == len(entries)  # each its own

"""scale.report.seeds: a grid over several seeds summarised, and the rule that writes it when seeds lists several."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scale import grid, layout
from scale.report.seeds import OUTPUTS, summarise

REPO = Path(__file__).resolve().parents[1]
MODEL, DATASET = "qwen2_5_vl", "iconqa"
# right (1) or wrong (0) on four questions, per variant and seed; base has no seed
RIGHT = {"base": {None: [0, 0, 0, 0]}, "sft": {0: [1, 1, 0, 0], 1: [1, 0, 0, 0]},
         "scale_sft": {0: [1, 1, 1, 0], 1: [1, 1, 0, 0]}}


def write_cell(results: Path, variant: str, seed, right: list[int]) -> str:
    path = Path(layout.predictions_file(str(results), MODEL, DATASET, variant, seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"q{i}", "qtype": "count" if i < 2 else "colour", "gold": "1", "output": "", "extracted": "1",
             "correct": bool(r), "valid": bool(r) or i != 3, "n_think_tokens": 1, "n_answer_tokens": 1,
             "finish_reason": "stop", "prompt_tokens": 1, "prompt_sha256": ""} for i, r in enumerate(right)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def write_log(results: Path, variant: str, seed: int, think: list[float], answer: list[float]) -> str:
    path = Path(layout.train_log(layout.run_dir(str(results), MODEL, DATASET, variant, seed)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"step": i, "think_ce": t, "answer_ce": a}) + "\n"
                            for i, (t, a) in enumerate(zip(think, answer))))
    return str(path)


def test_the_claims_pool_the_seeds_pairs_and_the_segment_losses_average_over_seeds(tmp_path):
    results = tmp_path / "results"
    predictions = [write_cell(results, v, s, r) for v, by_seed in RIGHT.items() for s, r in by_seed.items()]
    logs = [write_log(results, "sft", 0, [4.0] + [2.0] * 6, [3.0] + [1.0] * 6),
            write_log(results, "sft", 1, [6.0] + [1.0] * 6, [5.0] + [2.0] * 6),
            write_log(results, "grpo", 0, [], [])]  # a GRPO run logs no segment losses: left out
    table = results / "table1.csv"
    table.write_text(pd.DataFrame([{"model": MODEL, "dataset": DATASET, "base": 0.0, "base_std": None,
                                    "sft": 37.5, "sft_std": 17.68, "scale_sft": 62.5, "scale_sft_std": 17.68,
                                    "grpo": 10.0, "grpo_std": 0.0, "scale_grpo": 20.0, "scale_grpo_std": 0.0}])
                     .to_csv(index=False))
    out = tmp_path / "seeds"
    text = summarise(predictions, [table], [], logs, {}, False, out, "The test grid")

    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert text.startswith("# The test grid over seeds 0, 1")
    assert f"| {MODEL} | {DATASET} | 0.0 ± 0.0 | 37.5 ± 17.7 | 62.5 ± 17.7 |" in text
    claims = pd.read_csv(out / "claims.csv").set_index(["claim", "model"])
    # SCALe-SFT over SFT, paired by (seed, id): seed 0 gains q2, seed 1 gains q1; nothing lost
    row = claims.loc[("scale_sft_over_sft", MODEL)]
    assert (row["n_pairs"], row["only_baseline"], row["only_treatment"], row["difference"]) == (8, 0, 2, 25.0)
    assert row["mcnemar_p"] == pytest.approx(0.5) and not row["holds"]
    # Base (no seed) stands beside each seed: 2 + 1 right where Base was wrong
    row = claims.loc[("sft_over_base", MODEL)]
    assert (row["n_pairs"], row["only_baseline"], row["only_treatment"]) == (8, 0, 3)
    curves = pd.read_csv(out / "segment_curves.csv")
    assert curves.to_dict("records") == [{"model": MODEL, "dataset": DATASET, "variant": "sft",
                                          "think_first": 5.0, "think_last": 1.5, "answer_first": 4.0,
                                          "answer_last": 1.5}]
    qtypes = pd.read_csv(out / "qtypes.csv").set_index(["qtype", "variant"])["accuracy"]
    assert qtypes[("count", "sft")] == 75.0 and qtypes[("colour", "scale_sft")] == 25.0
    assert pd.read_csv(out / "claims_beyond.csv").empty and pd.read_csv(out / "traces.csv").empty


def test_the_summary_is_planned_with_no_target_when_seeds_lists_several_and_not_for_one():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    summary = layout.seeds_file(config["results_dir"], "summary.md")
    assert summary not in grid.all_targets(config)
    assert summary in grid.all_targets({**config, "seeds": [0, 1, 2]})
    several = grid.all_predictions({**config, "seeds": [0, 1]})
    assert len(several) == len(set(several)) == len(grid.all_metrics({**config, "seeds": [0, 1]}))

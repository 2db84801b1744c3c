"""scale.report.traces: count steps checked against the picture, and whether right answers follow from them."""

import json
import re

import pytest

from scale.data.records import read_records
from scale.report.traces import accuracy_by_qtype, implied_answer, trace_steps, written_counts

NUMBER = re.compile(r"in the picture\? red (\d+),")  # a trace's first written count


COLOUR_COUNT = re.compile(r"\b(?:red|green|blue|yellow) (\d+)")


def prediction(record, output, extracted, correct):
    return {"id": record["id"], "qtype": record["qtype"], "gold": record["answer"], "output": output,
            "extracted": extracted, "correct": correct, "valid": True, "n_think_tokens": 0, "n_answer_tokens": 0,
            "finish_reason": "stop", "prompt_tokens": None, "prompt_sha256": None}


def write_predictions(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def first_round(response: str) -> str:
    return response.split("Check 1")[0]


def test_gold_traces_imply_their_own_answers(synthetic_dir):
    for dataset in ("scienceqa", "iconqa"):
        for record in read_records(synthetic_dir / dataset / "train.jsonl"):
            assert implied_answer(record, written_counts(record["response"], record["qtype"])) == record["answer"]


def test_a_wrong_count_and_an_answer_read_past_the_counts_are_told_apart(synthetic_dir, tmp_path):
    records = read_records(synthetic_dir / "iconqa" / "train.jsonl")
    totals = [r for r in records if r["qtype"] == "fill_in_blank"]
    gold, bent, silent = totals[:3]
    true_first = int(NUMBER.search(bent["response"]).group(1))
    bent_output = NUMBER.sub(f"in the picture? red {true_first + 1},", bent["response"], count=1)
    rows = [prediction(gold, gold["response"], gold["answer"], True),
            prediction(bent, bent_output, bent["answer"], True),
            prediction(silent, "<think></think>\n<answer>7</answer>", "7", False)]
    path = write_predictions(tmp_path / "eval" / "m" / "iconqa" / "sft" / "seed0" / "predictions.jsonl", rows)
    row = trace_steps([path], {"iconqa": synthetic_dir / "iconqa" / "train.jsonl"}).iloc[0]

    assert (row["dataset"], row["qtype"], row["variant"], row["outputs"], row["with_steps"]) == (
        "iconqa", "fill_in_blank", "sft", 3, 2)
    assert row["accuracy"] == pytest.approx(200 / 3, abs=0.05)
    assert row["steps"] == 8  # a total needs the four colours' counts
    written = [int(n) for r in (gold, bent) for n in COLOUR_COUNT.findall(first_round(r["response"]))]
    assert row["steps_right"] == pytest.approx(100 * 7 / 8, abs=0.05)
    assert row["always_one"] == pytest.approx(100 * written.count(1) / 8, abs=0.05)
    assert row["all_steps_right"] == 50.0
    assert row["right_follow"] == 50.0  # the bent trace's counts add up to one more than its answer


def test_base_predictions_are_grouped_without_a_seed(synthetic_dir, tmp_path):
    record = read_records(synthetic_dir / "scienceqa" / "train.jsonl")[0]
    row = prediction(record, record["response"], record["answer"], True)
    base = write_predictions(tmp_path / "eval" / "m" / "scienceqa" / "base" / "predictions.jsonl", [row])
    table = trace_steps([base], {"scienceqa": synthetic_dir / "scienceqa" / "train.jsonl"})
    assert table[["dataset", "variant", "steps_right", "right_follow"]].values.tolist() == [
        ["scienceqa", "base", 100.0, 100.0]]


def test_each_question_type_is_checked_on_the_counts_it_needs(synthetic_dir, tmp_path):
    """A colour question on the survey's four colour counts, a shape question on its three shape counts."""
    records = read_records(synthetic_dir / "scienceqa" / "train.jsonl")
    colour = next(r for r in records if r["qtype"] == "colour_most")
    shape = next(r for r in records if r["qtype"] == "shape_most")
    wrong_shapes = re.sub(r"circle (\d+)", lambda m: f"circle {int(m.group(1)) + 1}", shape["response"])
    wrong_shapes_in_colour = re.sub(r"circle (\d+)", lambda m: f"circle {int(m.group(1)) + 1}", colour["response"])
    rows = [prediction(colour, wrong_shapes_in_colour, colour["answer"], True),
            prediction(shape, wrong_shapes, shape["answer"], True)]
    path = write_predictions(tmp_path / "eval" / "m" / "scienceqa" / "sft" / "seed0" / "predictions.jsonl", rows)
    table = trace_steps([path], {"scienceqa": synthetic_dir / "scienceqa" / "train.jsonl"}).set_index("qtype")
    assert table.loc["colour_most", "steps"] == 4 and table.loc["shape_most", "steps"] == 3
    assert table.loc["colour_most", "all_steps_right"] == 100.0  # a wrong shape count does not touch it
    assert table.loc["shape_most", "steps_right"] == pytest.approx(100 * 2 / 3, abs=0.05)
    assert table.loc["shape_most", "all_steps_right"] == 0.0


def test_accuracy_by_qtype_pools_models_and_seeds(synthetic_dir, tmp_path):
    records = [r for r in read_records(synthetic_dir / "iconqa" / "train.jsonl")][:4]
    paths = [write_predictions(tmp_path / "eval" / model / "iconqa" / "sft" / f"seed{seed}" / "predictions.jsonl",
                               [prediction(r, "", r["answer"], (i + seed) % 2 == 0) for i, r in enumerate(records)])
             for model, seed in (("a", 0), ("b", 1))]
    table = accuracy_by_qtype(paths).set_index("qtype")
    for qtype in {r["qtype"] for r in records}:
        indices = [i for i, r in enumerate(records) if r["qtype"] == qtype]
        right = sum((i + seed) % 2 == 0 for i in indices for seed in (0, 1))
        assert table.loc[qtype, "size"] == 2 * len(indices)
        assert table.loc[qtype, "accuracy"] == round(100 * right / (2 * len(indices)), 1)

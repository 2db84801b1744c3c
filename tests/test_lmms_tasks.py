"""The lmms-eval route scores exactly like the hf route (task functions are plain functions: no GPU needed)."""

import json

import pytest
import yaml

from scale.eval.lmms import LmmsEvalError, predictions_from_samples, write_task
from scale.eval.lmms_tasks import scale_tasks
from scale.eval.predictions import prediction
from scale.eval.score import score
from scale.prompts import question_text

OUTPUTS = [
    "<think>two red</think>\n<answer>B</answer>",
    "<think>hm</think><answer>(a)</answer>",
    "<think>never closes <answer>B</answer>",
    "",
]


def test_task_functions_and_the_hf_route_agree_on_fixture_outputs(synthetic_dir):
    from scale.data.records import read_records

    records = read_records(synthetic_dir / "scienceqa" / "test.jsonl")[: len(OUTPUTS)]
    records[1] = {**records[1], "answer": "A"}
    count = lambda text: len(text.split())  # noqa: E731
    hf_rows = [prediction(r, o, "stop", count) for r, o in zip(records, OUTPUTS)]
    task_rows = [scale_tasks.process_results(r, [o]) for r, o in zip(records, OUTPUTS)]
    assert [t["accuracy"] == 100.0 for t in task_rows] == [h["correct"] for h in hf_rows]
    assert [t["invalid_rate"] == 100.0 for t in task_rows] == [not h["valid"] for h in hf_rows]
    hf_metrics = score(hf_rows, bootstrap=10)
    assert scale_tasks.mean(t["accuracy"] for t in task_rows) == hf_metrics["accuracy"]
    assert scale_tasks.mean(t["invalid_rate"] for t in task_rows) == hf_metrics["invalid_rate"]
    assert scale_tasks.doc_to_text(records[0]) == question_text(records[0])


def test_written_task_points_at_our_records_and_reads_their_images(synthetic_dir, tmp_path):
    include = write_task(synthetic_dir / "iconqa" / "test.jsonl", tmp_path, "scale_iconqa", max_new_tokens=64)
    text = (include / "scale_iconqa.yaml").read_text().replace("!function ", "")
    spec = yaml.safe_load(text)
    assert spec["generation_kwargs"] == {"max_new_tokens": 64, "temperature": 0, "do_sample": False}
    docs = [json.loads(l) for l in (include / "scale_iconqa.jsonl").read_text().splitlines()]
    assert spec["dataset_kwargs"]["data_files"]["test"] == str(include / "scale_iconqa.jsonl")
    assert len(scale_tasks.doc_to_visual(docs[0])) == 1
    assert (include / "scale_tasks.py").is_file()


def test_logged_samples_convert_to_the_same_predictions_as_the_hf_route(synthetic_dir, tmp_path):
    from scale.data.records import read_records

    records = read_records(synthetic_dir / "iconqa" / "test.jsonl")[:3]
    log = tmp_path / "x_samples_scale_iconqa.jsonl"
    log.write_text("".join(json.dumps({"doc_id": i, "target": r["answer"], "resps": f" {o}",
                                       "filtered_resps": o.strip()}) + "\n"
                           for i, (r, o) in reversed(list(enumerate(zip(records, OUTPUTS))))))
    count = lambda text: len(text.split())  # noqa: E731
    items = [(r, tmp_path) for r in records]
    prompt = {"prompt_tokens": 12, "prompt_sha256": "0123456789abcdef"}
    converted = predictions_from_samples(log, items, {records[1]["id"]: {"finish_reason": "length", **prompt}}, count)
    direct = [prediction(r, f" {o}", "length" if i == 1 else "stop", count, prompt if i == 1 else None)
              for i, (r, o) in enumerate(zip(records, OUTPUTS))]
    assert converted == direct  # raw outputs in the test file's order, finish reason and prompt from the model class
    with pytest.raises(LmmsEvalError, match="1 test record\\(s\\) missing"):
        predictions_from_samples(log, items + [(records[0], tmp_path)], {}, count)
    with pytest.raises(LmmsEvalError, match="row 0 has target"):  # another test set's log
        predictions_from_samples(log, [({**records[0], "answer": "999"}, tmp_path)] + items[1:], {}, count)

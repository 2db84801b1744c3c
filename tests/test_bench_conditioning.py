"""benchmarks/bench_conditioning.py: its count-only tasks are answerable from the picture, its probe
uses test layouts only, and its survey scorer counts each name right or wrong."""

import importlib.util
import re
from pathlib import Path

import pytest
from PIL import Image

from scale.data.questions import SURVEY_ORDER
from scale.data.records import read_records
from scale.data.scenes import colour_counts, read_scene, scene_split_bucket, shape_counts
from scale.report.traces import survey_counts

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_conditioning.py"
spec = importlib.util.spec_from_file_location("bench_conditioning", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def picture_counts(path: Path):
    scene = read_scene(Image.open(path))
    return scene, colour_counts(scene) + shape_counts(scene)


@pytest.mark.parametrize("task", bench.TASKS)
def test_each_task_is_answerable_and_its_probe_never_shares_a_layout_with_its_warmup(tmp_path, task):
    warmup = read_records(bench.write_task(tmp_path, task, "warmup", 40, 0, 84))
    probe = read_records(bench.write_task(tmp_path, task, "probe", 40, 0, 84))
    named = set()
    for split, records in (("warmup", warmup), ("probe", probe)):
        for record in records:
            scene, counts = picture_counts(tmp_path / record["image"])
            assert scene_split_bucket(scene) == ("test" if split == "probe" else "train")
            if task == "total":
                assert record["answer"] == str(sum(item is not None for item in scene))
            elif task == "survey":
                written = dict(re.findall(r"(\w+) (\d+)", record["answer"]))
                assert list(written) == list(SURVEY_ORDER)
                assert written == {name: str(counts[name]) for name in SURVEY_ORDER}
            else:
                name = re.search(r"How many (\w+?)(?: shapes|s) are", record["question"]).group(1)
                named.add(name)
                assert record["answer"] == str(counts[name])
            assert ("response" in record) == (split == "warmup")
    if task == "fixed":
        assert named == {"red", "circle"}
    if task == "named":
        assert len(named) >= 5  # colours and shapes, several of each


def test_survey_counts_scores_each_name_against_the_gold_survey():
    probe = [{"id": "a", "answer": "red 2, green 0, blue 1, yellow 1, circle 1, square 2, triangle 1"},
             {"id": "b", "answer": "red 0, green 1, blue 0, yellow 0, circle 0, square 0, triangle 1"}]
    predictions = [{"id": "a", "extracted": "red 2, green 1, blue 1, yellow 1, circle 1, square 2, triangle 1"},
                   {"id": "b", "extracted": None}]
    scores = survey_counts(predictions, probe)
    assert scores["green"] == 0.0
    assert all(scores[name] == 50.0 for name in SURVEY_ORDER if name != "green")

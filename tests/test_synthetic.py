"""scale.data.synthetic: deterministic, valid, answerable from the picture, test disjoint from training."""

import hashlib
import re

import pytest
from PIL import Image

from scale.answers import extract_answer
from scale.data.questions import answer_from_scene
from scale.data.records import LETTERS, read_records, write_records
from scale.data.scenes import (
    COLOURS,
    SHAPES,
    colour_counts,
    most_common,
    read_scene,
    scene_key,
    scene_split_bucket,
    shape_counts,
)
from scale.data.synthetic import QTYPES, WARMUP_QTYPES, generate, write_split

from conftest import assert_base_never_sees_a_test_question


def digest_tree(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("dataset", ["scienceqa", "iconqa"])
def test_same_seed_gives_byte_identical_records_and_images(tmp_path, dataset):
    for name in ("a", "b"):
        write_split(tmp_path / name, dataset, "train", 12, seed=3)
    assert digest_tree(tmp_path / "a") == digest_tree(tmp_path / "b")
    write_split(tmp_path / "c", dataset, "train", 12, seed=4)
    assert digest_tree(tmp_path / "a") != digest_tree(tmp_path / "c")


@pytest.mark.parametrize("dataset", ["scienceqa", "iconqa"])
def test_training_responses_reach_the_gold_answer(synthetic_dir, dataset):
    for record in read_records(synthetic_dir / dataset / "train.jsonl", require_response=True):
        assert extract_answer(record["response"]) == record["answer"]
        assert record["response"].startswith("<think>")


SURVEY = re.compile(r"\? ((?:[a-z]+ \d+, ){6}[a-z]+ \d+)\.")  # a survey step's answer, seven counts
CHECK = re.compile(r"Check \d+: ((?:[a-z]+ \d+, ){6}[a-z]+ \d+)\.")
NAMES = list(COLOURS) + list(SHAPES)


def written_survey(think: str) -> dict[str, int]:
    found = SURVEY.findall(think.split("Check 1")[0])
    assert len(found) == 1, think
    return {name: int(value) for name, value in re.findall(r"([a-z]+) (\d+)", found[0])}


@pytest.mark.parametrize("dataset", ["scienceqa", "iconqa"])
def test_a_training_trace_surveys_its_picture_in_the_fixed_order_and_every_check_repeats_it(dataset):
    for record, image in generate(dataset, "train", 40, seed=0, think_ratio=20):  # the default's ratio: checks
        scene = read_scene(image)
        counts = colour_counts(scene) + shape_counts(scene)
        think = record["response"].split("</think>")[0]
        counted = written_survey(think)
        assert list(counted) == NAMES, record["id"]
        assert counted == {name: counts[name] for name in NAMES}, record["id"]
        checks = CHECK.findall(think)
        assert checks and all(check == SURVEY.findall(think)[0] for check in checks), record["id"]


@pytest.mark.parametrize("dataset", ["scienceqa", "iconqa"])
def test_the_answer_follows_from_the_counts_the_trace_takes(synthetic_dir, dataset):
    """Most-often questions take the largest of the colours' or the shapes' counts; totals add up the colours."""
    for record in read_records(synthetic_dir / dataset / "train.jsonl"):
        think = record["response"].split("</think>")[0]
        first = think.split("Check 1")[0]
        counted = written_survey(think)
        if record["qtype"] == "fill_in_blank":
            colours = [counted[c] for c in COLOURS]
            assert f"{' + '.join(map(str, colours))} = {sum(colours)}." in first
            assert sum(colours) == int(record["answer"]), record["id"]
        else:
            pool = COLOURS if record["qtype"] == "colour_most" else SHAPES
            among = {name: counted[name] for name in pool}
            largest = max(among, key=among.get)
            assert sorted(among.values())[-2:-1] != [among[largest]], record["id"]  # no tie
            answer = record["answer"]
            assert largest == (answer if record["qtype"] == "choose_txt" else record["choices"][LETTERS.index(answer)])
        tail = think.rsplit("The checks agree:", 1)[-1]  # the trace ends on the conclusion
        assert re.search(rf"\b{re.escape(record['answer'])}\.$", tail), record["id"]


def test_the_survey_step_is_the_warmup_survey_word_for_word(synthetic_dir):
    """The trace's question is the warm-up's survey question, and its answer the survey answer the
    warm-up would give for that picture."""
    surveys = [r for d in ("scienceqa", "iconqa") for r in read_records(synthetic_dir / d / "warmup.jsonl")
               if r["qtype"] == "survey"]
    assert surveys
    question = surveys[0]["question"].split("\n")[-1]
    assert all(r["question"].split("\n")[-1] == question for r in surveys)
    assert all(SURVEY.fullmatch(f"? {r['answer']}.") for r in surveys)
    for dataset in ("scienceqa", "iconqa"):
        for record in read_records(synthetic_dir / dataset / "train.jsonl"):
            first = record["response"].split("Check 1")[0]
            step = f"{question} {SURVEY.findall(first)[0]}."
            assert step in first, record["id"]


def test_half_of_each_warmup_is_the_survey(synthetic_dir):
    for dataset in ("scienceqa", "iconqa"):
        qtypes = [r["qtype"] for r, _ in generate(dataset, "warmup", 400, seed=0)]
        assert qtypes.count("survey") == 200


@pytest.mark.parametrize("dataset", ["scienceqa", "iconqa"])
@pytest.mark.parametrize("split", ["train", "test", "warmup"])
def test_every_question_is_answerable_from_its_picture(synthetic_dir, dataset, split):
    for record in read_records(synthetic_dir / dataset / f"{split}.jsonl"):
        scene = read_scene(Image.open(synthetic_dir / dataset / record["image"]))
        assert answer_from_scene(scene, record) == record["answer"], record["id"]


def test_both_qtypes_of_each_dataset_appear(synthetic_dir):
    def qtypes(dataset, split):
        return {r["qtype"] for r in read_records(synthetic_dir / dataset / f"{split}.jsonl")}

    assert qtypes("scienceqa", "test") == {"colour_most", "shape_most"}
    assert qtypes("iconqa", "test") == {"fill_in_blank", "choose_txt"}
    for record in read_records(synthetic_dir / "scienceqa" / "test.jsonl"):
        assert 2 <= len(record["choices"]) <= 4


def test_choices_keep_a_fixed_order_and_hold_the_answer(synthetic_dir):
    order = {name: i for i, name in enumerate(list(COLOURS) + list(SHAPES))}
    for dataset in ("scienceqa", "iconqa"):
        for record in read_records(synthetic_dir / dataset / "test.jsonl"):
            if record["choices"] is None:
                continue
            ranks = [order[c] for c in record["choices"]]
            assert ranks == sorted(ranks), record["id"]
            answer = record["answer"]
            assert (record["choices"][LETTERS.index(answer)] if len(answer) == 1 else answer) in record["choices"]


def test_ties_are_never_asked():
    for dataset in ("scienceqa", "iconqa"):
        for record, image in generate(dataset, "test", 60, seed=2):
            scene = read_scene(image)
            if record["qtype"] != "fill_in_blank":
                counts = colour_counts(scene) if record["qtype"] == "colour_most" else shape_counts(scene)
                assert most_common(counts) is not None, record["id"]


def test_test_scenes_never_occur_in_training_or_warmup():
    for dataset in ("scienceqa", "iconqa"):
        train = {scene_key(read_scene(img)) for _, img in generate(dataset, "train", 300, seed=0)}
        train |= {scene_key(read_scene(img)) for _, img in generate(dataset, "warmup", 300, seed=0)}
        test = {scene_key(read_scene(img)) for _, img in generate(dataset, "test", 100, seed=1)}
        assert train.isdisjoint(test)


def test_think_ratio_sets_how_long_the_reasoning_is():
    def mean_ratio(think_ratio):
        ratios = []
        for record, _ in generate("scienceqa", "train", 20, seed=0, think_ratio=think_ratio):
            think, tail = record["response"].split("</think>")
            ratios.append(len(think) / len("</think>" + tail))
        return sum(ratios) / len(ratios)

    assert mean_ratio(40) > 30
    assert mean_ratio(40) > 1.5 * mean_ratio(10)


def test_base_never_sees_a_test_question_type_or_wording(synthetic_dir, tmp_path):
    assert_base_never_sees_a_test_question(synthetic_dir)
    for dataset in ("scienceqa", "iconqa"):  # and on splits the size of the default's
        for split, n in (("warmup", 4000), ("test", 100)):
            write_split(tmp_path / dataset, dataset, split, n, seed=0)
    assert_base_never_sees_a_test_question(tmp_path)


def test_the_wording_check_would_catch_a_test_question_in_the_warmup(synthetic_dir, tmp_path):
    for dataset in ("scienceqa", "iconqa"):
        (tmp_path / dataset).mkdir()
        test = (synthetic_dir / dataset / "test.jsonl").read_text()
        (tmp_path / dataset / "test.jsonl").write_text(test)
        leaked = [dict(r, qtype="survey", response=f"<think>\n</think>\n<answer>{r['answer']}</answer>")
                  for r in read_records(synthetic_dir / dataset / "test.jsonl")[:1]]
        write_records(tmp_path / dataset / "warmup.jsonl",
                      read_records(synthetic_dir / dataset / "warmup.jsonl") + leaked)
    with pytest.raises(AssertionError):
        assert_base_never_sees_a_test_question(tmp_path)


def test_warmup_teaches_perception_formats_and_other_questions_and_train_test_ask_the_task(synthetic_dir):
    for dataset in ("scienceqa", "iconqa"):
        warmup = read_records(synthetic_dir / dataset / "warmup.jsonl")
        assert {r["qtype"] for r in warmup} == set(WARMUP_QTYPES[dataset])
        for split in ("train", "test"):
            records = read_records(synthetic_dir / dataset / f"{split}.jsonl")
            assert {r["qtype"] for r in records} == set(QTYPES[dataset])
    warmup = [r for d in ("scienceqa", "iconqa") for r in read_records(synthetic_dir / d / "warmup.jsonl")]
    kinds = {"letter" if r["choices"] and len(r["answer"]) == 1 else "text" if r["choices"] else "number"
             for r in warmup}
    assert kinds == {"letter", "text", "number"}  # every answer format a test question uses


def test_probe_asks_the_warmup_question_types_of_test_scenes():
    for dataset in ("scienceqa", "iconqa"):
        probe = list(generate(dataset, "probe", 60, seed=0))
        assert {r["qtype"] for r, _ in probe} == set(WARMUP_QTYPES[dataset])
        assert all(r.get("response") is None for r, _ in probe)
        assert all(scene_split_bucket(read_scene(img)) == "test" for _, img in probe)


def test_warmup_records_answer_directly_with_an_empty_think_block(synthetic_dir):
    for dataset in ("scienceqa", "iconqa"):
        for record in read_records(synthetic_dir / dataset / "warmup.jsonl"):
            assert record["response"] == f"<think>\n</think>\n<answer>{record['answer']}</answer>"


@pytest.mark.parametrize("bad", [dict(dataset="mmmu"), dict(split="dev"), dict(image_size=50)])
def test_bad_generator_settings_are_rejected(bad):
    settings = dict(dataset="scienceqa", split="train", n=1, seed=0, image_size=84)
    settings.update(bad)
    with pytest.raises(ValueError):
        next(generate(**settings))

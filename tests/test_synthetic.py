"""scale.data.synthetic: deterministic, valid, answerable from the picture, test disjoint from training."""

import hashlib
import re

import pytest
from PIL import Image

from scale.answers import extract_answer
from scale.data.records import LETTERS, read_records
from scale.data.synthetic import (
    COLOURS,
    SHAPES,
    answer_from_scene,
    colour_counts,
    most_common,
    shape_counts,
    generate,
    read_scene,
    scene_key,
    write_split,
)


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


@pytest.mark.parametrize("dataset", ["scienceqa", "iconqa"])
def test_every_count_in_a_training_trace_is_read_off_its_picture(synthetic_dir, dataset):
    for record in read_records(synthetic_dir / dataset / "train.jsonl"):
        scene = read_scene(Image.open(synthetic_dir / dataset / record["image"]))
        think = record["response"].split("</think>")[0]
        colours = re.findall(r"y colour: ((?:\w+ \d+(?:, )?)+)\.", think)
        shapes = re.findall(r"y shape: ((?:\w+ \d+(?:, )?)+)\.", think)
        totals = re.findall(r"n total: (\d+) shapes", think)
        assert colours and shapes and totals, record["id"]
        for tallies, counts, keys in ((colours, colour_counts(scene), COLOURS), (shapes, shape_counts(scene), SHAPES)):
            for text in tallies:
                read = {k: int(v) for k, v in (pair.split() for pair in text.split(", "))}
                assert read == {k: counts.get(k, 0) for k in keys}, record["id"]
        assert {int(t) for t in totals} == {sum(item is not None for item in scene)}, record["id"]


@pytest.mark.parametrize("dataset", ["scienceqa", "iconqa"])
@pytest.mark.parametrize("split", ["train", "test", "warmup"])
def test_every_question_is_answerable_from_its_picture(synthetic_dir, dataset, split):
    for record in read_records(synthetic_dir / dataset / f"{split}.jsonl"):
        scene = read_scene(Image.open(synthetic_dir / dataset / record["image"]))
        assert answer_from_scene(scene, record) == record["answer"], record["id"]


def test_both_qtypes_of_each_dataset_appear(synthetic_dir):
    assert {r["qtype"] for r in read_records(synthetic_dir / "scienceqa" / "test.jsonl")} == {"colour_most", "shape_most"}
    assert {r["qtype"] for r in read_records(synthetic_dir / "iconqa" / "test.jsonl")} == {"fill_in_blank", "choose_txt"}
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


def test_iconqa_warmup_also_asks_what_one_colour_or_shape_counts_to(synthetic_dir):
    perception = {"count_colour", "count_shape"}
    for dataset, own in (("scienceqa", {"colour_most", "shape_most"}), ("iconqa", {"fill_in_blank", "choose_txt"})):
        warmup = {r["qtype"] for r in read_records(synthetic_dir / dataset / "warmup.jsonl")}
        assert warmup == (own | perception if dataset == "iconqa" else own)
        for split in ("train", "test"):
            assert {r["qtype"] for r in read_records(synthetic_dir / dataset / f"{split}.jsonl")} == own


def test_warmup_records_answer_directly_with_an_empty_think_block(synthetic_dir):
    for record in read_records(synthetic_dir / "iconqa" / "warmup.jsonl"):
        assert record["response"] == f"<think>\n</think>\n<answer>{record['answer']}</answer>"


@pytest.mark.parametrize("bad", [dict(dataset="mmmu"), dict(split="dev"), dict(image_size=50)])
def test_bad_generator_settings_are_rejected(bad):
    settings = dict(dataset="scienceqa", split="train", n=1, seed=0, image_size=84)
    settings.update(bad)
    with pytest.raises(ValueError):
        next(generate(**settings))

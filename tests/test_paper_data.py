"""Paper-scale data on fixtures: Vision-R1 filtering, the ScienceQA-IMG and IconQA converters, token stats."""

import json
from pathlib import Path

import pytest
from PIL import Image

from scale.data.records import read_records
from scale.data.stats import imbalance_stats
from scale.data.test_sets import convert_test_set
from scale.data.visionr1 import FilterError, filter_visionr1, source_of, split_question

FIXTURES = Path(__file__).parent / "fixtures" / "visionr1"
SUBSETS = {"scienceqa": ["sqa", "ScienceQA"], "iconqa": ["IconQA"]}


def test_source_is_the_folder_under_the_image_root():
    assert source_of("llava_cot_images/sqa/train/1.png") == "sqa"
    assert source_of("mulberry_images/AI2D/x.png") == "AI2D"
    assert source_of("sqa/1.png") == "sqa"
    assert source_of("1.png") is None


def test_lettered_options_are_split_from_the_question():
    stem, choices = split_question("<image>\nWhich is iron?\nOptions:\nA. wood\nB. iron")
    assert (stem, choices) == ("Which is iron?", ["wood", "iron"])
    assert split_question("How many?") == ("How many?", None)


def test_right_records_are_kept_per_subset_and_every_drop_is_counted(tmp_path):
    outs = {name: tmp_path / name for name in SUBSETS}
    report = filter_visionr1(FIXTURES, SUBSETS, out_dirs=outs)
    science, icon = report["subsets"]["scienceqa"], report["subsets"]["iconqa"]
    assert (science["candidates"], science["kept"]) == (4, 2)
    assert science["dropped"] == {"answer_tags_not_exactly_once": 1, "image_missing": 1}
    assert (icon["candidates"], icon["kept"]) == (4, 1)
    assert icon["dropped"] == {"answer_not_a_choice": 1, "image_unreadable": 1, "think_tags_not_exactly_once": 1}
    assert report["other_source"] == 2
    kept = read_records(outs["scienceqa"] / "train.jsonl", require_response=True)
    assert [r["answer"] for r in kept] == ["B", "B"] and kept[0]["choices"] == ["wood", "iron"]
    assert {r["source"] for r in kept} == {"visionr1/sqa", "visionr1/ScienceQA"}
    assert all((outs["scienceqa"] / r["image"]).is_file() for r in kept)
    icon_kept = read_records(outs["iconqa"] / "train.jsonl")
    assert icon_kept[0]["answer"] == "3" and icon_kept[0]["choices"] is None
    written = json.loads((outs["iconqa"] / "filter_report.json").read_text())
    assert written["kept"] == 1 and written["dropped"]["image_unreadable"] == 1


def test_a_kept_share_under_the_floor_fails_the_run():
    with pytest.raises(FilterError, match="iconqa.*kept 1 of 4"):
        filter_visionr1(FIXTURES, SUBSETS, min_kept_share=0.4)


def test_missing_annotation_file_is_named():
    with pytest.raises(FileNotFoundError, match="nope.json"):
        filter_visionr1(FIXTURES, SUBSETS, annotation_files=["nope.json"])


def picture():
    return Image.new("RGB", (8, 8), "red")


def test_scienceqa_img_rows_become_lettered_records(tmp_path):
    rows = [
        {"image": picture(), "question": "Which is a mammal?", "choices": ["frog", "whale", "shark"], "answer": 1,
         "hint": "Whales breathe air."},
        {"image": None, "question": "Text only?", "choices": ["a", "b"], "answer": 0, "hint": ""},
        {"image": picture(), "question": "Pick", "choices": ["a", "b", "c", "d", "e"], "answer": 4, "hint": ""},
    ]
    report = convert_test_set("scienceqa", rows, tmp_path)
    records = read_records(tmp_path / "test.jsonl")
    assert [r["answer"] for r in records] == ["B", "E"]
    assert records[0]["question"] == "Context: Whales breathe air.\nWhich is a mammal?"
    assert report["skipped"] == {"no_image": 1}
    assert (tmp_path / records[0]["image"]).is_file()


def test_iconqa_keeps_fill_in_blank_and_choose_txt_only(tmp_path):
    rows = [
        {"question": "How many dots?", "ques_type": "fill_in_blank", "answer": "5", "choices": "",
         "query_image": picture(), "question_id": "11"},
        {"question": "Which shape?", "ques_type": "choose_txt", "answer": "circle", "choices": "square,circle",
         "query_image": picture(), "question_id": "12"},
        {"question": "Which picture?", "ques_type": "choose_img", "answer": "0", "choices": "",
         "query_image": picture(), "question_id": "13"},
    ]
    report = convert_test_set("iconqa", rows, tmp_path)
    records = read_records(tmp_path / "test.jsonl")
    assert [(r["qtype"], r["answer"], r["choices"]) for r in records] == [
        ("fill_in_blank", "5", None), ("choose_txt", "circle", ["square", "circle"])]
    assert [r["id"] for r in records] == ["iconqa-test-11", "iconqa-test-12"]
    assert report["skipped"] == {"ques_type_choose_img": 1}


def test_iconqa_without_labels_says_where_to_get_them(tmp_path):
    rows = [{"question": "?", "ques_type": "fill_in_blank", "choices": "", "query_image": picture()}]
    with pytest.raises(ValueError, match="no gold answer"):
        convert_test_set("iconqa", rows, tmp_path)


def test_imbalance_stats_match_hand_counts():
    responses = ["<think>a b c d e f</think> <answer>x</answer>", "<think>a b</think> <answer>y</answer>"]
    stats = imbalance_stats(responses, lambda text: len(text.split()))
    # think: "<think>a b c d e f" = 6 words, "<think>a b" = 2; answer: "</think> <answer>x</answer>" = 2 each
    assert stats["think_tokens"]["mean"] == 4 and stats["answer_tokens"]["mean"] == 2
    assert stats["ratio_of_means"] == 2 and stats["median_ratio"] == 2

"""scale.data.records: the schema, and errors that name the record and the field."""

import json

import pytest

from scale.data.records import RecordError, read_records, validate_record, write_records

GOOD = {
    "id": "q1", "image": "images/train/00000.png", "question": "Which colour?", "choices": ["red", "blue"],
    "answer": "B", "response": "<think>It is blue.</think>\n<answer>B</answer>", "source": "synthetic",
    "qtype": "colour_most",
}


def test_a_good_record_validates():
    assert validate_record(dict(GOOD), require_response=True) == GOOD


@pytest.mark.parametrize(
    "change, field",
    [
        ({"answer": "C"}, "answer"),  # not among two choices
        ({"answer": "b"}, "answer"),  # not normalised
        ({"image": "/abs/path.png"}, "image"),
        ({"choices": ["only one"]}, "choices"),
        ({"response": "<think>no close <answer>B</answer>"}, "response"),
        ({"response": "<think>t</think><answer>A</answer>"}, "response"),  # disagrees with gold
        ({"question": ""}, "question"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_records_are_rejected_naming_record_and_field(change, field):
    record = {**GOOD, **change}
    with pytest.raises(RecordError, match=rf"record 'q1': field '{field}'"):
        validate_record(record)


def test_missing_response_is_an_error_only_for_training():
    record = {k: v for k, v in GOOD.items() if k != "response"}
    validate_record(record)
    with pytest.raises(RecordError, match="response"):
        validate_record(record, require_response=True)


def test_read_records_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "q2", "answer": "Z"}) + "\n")
    with pytest.raises(RecordError, match=r"bad.jsonl:2: record 'q2'"):
        read_records(path)


def test_write_then_read_round_trips(tmp_path):
    write_records(tmp_path / "r.jsonl", [GOOD])
    assert read_records(tmp_path / "r.jsonl") == [GOOD]


@pytest.mark.parametrize("qtype", ["choose_txt", "shape_present_txt"])
def test_a_txt_question_type_is_answered_with_a_choice_and_its_prompt_lists_the_choices(qtype):
    from scale.prompts import question_text

    record = {**GOOD, "qtype": qtype, "answer": "blue", "response": "<think>t</think>\n<answer>blue</answer>"}
    assert validate_record(record, require_response=True)["answer"] == "blue"
    assert "Choices: red, blue" in question_text(record) and "A. red" not in question_text(record)
    with pytest.raises(RecordError, match="must be a letter"):
        validate_record({**record, "qtype": "shape_present"})

"""The one record schema every stage reads and writes, as JSON lines.

A record: ``id`` (str), ``image`` (path relative to the dataset directory, or
None), ``question`` (str), ``choices`` (list of str, or None), ``answer`` (the
gold answer, already normalised: a letter for multiple choice, a number or
short text otherwise), ``response`` (training records only:
``<think>…</think>\\n<answer>…</answer>``), ``source`` (str), ``qtype`` (str).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from scale.answers import extract_answer, is_valid, normalize_answer

REQUIRED = {"id": str, "question": str, "answer": str, "source": str, "qtype": str}
OPTIONAL = {"image", "choices", "response"}
LETTERS = "ABCDEFGHIJ"


class RecordError(ValueError):
    """A record that breaks the schema; the message names the record and the field."""


def answered_with_text(record: dict) -> bool:
    """IconQA's naming: a ``*_txt`` question type (``choose_txt``) is answered with a choice's text,
    every other multiple-choice question with its letter."""
    return str(record.get("qtype") or "").endswith("_txt")


def validate_record(record: Any, require_response: bool = False) -> dict:
    """Return the record if it follows the schema, else raise ``RecordError``.

    Checks types, that a multiple-choice gold is a letter among the choices,
    that the gold is normalised, and that a training response is a valid
    think/answer output whose answer is the gold.
    """
    if not isinstance(record, dict):
        raise RecordError(f"record is a {type(record).__name__}, not an object: {record!r:.80}")
    name = record.get("id", "<no id>")

    def fail(field: str, problem: str) -> RecordError:
        return RecordError(f"record {name!r}: field {field!r} {problem}")

    unknown = set(record) - set(REQUIRED) - OPTIONAL
    if unknown:
        raise fail(sorted(unknown)[0], "is not part of the schema")
    for field, kind in REQUIRED.items():
        if field not in record:
            raise fail(field, "is missing")
        if not isinstance(record[field], kind) or not record[field].strip():
            raise fail(field, f"must be a non-empty {kind.__name__}, got {record[field]!r:.60}")
    image = record.get("image")
    if image is not None and (not isinstance(image, str) or Path(image).is_absolute() or not image):
        raise fail("image", f"must be null or a relative path, got {image!r}")
    choices = record.get("choices")
    if choices is not None:
        if not isinstance(choices, list) or len(choices) < 2 or not all(
            isinstance(c, str) and c.strip() for c in choices
        ):
            raise fail("choices", f"must be null or a list of at least two strings, got {choices!r:.80}")
        if len(choices) > len(LETTERS):
            raise fail("choices", f"has {len(choices)} entries, at most {len(LETTERS)} are lettered")
    answer = record["answer"]
    if normalize_answer(answer) != answer:
        raise fail("answer", f"is not normalised: {answer!r} (normalised: {normalize_answer(answer)!r})")
    if choices is not None and not answered_with_text(record):
        if answer not in LETTERS[: len(choices)]:
            raise fail("answer", f"must be a letter among {LETTERS[:len(choices)]}, got {answer!r}")
    response = record.get("response")
    if require_response and response is None:
        raise fail("response", "is missing (training records need one)")
    if response is not None:
        if not isinstance(response, str) or not is_valid(response):
            raise fail("response", "must hold <think>…</think> then a closed <answer>…</answer>")
        if normalize_answer(extract_answer(response)) != answer:
            raise fail("response", f"answers {extract_answer(response)!r}, but the gold is {answer!r}")
    return record


def read_records(path: str | Path, require_response: bool = False) -> list[dict]:
    """All records of a JSON-lines file, validated; the error names the file and line."""
    records = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(validate_record(json.loads(line), require_response))
            except (json.JSONDecodeError, RecordError) as error:
                raise RecordError(f"{path}:{number}: {error}") from error
    return records


def as_path_list(paths) -> list:
    """One path, or several, as a list: what every reader of training files accepts."""
    return [paths] if isinstance(paths, (str, Path)) else list(paths)


def read_items(paths, require_response: bool = False) -> list[tuple[dict, Path]]:
    """Validated records of one or more JSONL files, each paired with its dataset directory.

    Image paths in records are relative to the dataset directory, which is the
    JSONL file's own folder (``data/{dataset}/train.jsonl`` beside ``images/``).
    """
    return [(record, Path(path).parent)
            for path in as_path_list(paths) for record in read_records(path, require_response)]


def load_image(record: dict, data_dir: str | Path):
    """The record's picture as RGB, or None for a text-only record."""
    from PIL import Image

    if not record.get("image"):
        return None
    with Image.open(Path(data_dir) / record["image"]) as image:
        return image.convert("RGB")


def write_records(path: str | Path, records: Iterable[dict]) -> int:
    """Validate and write records as JSON lines (keys sorted, so files are byte-stable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            validate_record(record)
            out.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    return count


def iter_texts(records: Iterable[dict]) -> Iterator[str]:
    """Every piece of text in the records (tokenizer training corpora)."""
    for record in records:
        yield record["question"]
        yield from record.get("choices") or []
        yield record["answer"]
        if record.get("response"):
            yield record["response"]

"""The paper's test sets in our record schema: ScienceQA-IMG test and IconQA test (two question types).

* ScienceQA (``lmms-lab/ScienceQA``, config ``ScienceQA-IMG``, split ``test``):
  rows hold ``image``, ``question``, ``choices`` (a list), ``answer`` (the
  index of the right choice) and ``hint`` (context). Choices are lettered A–E
  and the gold is a letter.
* IconQA (``lmms-lab/ICON-QA`` or the original release): rows hold
  ``question``, ``ques_type``, ``choices`` (comma-separated text), the gold
  under ``answer`` or ``answers``, and the picture under ``query_image``. The
  paper keeps ``fill_in_blank`` and ``choose_txt`` (its models see one image,
  ``choose_img`` answers are pictures); the gold stays text or a number.

Rows are read through ``datasets`` (hub id with a populated cache under
``HF_DATASETS_OFFLINE=1``, or a local directory) and converted in their
stored order; every skipped row is counted by reason.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from scale.answers import normalize_answer
from scale.data.records import LETTERS, write_records

ICONQA_TYPES = ("fill_in_blank", "choose_txt")


def scienceqa_record(row: dict[str, Any], index: int) -> tuple[dict | None, str]:
    if row.get("image") is None:
        return None, "no_image"
    choices = [str(c) for c in row["choices"]]
    answer = int(row["answer"])
    if not 0 <= answer < len(choices) or len(choices) > 5:
        return None, "answer_out_of_range"
    question = row["question"].strip()
    hint = (row.get("hint") or "").strip()
    if hint:
        question = f"Context: {hint}\n{question}"
    return {
        "id": f"scienceqa-test-{index:05d}", "image": f"images/test/{index:05d}.png", "question": question,
        "choices": choices, "answer": LETTERS[answer], "source": "scienceqa-img", "qtype": "multiple_choice",
    }, "kept"


def iconqa_record(row: dict[str, Any], index: int) -> tuple[dict | None, str]:
    qtype = row.get("ques_type")
    if qtype not in ICONQA_TYPES:
        return None, f"ques_type_{qtype}"
    gold = row.get("answer", row.get("answers"))
    if gold is None or str(gold).strip() == "":
        raise ValueError(
            f"IconQA row {index} has no gold answer: this split's labels are not public in this source; "
            "point the config's test_source at a copy with answers (the original IconQA release has them)"
        )
    if row.get("query_image") is None:
        return None, "no_image"
    choices = None
    if qtype == "choose_txt":
        choices = [c.strip() for c in str(row["choices"]).split(",") if c.strip()]
        if normalize_answer(str(gold)) not in {normalize_answer(c) for c in choices}:
            return None, "answer_not_a_choice"
    return {
        "id": f"iconqa-test-{row.get('question_id', row.get('questionId', index))}",
        "image": f"images/test/{index:05d}.png", "question": str(row["question"]).strip(), "choices": choices,
        "answer": normalize_answer(str(gold)), "source": "iconqa", "qtype": qtype,
    }, "kept"


CONVERTERS = {"scienceqa": (scienceqa_record, "image"), "iconqa": (iconqa_record, "query_image")}


def convert_test_set(dataset: str, rows: Iterable[dict[str, Any]], out_dir: str | Path) -> dict[str, Any]:
    """Write ``test.jsonl`` and ``images/test/`` for ``dataset``; return counts kept and skipped by reason."""
    convert, image_field = CONVERTERS[dataset]
    out_dir = Path(out_dir)
    (out_dir / "images" / "test").mkdir(parents=True, exist_ok=True)
    records, reasons = [], Counter()
    for index, row in enumerate(rows):
        record, reason = convert(row, index)
        reasons[reason] += 1
        if record is None:
            continue
        row[image_field].convert("RGB").save(out_dir / record["image"], format="PNG")
        records.append(record)
    write_records(out_dir / "test.jsonl", records)
    report = {"dataset": dataset, "rows": sum(reasons.values()), "kept": len(records),
              "skipped": {k: v for k, v in sorted(reasons.items()) if k != "kept"}}
    (out_dir / "test_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


def load_rows(source: str, name: str | None = None, split: str = "test"):
    """Rows from a hub id (offline with a populated cache) or a local ``save_to_disk`` directory."""
    import datasets

    if Path(source).is_dir() and (Path(source) / "dataset_info.json").exists():
        return datasets.load_from_disk(source)
    return datasets.load_dataset(source, name, split=split)

"""The paper's test sets in our record schema: ScienceQA-IMG test and IconQA test (two question types); and
the text paper config's, GSM8K and MATH-500 (no pictures).

* ScienceQA (``lmms-lab/ScienceQA``, config ``ScienceQA-IMG``, split ``test``):
  rows hold ``image``, ``question``, ``choices`` (a list), ``answer`` (the
  index of the right choice) and ``hint`` (context). Choices are lettered A–E
  and the gold is a letter.
* IconQA (``lmms-lab/ICON-QA`` or the original release): rows hold
  ``question``, ``ques_type``, ``choices`` (comma-separated text), the gold
  under ``answer`` or ``answers``, and the picture under ``query_image``. The
  paper keeps ``fill_in_blank`` and ``choose_txt`` (its models see one image,
  ``choose_img`` answers are pictures); the gold stays text or a number.

* GSM8K (``openai/gsm8k``, config ``main``, split ``test``): ``question`` and ``answer``, a worked solution
  whose last line is ``#### <number>``; the gold is that number, normalised (commas dropped).
* MATH-500 (``HuggingFaceH4/MATH-500``, split ``test``): ``problem``, ``answer`` (LaTeX, e.g. ``\\frac{14}{3}``,
  normalised by ``scale.answers``), ``subject`` (the question type), ``level``, ``unique_id``.

Rows are fetched on the login node and saved with ``save_to_disk``
(``scale.hub.fetch_test_set``), then read from there and converted in their
stored order; every skipped row is counted by reason, and a split without
gold answers stops with ``UnlabelledTestSetError`` before anything is written.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from scale.answers import normalize_answer
from scale.data.records import LETTERS, write_records

ICONQA_TYPES = ("fill_in_blank", "choose_txt")
LABELLED_ICONQA = (
    "the original IconQA release (iconqa.github.io, `iconqa_data.zip`), whose test problems carry answers, "
    "converted to a `datasets` folder with the ICON-QA columns (question_id, question, choices, answer, "
    "query_image, ques_type) and named as test_source/source"
)


class UnlabelledTestSetError(ValueError):
    """A test split whose gold answers are missing: it cannot be scored, so nothing is written."""


def _gold(row: dict[str, Any]):
    return row.get("answer", row.get("answers"))


def check_labels(dataset: str, rows, source: str) -> None:
    """Fail before converting when any kept row of the split has no gold answer (IconQA's public test
    split may come without them); the message says where labelled copies come from."""
    if dataset != "iconqa":
        return
    if hasattr(rows, "select_columns"):  # a datasets.Dataset: skip decoding the pictures
        rows = rows.select_columns([c for c in ("ques_type", "answer", "answers") if c in rows.column_names])
    kinds_and_golds = [(row.get("ques_type"), _gold(row)) for row in rows]
    missing = sum(1 for kind, gold in kinds_and_golds
                  if kind in ICONQA_TYPES and (gold is None or not str(gold).strip()))
    if missing:
        raise UnlabelledTestSetError(
            f"{source}: {missing} of {len(kinds_and_golds)} IconQA test rows have no gold answer, so this split "
            f"cannot be scored; use {LABELLED_ICONQA}")


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
    gold = _gold(row)
    if gold is None or str(gold).strip() == "":
        raise UnlabelledTestSetError(f"IconQA row {index} has no gold answer; use {LABELLED_ICONQA}")
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


def gsm8k_record(row: dict[str, Any], index: int) -> tuple[dict | None, str]:
    solution = str(row.get("answer") or "")
    if "####" not in solution:
        return None, "no_final_number"
    gold = normalize_answer(solution.rsplit("####", 1)[1])
    if not gold:
        return None, "no_final_number"
    return {"id": f"gsm8k-test-{index:05d}", "image": None, "question": str(row["question"]).strip(),
            "choices": None, "answer": gold, "source": "gsm8k", "qtype": "word_problem"}, "kept"


def math500_record(row: dict[str, Any], index: int) -> tuple[dict | None, str]:
    gold = normalize_answer(str(row.get("answer") or ""))
    if not gold:
        return None, "no_answer"
    return {"id": f"math500-{row.get('unique_id') or index}".replace("/", "-"), "image": None,
            "question": str(row["problem"]).strip(), "choices": None, "answer": gold, "source": "math500",
            "qtype": str(row.get("subject") or "math").lower().replace(" ", "_")}, "kept"


# each dataset's converter and the column holding its picture (None: a text test set)
CONVERTERS = {"scienceqa": (scienceqa_record, "image"), "iconqa": (iconqa_record, "query_image"),
              "gsm8k": (gsm8k_record, None), "math500": (math500_record, None)}


def convert_test_set(dataset: str, rows: Iterable[dict[str, Any]], out_dir: str | Path) -> dict[str, Any]:
    """Write ``test.jsonl`` and ``images/test/`` for ``dataset``; return counts kept and skipped by reason."""
    convert, image_field = CONVERTERS[dataset]
    check_labels(dataset, rows, "the test split")
    out_dir = Path(out_dir)
    (out_dir / "images" / "test").mkdir(parents=True, exist_ok=True)
    records, reasons = [], Counter()
    for index, row in enumerate(rows):
        record, reason = convert(row, index)
        reasons[reason] += 1
        if record is None:
            continue
        if image_field is not None:
            row[image_field].convert("RGB").save(out_dir / record["image"], format="PNG")
        records.append(record)
    write_records(out_dir / "test.jsonl", records)
    report = {"dataset": dataset, "rows": sum(reasons.values()), "kept": len(records),
              "skipped": {k: v for k, v in sorted(reasons.items()) if k != "kept"}}
    (out_dir / "test_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


def load_rows(source: str | Path):
    """Rows of a split saved with ``save_to_disk``: what ``scale fetch-test-set`` writes on the login node,
    from the hub or (rehearsal) from fixtures, so both reach the converters by one path."""
    import datasets

    if not (Path(source) / "dataset_info.json").is_file():
        raise FileNotFoundError(f"{source} is no save_to_disk folder of a test split; run the fetch_test_set rule")
    return datasets.load_from_disk(str(source))

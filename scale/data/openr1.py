"""The text paper config's training corpus: OpenR1-Math-220k's R1 traces in our record schema.

The corpus (``open-r1/OpenR1-Math-220k``, config ``default``, split ``train``; docs/text_formats.md has the
columns and their sources) is fetched on the login node and saved with ``save_to_disk``
(``scale.hub.fetch_openr1``). Each row is one problem with two to four generations. A row becomes one
training record from its first generation that is

* judged correct: ``correctness_math_verify``, or ``correctness_llama`` where Math-Verify gave no verdict;
* complete: ``is_reasoning_complete`` true and ``finish_reasons`` ``stop`` (when the columns are there);
* a trace: ``…</think>`` (an opening ``<think>`` is added when missing, and counted), then a balanced
  ``\\boxed{…}`` after ``</think>`` whose value is the row's ``answer``.

The response is ``<think>{trace}</think>\\n<answer>{box}</answer>``, the paper's format: the written
solution between ``</think>`` and the box is left out (ASSUMPTION, as the Vision-R1 answers are short).
Every row not kept is counted by reason in ``filter_report.json``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from scale.answers import THINK_CLOSE, answers_match, last_boxed, normalize_answer
from scale.data.records import validate_record, write_records

THINK_OPEN = "<think>"
REASONS = ("no_problem", "no_answer", "no_correct_trace", "no_think_close", "no_final_answer",
           "boxed_answer_differs")


class TooFewKeptError(ValueError):
    """The filter kept less of the corpus than the config's ``min_kept_share``: a format changed."""


def _flag(values: Sequence | None, index: int) -> bool | None:
    return None if values is None or index >= len(values) else values[index]


def first_usable_generation(row: dict[str, Any]) -> tuple[int | None, str]:
    """The index of the first correct, complete generation of a row, or None, and why."""
    generations = row.get("generations") or []
    for index in range(len(generations)):
        verdict = _flag(row.get("correctness_math_verify"), index)
        if verdict is None:
            verdict = _flag(row.get("correctness_llama"), index)
        complete = _flag(row.get("is_reasoning_complete"), index)
        finish = _flag(row.get("finish_reasons"), index)
        if verdict and complete is not False and finish in (None, "stop"):
            return index, "kept"
    return None, "no_correct_trace"


def convert_row(row: dict[str, Any], index: int) -> tuple[dict | None, str, bool]:
    """(record or None, reason, whether a missing ``<think>`` was added) for one corpus row."""
    problem = (row.get("problem") or "").strip()
    if not problem:
        return None, "no_problem", False
    gold = normalize_answer(str(row.get("answer") or ""))
    if not gold:
        return None, "no_answer", False
    chosen, reason = first_usable_generation(row)
    if chosen is None:
        return None, reason, False
    text = row["generations"][chosen].strip()
    close = text.find(THINK_CLOSE)
    if close < 0:
        return None, "no_think_close", False
    added = not text.startswith(THINK_OPEN)
    trace = text[:close] if not added else THINK_OPEN + "\n" + text[:close]
    boxed = last_boxed(text[close + len(THINK_CLOSE):])
    if boxed is None or not boxed.strip():
        return None, "no_final_answer", added
    answer = normalize_answer(boxed)
    if not answers_match(answer, gold):
        return None, "boxed_answer_differs", added
    record = {
        "id": f"openr1-{row.get('uuid') or index}",
        "image": None,
        "question": problem,
        "choices": None,
        "answer": answer,
        "response": f"{trace}{THINK_CLOSE}\n<answer>{boxed.strip()}</answer>",
        "source": f"openr1/{row.get('source') or 'unknown'}",
        "qtype": str(row.get("problem_type") or "math"),
    }
    return validate_record(record, require_response=True), "kept", added


def filter_openr1(rows: Iterable[dict[str, Any]], dataset: str, out_dir: str | Path,
                  sources: Sequence[str] | None = None, limit: int | None = None,
                  min_kept_share: float = 0.0) -> dict[str, Any]:
    """Write ``train.jsonl`` (and an empty ``images/train/``) and ``filter_report.json`` for ``dataset``.

    ``sources`` keeps the rows of those ``source`` values only (others are counted, never candidates);
    ``limit`` stops after that many kept records (the rehearsal's and a small run's cut, in stored order).
    """
    out_dir = Path(out_dir)
    (out_dir / "images" / "train").mkdir(parents=True, exist_ok=True)
    records, reasons, added, other = [], Counter(), 0, 0
    for index, row in enumerate(rows):
        if sources and row.get("source") not in sources:
            other += 1
            continue
        if limit is not None and len(records) >= limit:
            break
        record, reason, think_added = convert_row(row, index)
        reasons[reason] += 1
        added += think_added and record is not None
        if record is not None:
            records.append(record)
    candidates = sum(reasons.values())
    report = {"dataset": dataset, "candidates": candidates, "kept": len(records), "other_sources": other,
              "think_open_added": added,
              "dropped": {r: reasons[r] for r in REASONS if reasons[r]}, "sources": list(sources or [])}
    (out_dir / "filter_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    if candidates == 0 or len(records) < min_kept_share * candidates:
        raise TooFewKeptError(f"{dataset}: kept {len(records)} of {candidates} OpenR1 rows, below min_kept_share="
                              f"{min_kept_share}; dropped by reason: {report['dropped']} "
                              f"(see {out_dir}/filter_report.json)")
    write_records(out_dir / "train.jsonl", records)
    return report


def load_corpus(root: str | Path):
    """The corpus as ``scale fetch-openr1`` saved it (``save_to_disk``), from the hub or (rehearsal) a fixture."""
    import datasets

    if not (Path(root) / "dataset_info.json").is_file():
        raise FileNotFoundError(f"{root} is no save_to_disk folder of OpenR1-Math; run the download_openr1 rule")
    return datasets.load_from_disk(str(root))

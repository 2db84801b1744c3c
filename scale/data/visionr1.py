"""The paper's training data: the science and IconQA subsets of the Vision-R1 cold-start corpus.

Vision-R1-cold (``Osilly/Vision-R1-cold``) is two ShareGPT-style JSON files:

* ``vision_r1_llava_cot_full.json``: turns under ``conversations`` with
  ``from``/``value``, roles ``human``/``gpt``, the image path under ``image``;
* ``vision_r1_mulberry_sft_full.json``: the same turn keys, roles
  ``user``/``assistant``, image paths under ``images``.

Images come from LLaVA-CoT-100k (``llava_cot_images/<source>/…``) and
Mulberry-SFT (``mulberry_images/<source>/…``): the folder under the top one
names the source. Which sources make a subset is configuration (the paper
config's comments say which folder names are assumed). Each kept record is
converted to our schema; every dropped one is counted by its reason in the
filter report, and the run fails when the kept share of a subset's candidates
falls under the configured floor.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from scale.answers import ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, extract_answer, normalize_answer
from scale.data.records import LETTERS, RecordError, validate_record, write_records

ANNOTATION_FILES = ("vision_r1_llava_cot_full.json", "vision_r1_mulberry_sft_full.json")
IMAGE_ROOTS = ("llava_cot_images", "mulberry_images")
USER_ROLES = ("human", "user")
ASSISTANT_ROLES = ("gpt", "assistant")


class FilterError(RuntimeError):
    """Too little of a subset survived filtering: something is wrong with the data or the mapping."""


def image_paths(row: dict) -> list[str]:
    found = row.get("images", row.get("image"))
    if found is None:
        return []
    return [found] if isinstance(found, str) else list(found)


def source_of(image_path: str) -> str | None:
    """The source folder of an image path: ``llava_cot_images/sqa/x.png`` → ``sqa``."""
    parts = [p for p in Path(image_path).parts if p not in (".", "")]
    if parts and parts[0] in IMAGE_ROOTS:
        parts = parts[1:]
    return parts[0] if len(parts) > 1 else None


def turns(row: dict) -> tuple[str | None, str | None]:
    """The first user turn and the first assistant turn after it."""
    question = answer = None
    for turn in row.get("conversations") or []:
        role, value = turn.get("from"), turn.get("value")
        if question is None and role in USER_ROLES:
            question = value
        elif question is not None and role in ASSISTANT_ROLES:
            answer = value
            break
    return question, answer


_LETTERED_LINE = re.compile(r"^\s*\(?([A-J])[).:]\s+(.+?)\s*$")
_INLINE_OPTION = re.compile(r"\(([A-J])\)\s*(.*?)\s*(?=\([A-J]\)|$)", re.DOTALL)
_OPTIONS_HEADER = re.compile(r"^\s*(?:Options|Choices)\s*:\s*(.*)$", re.IGNORECASE)
_CONTEXT = re.compile(r"^\s*Context\s*:\s*(.*)$", re.IGNORECASE)
_LETTER_INSTRUCTION = re.compile(r"^\s*Answer with the option'?s letter.*$", re.IGNORECASE)
EMPTY_CONTEXTS = ("", "n/a", "none")


def _lettered(options: list[tuple[str, str]]) -> list[str] | None:
    letters = [letter for letter, _ in options]
    if len(options) >= 2 and letters == list(LETTERS[: len(options)]) and all(text for _, text in options):
        return [text for _, text in options]
    return None


def split_question(text: str) -> tuple[str, list[str] | None]:
    """Question text and its lettered options, laid out as the test sets' records are.

    Reads the layouts of REAL_FORMATS.md: options one per line (``A. wood``,
    ``(A) wood``, after an ``Options:`` line or not) and inline
    (``Options: (A) Seattle (B) Juneau``). The image placeholder and a trailing
    "Answer with the option's letter …" instruction go (the prompt adds its own);
    a ``Context:`` line moves before the question, as the ScienceQA test records
    put the hint, and an empty one (``N/A``) goes, as a test record without hint
    has none. So a training and a test record of one question render one prompt.
    """
    lines = [line for line in text.replace("<image>", "").strip().split("\n")
             if not _LETTER_INSTRUCTION.match(line)]
    context = None
    for i, line in enumerate(lines):
        if match := _CONTEXT.match(line):
            context = match.group(1).strip()
            del lines[i]
            break
    choices = None
    for i, line in enumerate(lines):
        header = _OPTIONS_HEADER.match(line)
        if header and header.group(1).strip():  # inline: "Options: (A) x (B) y"
            choices = _lettered(_INLINE_OPTION.findall(header.group(1)))
            if choices:
                lines = lines[:i] + lines[i + 1:]
                break
        elif header:  # "Options:" then one option per line
            found = []
            for option in lines[i + 1:]:
                match = _LETTERED_LINE.match(option)
                if not match:
                    break
                found.append(match.groups())
            choices = _lettered(found)
            if choices:
                lines = lines[:i] + lines[i + 1 + len(found):]
                break
    if choices is None:  # bare lettered lines at the end: "Q\nA. blue\nB. green"
        found = []
        while lines and (match := _LETTERED_LINE.match(lines[-1])):
            found.insert(0, match.groups())
            lines.pop()
        choices = _lettered(found)
        if choices is None:
            lines += [f"{letter}. {option}" for letter, option in found]
    stem = "\n".join(lines).strip()
    if context is not None and context.lower() not in EMPTY_CONTEXTS:
        stem = f"Context: {context}\n{stem}"
    return stem, choices


_FINAL_ANSWER = re.compile(r"^\s*Final Answer\s*:", re.IGNORECASE)


def canonical_response(response: str) -> tuple[str, bool]:
    """The response with its final answer in ``<answer>…</answer>``, and whether it had to be wrapped.

    Vision-R1's responses end either with ``<answer> Final Answer:X </answer>``
    (kept as it is: the parser strips the prefix) or, in cleaned copies, with a
    bare ``Final Answer:X`` after ``</think>``, which is wrapped in answer tags.
    """
    response = response.strip()
    close = response.find(THINK_CLOSE)
    if close < 0 or ANSWER_OPEN in response:
        return response, False
    tail = response[close + len(THINK_CLOSE):].strip()
    if not _FINAL_ANSWER.match(tail):
        return response, False
    return f"{response[:close + len(THINK_CLOSE)]}\n{ANSWER_OPEN}{tail}{ANSWER_CLOSE}", True


def response_problem(response: str) -> str | None:
    """Why a response is unusable for SCALe training, or None when it is fine."""
    if response.count("<think>") != 1 or response.count(THINK_CLOSE) != 1:
        return "think_tags_not_exactly_once"
    if response.count(ANSWER_OPEN) != 1 or response.count(ANSWER_CLOSE) != 1:
        return "answer_tags_not_exactly_once"
    if not (response.index("<think>") < response.index(THINK_CLOSE) < response.index(ANSWER_OPEN)
            < response.index(ANSWER_CLOSE)):
        return "tags_out_of_order"
    if not normalize_answer(extract_answer(response)):
        return "empty_answer"
    return None


def resolve_image(image_root: Path, annotation: str, path: str) -> Path:
    """The image file of a record: the path under the image root, or under the annotation file's own image
    folder (LLaVA-CoT's raw paths, ``sqa/train/…``, may come without the ``llava_cot_images/`` prefix)."""
    direct = image_root / path
    if direct.is_file() or Path(path).parts[:1] and Path(path).parts[0] in IMAGE_ROOTS:
        return direct
    folder = IMAGE_ROOTS[ANNOTATION_FILES.index(annotation)] if annotation in ANNOTATION_FILES else None
    return image_root / folder / path if folder else direct


def convert_row(row: dict, index: int, annotation: str, subsets: dict[str, list[str]],
                image_root: Path) -> tuple[str | None, dict | None, str]:
    """(subset, record, reason): the record is None when the row is dropped, reason says why."""
    images = image_paths(row)
    sources = {source_of(p) for p in images}
    subset = next((name for name, folders in subsets.items() if sources & set(folders)), None)
    if subset is None:
        return None, None, "other_source"
    if len(images) != 1:
        return subset, None, "not_single_image"
    question, response = turns(row)
    if not question or not response:
        return subset, None, "missing_turn"
    response, wrapped = canonical_response(response)
    problem = response_problem(response)
    if problem:
        return subset, None, problem
    image_file = resolve_image(image_root, annotation, images[0])
    if not image_file.is_file():
        return subset, None, "image_missing"
    try:
        from PIL import Image

        with Image.open(image_file) as image:
            image.verify()
    except Exception:  # noqa: BLE001 - any decoding failure means the image is unusable
        return subset, None, "image_unreadable"
    stem, choices = split_question(question)
    answer = normalize_answer(extract_answer(response))
    if choices is not None and answer not in LETTERS[: len(choices)]:
        return subset, None, "answer_not_a_choice"
    relative = f"images/train/{Path(annotation).stem}-{index:07d}{image_file.suffix.lower()}"
    record = {
        "id": f"{Path(annotation).stem}-{index}",
        "image": relative,
        "question": stem,
        "choices": choices,
        "answer": answer,
        "response": response,
        "source": f"visionr1/{source_of(images[0])}",
        "qtype": "multiple_choice" if choices else "open",
    }
    try:
        validate_record(record, require_response=True)
    except RecordError:
        return subset, None, "schema_invalid"
    return subset, record, "kept_wrapped_answer" if wrapped else "kept"


def filter_visionr1(root: str | Path, subsets: dict[str, list[str]], annotation_files: Iterable[str] = ANNOTATION_FILES,
                    image_root: str | Path | None = None, out_dirs: dict[str, Path] | None = None,
                    min_kept_share: float = 0.0) -> dict[str, Any]:
    """Filter the corpus into one ``train.jsonl`` per subset (written when ``out_dirs`` names its directory).

    Returns the filter report: per subset, candidates, kept, and dropped counts by reason.
    """
    root = Path(root)
    image_root = Path(image_root) if image_root else root
    report: dict[str, Any] = {"subsets": {name: {"candidates": 0, "kept": 0, "answer_wrapped": 0, "dropped": Counter()}
                                          for name in subsets}, "other_source": 0, "files": []}
    kept: dict[str, list[dict]] = {name: [] for name in subsets}
    for annotation in annotation_files:
        path = root / annotation
        if not path.is_file():
            raise FileNotFoundError(f"Vision-R1 annotation file not found: {path}")
        rows = json.loads(path.read_text())
        report["files"].append({"file": annotation, "rows": len(rows)})
        for index, row in enumerate(rows):
            subset, record, reason = convert_row(row, index, annotation, subsets, image_root)
            if subset is None:
                report["other_source"] += 1
                continue
            stats = report["subsets"][subset]
            stats["candidates"] += 1
            if record is None:
                stats["dropped"][reason] += 1
            else:
                stats["kept"] += 1
                stats["answer_wrapped"] += reason == "kept_wrapped_answer"
                kept[subset].append((record, resolve_image(image_root, annotation, image_paths(row)[0])))
    for name, stats in report["subsets"].items():
        stats["dropped"] = dict(sorted(stats["dropped"].items()))
        share = stats["kept"] / stats["candidates"] if stats["candidates"] else 0.0
        stats["kept_share"] = share
        if share < min_kept_share:
            raise FilterError(
                f"subset {name!r}: kept {stats['kept']} of {stats['candidates']} candidates ({share:.1%}), under the "
                f"floor of {min_kept_share:.0%}; dropped by reason: {stats['dropped']}"
            )
    if out_dirs:
        for name, directory in out_dirs.items():
            directory = Path(directory)
            for record, source_image in kept[name]:
                target = directory / record["image"]
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source_image, target)
            write_records(directory / "train.jsonl", [r for r, _ in kept[name]])
            (directory / "filter_report.json").write_text(
                json.dumps({"subset": name, **report["subsets"][name], "files": report["files"]},
                           indent=2, sort_keys=True) + "\n"
            )
    return report

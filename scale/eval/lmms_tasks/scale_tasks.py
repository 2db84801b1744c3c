"""lmms-eval task functions for the paper's two benchmarks, scored by ``scale.answers``.

The tasks read our own test records (``test.jsonl`` with an absolute
``image_path`` added), build the same prompt as training and the ``hf``
route (``scale.prompts.question_text``), and judge outputs with the same
``is_correct`` / ``is_valid``: both routes give one score for one output.
"""

from __future__ import annotations

from scale.answers import extract_answer, is_correct, is_valid
from scale.prompts import question_text


def doc_to_visual(doc):
    from PIL import Image

    if not doc.get("image_path"):
        return []
    with Image.open(doc["image_path"]) as image:
        return [image.convert("RGB")]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return question_text(doc)


def doc_to_target(doc):
    return doc["answer"]


def process_results(doc, results):
    output = results[0] if results else ""
    return {
        "accuracy": 100.0 * is_correct(output, doc["answer"]),
        "invalid_rate": 100.0 * (not is_valid(output)),
        "extracted": extract_answer(output),
    }


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else 0.0

"""Offline benchmarks shaped like ScienceQA and IconQA, drawn from seeded scenes: the splits.

* ``scienceqa`` (multiple choice, 2–4 lettered choices, a context line): ``colour_most`` and
  ``shape_most``;
* ``iconqa``: ``fill_in_blank`` (how many shapes, a number) and ``choose_txt`` (which shape appears most
  often, answered with the text).

The warm-up splits (the Base model's training) play the part of pretraining: half of each is the survey,
the rest other questions about the same pictures (which listed colour or shape is there, how many of one
shape) in every answer format the tests use, after an empty think block. The ``probe`` split asks the
warm-up's question types of test scenes: what Base learned, on pictures it never saw. Scenes and pictures:
``scale.data.scenes``; questions and traces: ``scale.data.questions``; the design and its measurements:
docs/default.md. The text benchmarks (``gsm8k``, ``aqua``: no pictures) come from ``scale.data.arithmetic``
through the same ``write_split``.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Iterator

from PIL import Image

from scale.data.questions import ASK, answer_part, think_trace
from scale.data.records import write_records
from scale.data.scenes import draw_scene, random_scene, scene_split_bucket

DATASETS = ("scienceqa", "iconqa")
SPLITS = ("train", "test", "warmup", "probe")
QTYPES = {"scienceqa": ("colour_most", "shape_most"), "iconqa": ("fill_in_blank", "choose_txt")}
# drawn in turn, so the survey is half of each warm-up; count_shape keeps a number answer in IconQA's
WARMUP_QTYPES = {"scienceqa": ("colour_present", "survey", "shape_present", "survey"),
                 "iconqa": ("shape_present_txt", "survey", "count_shape", "survey")}
CONTEXT = "Context: The picture shows coloured shapes placed on a three by three grid."


def generate(
    dataset: str, split: str, n: int, seed: int, image_size: int = 84, think_ratio: float = 30.0
) -> Iterator[tuple[dict, Image.Image]]:
    """``n`` records of ``dataset`` for ``split``, each with its picture, deterministic for a seed."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown synthetic dataset {dataset!r}; choose from {DATASETS}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    if image_size % 3 or image_size < 30:
        raise ValueError(f"image_size must be a multiple of 3 and at least 30, got {image_size}")
    salt = int.from_bytes(hashlib.sha256(f"{dataset}/{split}".encode()).digest()[:4], "big")
    rng = random.Random(seed * 1_000_003 + salt)
    qtypes = WARMUP_QTYPES[dataset] if split in ("warmup", "probe") else QTYPES[dataset]
    bucket = "test" if split in ("test", "probe") else "train"
    made = 0
    while made < n:
        scene = random_scene(rng)
        if scene_split_bucket(scene) != bucket:
            continue
        qtype = qtypes[made % len(qtypes)]
        asked = ASK[qtype](scene, rng)
        if asked is None:
            continue
        question, choices, answer, steps, conclusion = asked
        if dataset == "scienceqa":
            question = f"{CONTEXT}\n{question}"
        record = {
            "id": f"{dataset}-{split}-{made:05d}",
            "image": f"images/{split}/{made:05d}.png",
            "question": question,
            "choices": choices,
            "answer": answer,
            "source": f"synthetic-{dataset}",
            "qtype": qtype,
        }
        if split == "train":
            tail = answer_part(answer)
            record["response"] = f"<think>{think_trace(steps, conclusion, len(tail), think_ratio)}{tail}"
        elif split == "warmup":
            record["response"] = f"<think>\n{answer_part(answer)}"
        made += 1
        yield record, draw_scene(scene, image_size)


def write_split(
    out_dir: str | Path, dataset: str, split: str, n: int, seed: int,
    image_size: int = 84, think_ratio: float = 30.0,
) -> Path:
    """Write ``{split}.jsonl`` and its pictures under ``out_dir/images/{split}``; return the JSONL path."""
    from scale.data import arithmetic

    out_dir = Path(out_dir)
    (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)  # stays empty for a text dataset
    if dataset in arithmetic.DATASETS:
        path = out_dir / f"{split}.jsonl"
        write_records(path, list(arithmetic.generate(dataset, split, n, seed, think_ratio)))
        return path
    records = []
    for record, image in generate(dataset, split, n, seed, image_size, think_ratio):
        image.save(out_dir / record["image"], format="PNG", optimize=False)
        records.append(record)
    path = out_dir / f"{split}.jsonl"
    write_records(path, records)
    return path

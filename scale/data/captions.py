"""Pictures with plain-English descriptions of what they show: the alignment stage's data, before a VLM built
from a pretrained language model has seen any question (``scale.models.assemble``).

A description names every shape in the picture, grouped by colour and shape in the grid's reading order,
with the total first: "Four shapes: two red circles, a blue square and a yellow triangle." It is ordinary
language a pretrained language model already writes, never the benchmarks' questions, their options or the
think/answer format, so what alignment teaches is to see, not the task. Training pictures come from the
scenes' training bucket and probe pictures from the test bucket (``scale.data.scenes``): a probe never
shows a picture alignment saw.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Iterator

from PIL import Image

from scale.answers import normalize_answer
from scale.data.scenes import COLOURS, SHAPES, Scene, draw_scene, random_scene, scene_split_bucket

PROMPT = "Describe the picture."
SPLITS = {"align": "train", "probe": "test"}  # split → the scenes' bucket it draws from
NUMBERS = ("no", "a", "two", "three", "four", "five", "six", "seven", "eight", "nine")
WORDS = {word: n for n, word in enumerate(NUMBERS)} | {"an": 1, "one": 1}
ITEM = re.compile(r"\b(" + "|".join(sorted(WORDS, key=len, reverse=True)) + r") (" + "|".join(COLOURS) + r") ("
                  + "|".join(SHAPES) + r")s?\b")


def describe(scene: Scene) -> str:
    """The picture's description: the number of shapes, then each colour and shape with its count."""
    groups = Counter((item.colour, item.shape) for item in scene if item is not None)
    parts = [f"{NUMBERS[n]} {colour} {shape}{'s' if n > 1 else ''}" for (colour, shape), n in groups.items()]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    total = sum(groups.values())
    return f"{NUMBERS[total].capitalize()} shape{'s' if total > 1 else ''}: {listed}."


def read_description(text: str) -> Counter:
    """The (colour, shape) counts a description names; what it does not name counts as none."""
    return Counter({(colour, shape): WORDS[number] for number, colour, shape in ITEM.findall(text.lower())})


def scene_counts(scene: Scene) -> Counter:
    return Counter((item.colour, item.shape) for item in scene if item is not None)


def generate(split: str, n: int, seed: int, image_size: int) -> Iterator[tuple[dict, Image.Image, Scene]]:
    """``n`` described pictures of ``split`` ("align" or "probe"), deterministic for a seed."""
    if split not in SPLITS:
        raise ValueError(f"unknown caption split {split!r}; choose from {sorted(SPLITS)}")
    salt = int.from_bytes(hashlib.sha256(f"captions/{split}".encode()).digest()[:4], "big")
    rng = random.Random(seed * 1_000_003 + salt)
    made = 0
    while made < n:
        scene = random_scene(rng)
        if scene_split_bucket(scene) != SPLITS[split]:
            continue
        description = describe(scene)
        record = {"id": f"caption-{split}-{made:05d}", "image": f"images/{split}/{made:05d}.png", "question": PROMPT,
                  "description": description, "answer": normalize_answer(description), "qtype": "description"}
        made += 1
        yield record, draw_scene(scene, image_size), scene


FIELDS = ("id", "image", "question", "description", "answer", "qtype")


def read_items(path: str | Path) -> list[tuple[dict, Path]]:
    """The described pictures of ``path``, each with its folder (where ``images/`` is). Not benchmark records
    (``scale.data.records``): a description is free text, its target is ``description``; ``answer`` (the
    same, normalised) and ``qtype`` let the evaluation's generation write its usual lines."""
    path = Path(path)
    items = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        record = json.loads(line)
        missing = [field for field in FIELDS if not record.get(field)]
        if missing or set(record) != set(FIELDS):
            raise ValueError(f"{path}:{number}: a described picture has exactly the fields {FIELDS}; "
                             f"missing {missing}, unknown {sorted(set(record) - set(FIELDS))}")
        items.append((record, path.parent))
    return items


def write_split(out_dir: str | Path, split: str, n: int, seed: int, image_size: int) -> Path:
    """``{split}.jsonl`` and its pictures under ``out_dir/images/{split}``; the JSONL path."""
    out_dir = Path(out_dir)
    (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
    records = []
    for record, image, _ in generate(split, n, seed, image_size):
        image.save(out_dir / record["image"], format="PNG", optimize=False)
        records.append(record)
    path = out_dir / f"{split}.jsonl"
    path.write_text("".join(json.dumps(record, sort_keys=True) + "\n" for record in records))
    return path

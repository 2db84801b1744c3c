"""Offline benchmarks shaped like ScienceQA and IconQA, drawn from seeded scenes.

A scene is a 3×3 grid of cells, each empty or holding a filled shape
(circle, square, triangle) in one of four colours. Questions need the picture:

* ``scienceqa`` (multiple choice, 2–4 lettered choices, a context line):
  ``colour_most`` (which colour appears most often) and ``colour_at``
  (the colour of the shape in a named cell);
* ``iconqa``: ``fill_in_blank`` (how many shapes, a number) and
  ``choose_txt`` (which shape is in a named cell, answered with the text).

Training responses reason correct-by-construction: a ``<think>`` trace walks
the grid row by row, works the question out, and double-checks until it is
about ``think_ratio`` times longer than the answer part; then ``<answer>``.
Warm-up records (for the Base model) answer directly with an empty think block.

Scenes are split by a hash of their layout: test scenes never occur in
training or warm-up, whatever the seeds. ``read_scene`` recovers a scene from
its picture alone, which the tests use to prove every question is answerable.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from PIL import Image, ImageDraw

from scale.data.records import LETTERS, write_records

COLOURS = {"red": (220, 30, 30), "green": (30, 160, 60), "blue": (30, 70, 220), "yellow": (230, 200, 20)}
SHAPES = ("circle", "square", "triangle")
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")
DATASETS = ("scienceqa", "iconqa")
SPLITS = ("train", "test", "warmup")
QTYPES = {"scienceqa": ("colour_most", "colour_at"), "iconqa": ("fill_in_blank", "choose_txt")}
TEST_SHARE = 10  # one scene layout in ten belongs to the test split
BACKGROUND = (255, 255, 255)
CONTEXT = "Context: The picture shows coloured shapes placed on a three by three grid."


@dataclass(frozen=True)
class Item:
    shape: str
    colour: str


Scene = tuple  # nine cells, row-major, each an Item or None


def cell_name(index: int) -> str:
    row, column = divmod(index, 3)
    if (row, column) == (1, 1):
        return "centre"
    if row == 1:
        return f"middle {COLUMNS[column]}"
    if column == 1:
        return f"{ROWS[row]} centre"
    return f"{ROWS[row]} {COLUMNS[column]}"


def scene_key(scene: Scene) -> str:
    return "|".join("-" if item is None else f"{item.colour}:{item.shape}" for item in scene)


def scene_split_bucket(scene: Scene) -> str:
    """'test' for one layout in TEST_SHARE, else 'train' (train and warm-up share the rest)."""
    digest = hashlib.sha256(scene_key(scene).encode()).digest()
    return "test" if digest[0] % TEST_SHARE == 0 else "train"


def random_scene(rng: random.Random) -> Scene:
    count = rng.randint(2, 6)
    cells = rng.sample(range(9), count)
    scene = [None] * 9
    for index in cells:
        scene[index] = Item(rng.choice(SHAPES), rng.choice(list(COLOURS)))
    return tuple(scene)


def draw_scene(scene: Scene, size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    cell = size // 3
    margin = max(1, cell // 7)
    for index, item in enumerate(scene):
        if item is None:
            continue
        row, column = divmod(index, 3)
        x0, y0 = column * cell + margin, row * cell + margin
        x1, y1 = (column + 1) * cell - margin - 1, (row + 1) * cell - margin - 1
        colour = COLOURS[item.colour]
        if item.shape == "square":
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif item.shape == "circle":
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=colour)
    return image


def read_scene(image: Image.Image) -> Scene:
    """Recover the scene from its picture: colour at each cell centre, shape from the filled share."""
    image = image.convert("RGB")
    size = image.width
    cell = size // 3
    margin = max(1, cell // 7)
    pixels = image.load()
    scene = []
    for index in range(9):
        row, column = divmod(index, 3)
        x0, y0 = column * cell + margin, row * cell + margin
        x1, y1 = (column + 1) * cell - margin - 1, (row + 1) * cell - margin - 1
        centre = pixels[(x0 + x1) // 2, (y0 + y1) // 2 + 1]
        if centre == BACKGROUND:
            scene.append(None)
            continue
        colour = min(COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(COLOURS[name], centre)))
        box = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        filled = sum(pixels[p] != BACKGROUND for p in box) / len(box)
        shape = "square" if filled > 0.9 else "circle" if filled > 0.65 else "triangle"
        scene.append(Item(shape, colour))
    return tuple(scene)


def describe_rows(scene: Scene) -> list[str]:
    sentences = []
    for row in range(3):
        parts = []
        for column in range(3):
            item = scene[row * 3 + column]
            where = ("on the left", "in the centre", "on the right")[column]
            parts.append(f"nothing {where}" if item is None else f"a {item.colour} {item.shape} {where}")
        sentences.append(f"In the {ROWS[row]} row there is {', '.join(parts)}.")
    return sentences


def colour_counts(scene: Scene) -> Counter:
    return Counter(item.colour for item in scene if item is not None)


# --- questions: each returns (question, choices, answer, reasoning steps) or None when it does not fit


def ask_colour_most(scene: Scene, rng: random.Random):
    counts = colour_counts(scene)
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # no single most frequent colour
    winner = ranked[0][0]
    options = [winner] + rng.sample([c for c in COLOURS if c != winner], rng.randint(1, 3))
    rng.shuffle(options)
    letter = LETTERS[options.index(winner)]
    tally = ", ".join(f"{colour} {counts.get(colour, 0)}" for colour in COLOURS)
    steps = [
        f"Now I count the shapes of each colour: {tally}.",
        f"The colour that appears most often is {winner}, with {counts[winner]} shapes.",
        f"Among the choices, {winner} is option {letter}.",
    ]
    return "Which colour appears most often in the picture?", options, letter, steps


def ask_colour_at(scene: Scene, rng: random.Random):
    index = rng.choice([i for i, item in enumerate(scene) if item is not None])
    item = scene[index]
    options = [item.colour] + rng.sample([c for c in COLOURS if c != item.colour], rng.randint(1, 3))
    rng.shuffle(options)
    letter = LETTERS[options.index(item.colour)]
    steps = [
        f"The question asks about the {cell_name(index)} cell.",
        f"The {cell_name(index)} cell holds a {item.colour} {item.shape}, so its colour is {item.colour}.",
        f"Among the choices, {item.colour} is option {letter}.",
    ]
    return f"What colour is the shape in the {cell_name(index)} cell?", options, letter, steps


def ask_fill_in_blank(scene: Scene, rng: random.Random):
    shapes = [item for item in scene if item is not None]
    running = ", ".join(f"{n} ({item.colour} {item.shape})" for n, item in enumerate(shapes, 1))
    steps = [
        f"Now I count every shape one by one: {running}.",
        f"There are {len(shapes)} shapes in the picture.",
    ]
    return "How many shapes are there in the picture?", None, str(len(shapes)), steps


def ask_choose_txt(scene: Scene, rng: random.Random):
    index = rng.choice([i for i, item in enumerate(scene) if item is not None])
    item = scene[index]
    options = list(SHAPES)
    rng.shuffle(options)
    options = options[: rng.randint(2, 3)]
    if item.shape not in options:
        options[rng.randrange(len(options))] = item.shape
    steps = [
        f"The question asks about the {cell_name(index)} cell.",
        f"The {cell_name(index)} cell holds a {item.colour} {item.shape}.",
        f"So the shape is a {item.shape}, which is one of the choices.",
    ]
    return f"Which shape is in the {cell_name(index)} cell?", options, item.shape, steps


ASK = {
    "colour_most": ask_colour_most,
    "colour_at": ask_colour_at,
    "fill_in_blank": ask_fill_in_blank,
    "choose_txt": ask_choose_txt,
}


def answer_from_scene(scene: Scene, record: dict) -> str:
    """The gold answer of a record, worked out again from a scene (for the answerability check)."""
    question, choices, qtype = record["question"], record.get("choices"), record["qtype"]
    if qtype == "fill_in_blank":
        return str(sum(item is not None for item in scene))
    if qtype == "colour_most":
        ranked = colour_counts(scene).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            raise ValueError(f"{record['id']}: no single most frequent colour")
        return LETTERS[choices.index(ranked[0][0])]
    index = next(i for i in range(9) if f"the {cell_name(i)} cell?" in question)
    item = scene[index]
    if item is None:
        raise ValueError(f"{record['id']}: the {cell_name(index)} cell is empty")
    return LETTERS[choices.index(item.colour)] if qtype == "colour_at" else item.shape


def think_trace(scene: Scene, steps: list[str], answer_chars: int, think_ratio: float) -> str:
    """Row-by-row description, the question's steps, then checks until the trace is long enough."""
    rows = describe_rows(scene)
    lines = ["I look at the picture row by row."] + rows + steps
    checks = 0
    while len(" ".join(lines)) < think_ratio * answer_chars and checks < 12:
        checks += 1
        lines.append(f"Let me check again. {rows[(checks - 1) % 3]}")
        if checks % 3 == 0:
            lines.append(f"That agrees with what I found: {steps[-1][0].lower()}{steps[-1][1:]}")
    return " ".join(lines)


def answer_part(answer: str) -> str:
    return f"</think>\n<answer>{answer}</answer>"


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
    qtypes = QTYPES[dataset]
    bucket = "test" if split == "test" else "train"
    made = 0
    while made < n:
        scene = random_scene(rng)
        if scene_split_bucket(scene) != bucket:
            continue
        qtype = qtypes[made % len(qtypes)]
        asked = ASK[qtype](scene, rng)
        if asked is None:
            continue
        question, choices, answer, steps = asked
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
            record["response"] = f"<think>{think_trace(scene, steps, len(tail), think_ratio)}{tail}"
        elif split == "warmup":
            record["response"] = f"<think>\n{answer_part(answer)}"
        made += 1
        yield record, draw_scene(scene, image_size)


def write_split(
    out_dir: str | Path, dataset: str, split: str, n: int, seed: int,
    image_size: int = 84, think_ratio: float = 30.0,
) -> Path:
    """Write ``{split}.jsonl`` and its pictures under ``out_dir/images/{split}``; return the JSONL path."""
    out_dir = Path(out_dir)
    (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
    records = []
    for record, image in generate(dataset, split, n, seed, image_size, think_ratio):
        image.save(out_dir / record["image"], format="PNG", optimize=False)
        records.append(record)
    path = out_dir / f"{split}.jsonl"
    write_records(path, records)
    return path

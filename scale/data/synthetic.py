"""Offline benchmarks shaped like ScienceQA and IconQA, drawn from seeded scenes.

A scene is a 3×3 grid of cells, each empty or holding a filled shape
(circle, square, triangle) in one of four colours, on a mid-grey ground.
Questions need the picture and ask about the whole of it:

* ``scienceqa`` (multiple choice, 2–4 lettered choices, a context line):
  ``colour_most`` (which colour appears most often) and ``shape_most``
  (which shape appears most often);
* ``iconqa``: ``fill_in_blank`` (how many shapes, a number) and
  ``choose_txt`` (which shape appears most often, answered with the text).

The ``iconqa`` warm-up split (part of the Base model's training) also asks
``count_colour`` and ``count_shape`` (how many shapes of one colour, how many of
one shape): the perception a pretrained VLM brings to SFT, and what the training
traces are made of. Measured on the default (one seed, 100 test questions per
dataset), the mean SFT accuracy over the six model/dataset rows rose from 37.5%
without them to 40.0–45.0% in the three runs with them (Gemma 3 and LLaVA-NeXT
on iconqa: 18% and 22% before, 29–45% and 32–42% after). The traces still
seldom get every per-colour count right (0–5% of outputs); the gain is in the
totals and the answers. Asked in both warm-up splits they cost scienceqa's Base its
sight (Gemma 3 and LLaVA-NeXT fell to the majority answer), so they stay in
IconQA's, the counting benchmark; the Base model learns from both splits.

Why these and not questions about one named cell: a randomly initialised model
of a few hundred thousand parameters learns whole-picture counts within a few
hundred CPU steps, but not where a named cell sits (measured: a tiny Gemma 3, whose
vision features do reach its LM, still answered named-cell questions at chance
after 1,000 steps). Choices keep a fixed order (red, green, blue, yellow;
circle, square, triangle), as lettered options in real benchmarks often do.

Why mid-grey: every family normalises pixels to roughly zero mean, so a grey
ground is close to zero input and the shapes, not the background, drive the
random vision features. On a white ground the features of different pictures
share 90% of their norm and a tiny Qwen2.5-VL stays blind to the picture.

Training responses reason correct-by-construction: a ``<think>`` trace counts
the picture's shapes by colour, by shape and in total, works the question out,
and checks its counts until it is about ``think_ratio`` times longer than the
answer part; then ``<answer>``. (A row-by-row description, the first design,
needs the positional reading the tiny models do not learn in minutes: after
SFT they wrote garbled rows and never closed the think block.)
Warm-up records (for the Base model) answer directly with an empty think block.

Scenes are split by a hash of their layout: test scenes never occur in
training or warm-up, whatever the seeds. ``read_scene`` recovers a scene from
its picture alone, which the tests use to prove every question is answerable.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from PIL import Image, ImageDraw

from scale.data.records import LETTERS, write_records

COLOURS = {"red": (220, 30, 30), "green": (30, 160, 60), "blue": (30, 70, 220), "yellow": (230, 200, 20)}
SHAPES = ("circle", "square", "triangle")
DATASETS = ("scienceqa", "iconqa")
SPLITS = ("train", "test", "warmup")
QTYPES = {"scienceqa": ("colour_most", "shape_most"), "iconqa": ("fill_in_blank", "choose_txt")}
PERCEPTION_QTYPES = ("count_colour", "count_shape")
WARMUP_QTYPES = {"scienceqa": QTYPES["scienceqa"], "iconqa": QTYPES["iconqa"] + PERCEPTION_QTYPES}
TEST_SHARE = 10  # one scene layout in ten belongs to the test split
BACKGROUND = (128, 128, 128)
CONTEXT = "Context: The picture shows coloured shapes placed on a three by three grid."


@dataclass(frozen=True)
class Item:
    shape: str
    colour: str


Scene = tuple  # nine cells, row-major, each an Item or None


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


def survey(scene: Scene) -> list[str]:
    """The whole-picture facts every trace starts from: counts by colour, by shape, in total."""
    colours, shapes = colour_counts(scene), shape_counts(scene)
    return [
        "By colour: " + ", ".join(f"{c} {colours.get(c, 0)}" for c in COLOURS) + ".",
        "By shape: " + ", ".join(f"{s} {shapes.get(s, 0)}" for s in SHAPES) + ".",
        f"In total: {sum(colours.values())} shapes.",
    ]


def colour_counts(scene: Scene) -> Counter:
    return Counter(item.colour for item in scene if item is not None)


def shape_counts(scene: Scene) -> Counter:
    return Counter(item.shape for item in scene if item is not None)


def most_common(counts: Counter) -> str | None:
    """The single most frequent key, or None on a tie (the question would have two answers)."""
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def pick_options(winner: str, pool: tuple[str, ...], rng: random.Random) -> list[str]:
    """The winner and one to three others, in the pool's fixed order."""
    others = rng.sample([x for x in pool if x != winner], rng.randint(1, len(pool) - 1))
    return [x for x in pool if x == winner or x in others]


# --- questions: each returns (question, choices, answer, reasoning steps) or None when it does not fit


def _ask_most(scene: Scene, rng: random.Random, counts: Counter, pool: tuple[str, ...], noun: str,
              lettered: bool):
    winner = most_common(counts)
    if winner is None:
        return None
    options = pick_options(winner, pool, rng)
    steps = [
        f"The question asks which {noun} appears most often.",
        f"The {noun} that appears most often is {winner}, with {counts[winner]} shapes.",
    ]
    if lettered:
        letter = LETTERS[options.index(winner)]
        steps.append(f"Among the choices, {winner} is option {letter}.")
        return f"Which {noun} appears most often in the picture?", options, letter, steps
    steps.append(f"So the answer is {winner}, which is one of the choices.")
    return f"Which {noun} appears most often in the picture?", options, winner, steps


def ask_colour_most(scene: Scene, rng: random.Random):
    return _ask_most(scene, rng, colour_counts(scene), tuple(COLOURS), "colour", lettered=True)


def ask_shape_most(scene: Scene, rng: random.Random):
    return _ask_most(scene, rng, shape_counts(scene), SHAPES, "shape", lettered=True)


def ask_fill_in_blank(scene: Scene, rng: random.Random):
    total = sum(item is not None for item in scene)
    steps = [
        "The question asks how many shapes there are.",
        f"Adding up the colours gives the same total, so there are {total} shapes in the picture.",
    ]
    return "How many shapes are there in the picture?", None, str(total), steps


def ask_choose_txt(scene: Scene, rng: random.Random):
    return _ask_most(scene, rng, shape_counts(scene), SHAPES, "shape", lettered=False)


def ask_count_colour(scene: Scene, rng: random.Random):
    colour = rng.choice(list(COLOURS))
    count = colour_counts(scene)[colour]
    steps = [f"The question asks how many {colour} shapes there are.", f"There are {count}."]
    return f"How many {colour} shapes are there in the picture?", None, str(count), steps


def ask_count_shape(scene: Scene, rng: random.Random):
    shape = rng.choice(SHAPES)
    count = shape_counts(scene)[shape]
    steps = [f"The question asks how many {shape}s there are.", f"There are {count}."]
    return f"How many {shape}s are there in the picture?", None, str(count), steps


ASK = {
    "count_colour": ask_count_colour,
    "count_shape": ask_count_shape,
    "colour_most": ask_colour_most,
    "shape_most": ask_shape_most,
    "fill_in_blank": ask_fill_in_blank,
    "choose_txt": ask_choose_txt,
}


def answer_from_scene(scene: Scene, record: dict) -> str:
    """The gold answer of a record, worked out again from a scene (for the answerability check)."""
    qtype, choices = record["qtype"], record.get("choices")
    if qtype == "fill_in_blank":
        return str(sum(item is not None for item in scene))
    if qtype == "count_colour":
        return str(colour_counts(scene)[re.search(r"How many (\w+) shapes", record["question"]).group(1)])
    if qtype == "count_shape":
        return str(shape_counts(scene)[re.search(r"How many (\w+)s are", record["question"]).group(1)])
    counts = colour_counts(scene) if qtype == "colour_most" else shape_counts(scene)
    winner = most_common(counts)
    if winner is None:
        raise ValueError(f"{record['id']}: no single most frequent {'colour' if qtype == 'colour_most' else 'shape'}")
    return winner if qtype == "choose_txt" else LETTERS[choices.index(winner)]


def think_trace(scene: Scene, steps: list[str], answer_chars: int, think_ratio: float) -> str:
    """The survey, the question's steps, then checks of the survey until the trace is long enough.

    Every fact in the trace is a whole-picture count, which a tiny model can learn to read off the
    picture, and every check names what it checks, so a model can tell where the trace ends.
    """
    facts = survey(scene)
    lines = ["I look at the whole picture and count what I see."] + facts + steps
    checks = 0
    while len(" ".join(lines)) < think_ratio * answer_chars and checks < 12:
        checks += 1
        fact = facts[(checks - 1) % 3]
        lines.append(f"Check {checks}, {fact[0].lower()}{fact[1:]}")
        if checks % 3 == 0:
            lines.append(f"The checks agree: {steps[-1][0].lower()}{steps[-1][1:]}")
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
    qtypes = WARMUP_QTYPES[dataset] if split == "warmup" else QTYPES[dataset]
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

"""Offline benchmarks shaped like ScienceQA and IconQA, drawn from seeded scenes.

A scene is a 3×3 grid of cells, each empty or holding a filled shape
(circle, square, triangle) in one of four colours, on a mid-grey ground.
Test questions need the picture and ask about the whole of it:

* ``scienceqa`` (multiple choice, 2–4 lettered choices, a context line):
  ``colour_most`` (which colour appears most often) and ``shape_most``
  (which shape appears most often);
* ``iconqa``: ``fill_in_blank`` (how many shapes, a number) and
  ``choose_txt`` (which shape appears most often, answered with the text).

The warm-up splits (the Base model's training) play the part of pretraining:
they never ask a test question type nor use a test question's wording, so
the task itself is taught only by the SFT traces (and GRPO's prompts). They
teach what a pretrained VLM brings to SFT: perception (``survey``: how many
shapes there are of each colour and of each shape, all seven counts in one
fixed order; ``count_shape``: how many of one shape), the answer formats (a
letter, a choice's text, a number) after an empty think block, and other
questions about the same pictures (``colour_present``, ``shape_present``,
``shape_present_txt``: which of the listed colours or shapes is in the
picture, exactly one being there). ScienceQA's context line is the dataset's
preamble, shared by every split; a question's wording is what follows it.

Training traces are made of those skills: a trace asks the warm-up's survey
question word for word and answers it, the answer follows from the survey's
counts (the colour or shape with the most, or the colours' counts added up),
and checks repeat the survey until the trace is about ``think_ratio`` times
longer than the answer part; then ``<answer>``.

Why a survey: a tiny model learns, within the warm-up's budget, to write
counts in a fixed order, but not to pick the count that a word of the
question names (``benchmarks/bench_conditioning.py``: the named count stays
at the constant answer, the survey's counts are right). The previous traces
asked one named count per choice and had all of them right in 2–6% of
outputs (a first design began with a survey too, but no warm-up taught it:
0–5%). The survey is half of the warm-up because as one question type in
five it was not learnt. Its colour counts are learnt first; a total is added
up from the colours for that reason.

Why whole-picture questions: a randomly initialised model of a few hundred
thousand parameters learns whole-picture counts within a few hundred CPU
steps, but not where a named cell sits (measured: a tiny Gemma 3, whose vision
features do reach its LM, still answered named-cell questions at chance after
1,000 steps). Choices keep a fixed order (red, green, blue, yellow; circle,
square, triangle), as lettered options in real benchmarks often do.

Why mid-grey: every family normalises pixels to roughly zero mean, so a grey
ground is close to zero input and the shapes, not the background, drive the
random vision features. On a white ground the features of different pictures
share 90% of their norm and a tiny Qwen2.5-VL stays blind to the picture.

Scenes are split by a hash of their layout: test scenes never occur in
training or warm-up, whatever the seeds. The ``probe`` split asks the warm-up's
question types of test scenes: what Base learned, on pictures it never saw
(``benchmarks/bench_warmup.py``). ``read_scene`` recovers a scene from
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
SPLITS = ("train", "test", "warmup", "probe")
QTYPES = {"scienceqa": ("colour_most", "shape_most"), "iconqa": ("fill_in_blank", "choose_txt")}
# drawn in turn, so the survey is half of each warm-up; count_shape keeps a number answer in IconQA's
WARMUP_QTYPES = {"scienceqa": ("colour_present", "survey", "shape_present", "survey"),
                 "iconqa": ("shape_present_txt", "survey", "count_shape", "survey")}
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


def pick_options(winner: str, pool: tuple[str, ...], rng: random.Random, others: list[str] | None = None) -> list[str]:
    """The winner and one to three of ``others`` (default: the rest of the pool), in the pool's order."""
    others = [x for x in (pool if others is None else others) if x != winner]
    chosen = rng.sample(others, rng.randint(1, min(len(others), len(pool) - 1)))
    return [x for x in pool if x == winner or x in chosen]


def count_question(name: str) -> str:
    """The warm-up's perception question for one colour or shape, reused word for word in traces."""
    noun = f"{name} shapes" if name in COLOURS else f"{name}s"
    return f"How many {noun} are there in the picture?"


COUNT_QUESTION = re.compile(r"How many (\w+?)(?: shapes|s) are there in the picture\?")  # count_question, read back

SURVEY_ORDER = tuple(COLOURS) + SHAPES
SURVEY_QUESTION = "How many shapes of each colour and of each shape are there in the picture?"
SURVEY_ITEM = re.compile(r"(\w+) (\d+)")
SURVEY_STEP = re.compile(re.escape(SURVEY_QUESTION) + r" ((?:\w+ \d+, )*\w+ \d+)\.")  # a trace's survey step
# which of the survey's counts a test question's answer is worked out from
COUNTED = {"colour_most": tuple(COLOURS), "fill_in_blank": tuple(COLOURS), "shape_most": SHAPES, "choose_txt": SHAPES}


def survey(scene: Scene) -> str:
    counts = colour_counts(scene) + shape_counts(scene)
    return ", ".join(f"{name} {counts[name]}" for name in SURVEY_ORDER)


def read_survey(text: str) -> list[tuple[str, int]]:
    """The (name, count) pairs of a survey answer, in the order written."""
    return [(name, int(number)) for name, number in SURVEY_ITEM.findall(text)]


def survey_step(scene: Scene) -> tuple[str, str]:
    """A trace's step: the warm-up's survey question and its answer."""
    return SURVEY_QUESTION, survey(scene)


# --- questions: each returns (question, choices, answer, steps, conclusion) or None when it does not
# fit. A test question's step is the warm-up's survey with its answer; the conclusion works the answer
# out of it. Warm-up questions have no steps: their records answer directly.


def _ask_most(scene: Scene, rng: random.Random, counts: Counter, pool: tuple[str, ...], noun: str,
              lettered: bool):
    winner = most_common(counts)
    if winner is None:
        return None
    options = pick_options(winner, pool, rng)
    steps = [survey_step(scene)]
    conclusion = [f"Of the {noun}s, {winner} has the most, {counts[winner]}."]
    question = f"Which {noun} appears most often in the picture?"
    if lettered:
        letter = LETTERS[options.index(winner)]
        return question, options, letter, steps, conclusion + [f"{winner} is option {letter}."]
    return question, options, winner, steps, conclusion + [f"So the answer is {winner}."]


def ask_colour_most(scene: Scene, rng: random.Random):
    return _ask_most(scene, rng, colour_counts(scene), tuple(COLOURS), "colour", lettered=True)


def ask_shape_most(scene: Scene, rng: random.Random):
    return _ask_most(scene, rng, shape_counts(scene), SHAPES, "shape", lettered=True)


def ask_choose_txt(scene: Scene, rng: random.Random):
    return _ask_most(scene, rng, shape_counts(scene), SHAPES, "shape", lettered=False)


def ask_fill_in_blank(scene: Scene, rng: random.Random):
    counts = colour_counts(scene)
    total = sum(counts.values())
    addition = " + ".join(str(counts[c]) for c in COLOURS)
    conclusion = [f"Adding up the colours: {addition} = {total}.", f"So the answer is {total}."]
    return "How many shapes are there in the picture?", None, str(total), [survey_step(scene)], conclusion


def ask_survey(scene: Scene, rng: random.Random):
    return SURVEY_QUESTION, None, survey(scene), [], []


def _ask_count(counts: Counter, pool: tuple[str, ...], rng: random.Random):
    """Mostly about a colour or shape that is there: a zero teaches little about counting."""
    present = [x for x in pool if counts[x]]
    name = rng.choice(present) if rng.random() < 0.75 else rng.choice(pool)
    return count_question(name), None, str(counts[name]), [], []


def ask_count_colour(scene: Scene, rng: random.Random):
    return _ask_count(colour_counts(scene), tuple(COLOURS), rng)


def ask_count_shape(scene: Scene, rng: random.Random):
    return _ask_count(shape_counts(scene), SHAPES, rng)


def _ask_present(rng: random.Random, counts: Counter, pool: tuple[str, ...], noun: str, lettered: bool):
    absent = [x for x in pool if not counts[x]]
    if not absent:
        return None
    present = rng.choice([x for x in pool if counts[x]])
    options = pick_options(present, pool, rng, others=absent)
    answer = LETTERS[options.index(present)] if lettered else present
    return f"Which of these {noun} is in the picture?", options, answer, [], []


def ask_colour_present(scene: Scene, rng: random.Random):
    return _ask_present(rng, colour_counts(scene), tuple(COLOURS), "colours", lettered=True)


def ask_shape_present(scene: Scene, rng: random.Random):
    return _ask_present(rng, shape_counts(scene), SHAPES, "shapes", lettered=True)


def ask_shape_present_txt(scene: Scene, rng: random.Random):
    return _ask_present(rng, shape_counts(scene), SHAPES, "shapes", lettered=False)


ASK = {
    "colour_most": ask_colour_most,
    "shape_most": ask_shape_most,
    "fill_in_blank": ask_fill_in_blank,
    "choose_txt": ask_choose_txt,
    "count_colour": ask_count_colour,
    "count_shape": ask_count_shape,
    "survey": ask_survey,
    "colour_present": ask_colour_present,
    "shape_present": ask_shape_present,
    "shape_present_txt": ask_shape_present_txt,
}


def answer_from_scene(scene: Scene, record: dict) -> str:
    """The gold answer of a record, worked out again from a scene (for the answerability check)."""
    qtype, choices = record["qtype"], record.get("choices")
    counts = colour_counts(scene) + shape_counts(scene)
    if qtype == "fill_in_blank":
        return str(sum(item is not None for item in scene))
    if qtype == "survey":
        return survey(scene)
    if qtype in ("count_colour", "count_shape"):
        name = COUNT_QUESTION.search(record["question"]).group(1)
        return str(counts[name])
    if qtype in ("colour_present", "shape_present", "shape_present_txt"):
        present = [c for c in choices if counts[c]]
        if len(present) != 1:
            raise ValueError(f"{record['id']}: {len(present)} of the choices are in the picture, not one")
        return present[0] if qtype == "shape_present_txt" else LETTERS[choices.index(present[0])]
    winner = most_common(colour_counts(scene) if qtype == "colour_most" else shape_counts(scene))
    if winner is None:
        raise ValueError(f"{record['id']}: no single most frequent {'colour' if qtype == 'colour_most' else 'shape'}")
    return winner if qtype == "choose_txt" else LETTERS[choices.index(winner)]


def think_trace(steps: list[tuple[str, str]], conclusion: list[str], answer_chars: int, think_ratio: float) -> str:
    """The steps (question, then answer), the conclusion, then numbered checks that repeat the steps'
    answers until the trace is long enough.

    The last check's number depends only on the steps' length and on ``think_ratio``; the trace
    always ends by restating the conclusion, which tells a model where to close it.
    """
    lines = ["I count every colour and shape."] + [f"{q} {a}." for q, a in steps] + conclusion
    checks = []
    while len(" ".join(lines + checks)) < think_ratio * answer_chars and len(checks) < 12 * len(steps):
        for _, answer in steps:
            checks.append(f"Check {len(checks) + 1}: {answer}.")
    if checks:
        checks.append(f"The checks agree: {conclusion[-1][0].lower()}{conclusion[-1][1:]}")
    return " ".join(lines + checks)


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
    out_dir = Path(out_dir)
    (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
    records = []
    for record, image in generate(dataset, split, n, seed, image_size, think_ratio):
        image.save(out_dir / record["image"], format="PNG", optimize=False)
        records.append(record)
    path = out_dir / f"{split}.jsonl"
    write_records(path, records)
    return path

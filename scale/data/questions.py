"""The synthetic benchmarks' questions, answers and reasoning traces, made of skills the warm-up teaches.

Test questions ask about the whole picture (which colour or shape appears most often, how many shapes);
warm-up questions never ask a test question type nor use a test question's wording. Every ``ask_*``
returns ``(question, choices, answer, steps, conclusion)``, or None when the scene does not fit. A test
question's one step is the warm-up's survey (every colour's and shape's count in a fixed order) with its
answer, and the conclusion works the answer out of it: the colour or shape with the most, or the colours'
counts added up. ``think_trace`` then repeats the survey as numbered checks until the trace is about
``think_ratio`` times longer than the answer part. Why a survey: docs/default.md.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from scale.data.records import LETTERS
from scale.data.scenes import COLOURS, SHAPES, Scene, colour_counts, most_common, shape_counts


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


def think_trace(steps: list[tuple[str, str]], conclusion: list[str], answer_chars: int, think_ratio: float,
                opening: str = "I count every colour and shape.") -> str:
    """The opening, the steps (question, then answer), the conclusion, then numbered checks that repeat the
    steps' answers until the trace is long enough.

    The last check's number depends only on the steps' length and on ``think_ratio``; the trace
    always ends by restating the conclusion, which tells a model where to close it.
    """
    lines = [opening] + [f"{q} {a}." for q, a in steps] + conclusion
    checks = []
    while len(" ".join(lines + checks)) < think_ratio * answer_chars and len(checks) < 12 * len(steps):
        for _, answer in steps:
            checks.append(f"Check {len(checks) + 1}: {answer}.")
    if checks:
        checks.append(f"The checks agree: {conclusion[-1][0].lower()}{conclusion[-1][1:]}")
    return " ".join(lines + checks)


def answer_part(answer: str) -> str:
    return f"</think>\n<answer>{answer}</answer>"

"""Offline text reasoning benchmarks (no picture) for text-only models: multi-step arithmetic word
problems, made of skills the warm-up teaches.

* ``gsm8k`` (shaped like GSM8K): a word problem of two or three steps, answered with a number;
* ``aqua`` (shaped like AQuA-RAT): the same kind of problem with four lettered options.

A problem is a person's starting count of something and two or three changes ("finds 5 more",
"gives away 3"). Its trace takes the changes in turn, each written as the calculation it needs and
that calculation's result (``7 + 5 = 12``), then states the result; ``think_trace`` then repeats the
calculations as numbered checks until the trace is about ``think_ratio`` times longer than the
answer part. The warm-up (the Base model's training, standing in for pretraining) teaches the two
skills a step is made of and never a whole problem: which calculation one sentence needs (``7 + 5``),
and the facts themselves (``What is 7 + 5?``, also as a lettered choice). So Base can read a
sentence and add, but was never shown a problem of several steps nor a trace.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Iterator

from scale.data.questions import answer_part, think_trace
from scale.data.records import LETTERS

DATASETS = ("gsm8k", "aqua")  # a part of scale.data.TEXT_DATASETS
QTYPES = {"gsm8k": ("word_problem",), "aqua": ("word_problem_choice",)}
WARMUP_QTYPES = ("calculation", "fact", "fact_choice", "fact")
NAMES = (("Ann", "she"), ("Ben", "he"), ("Cara", "she"), ("Dev", "he"), ("Eli", "he"), ("Fay", "she"),
         ("Gus", "he"), ("Hana", "she"))
THINGS = ("apples", "pens", "marbles", "stamps", "cards", "shells", "books", "coins")
GAINS = ("finds {n} more {thing}", "buys {n} more {thing}", "gets {n} more {thing}")
LOSSES = ("gives away {n} {thing}", "loses {n} {thing}", "sells {n} {thing}")
MAX_START, MAX_CHANGE, MAX_VALUE = 20, 9, 30
OPENING = "I work through the changes in order."


def split_bucket(start: int, changes: list[int]) -> str:
    """``train`` or ``test`` from a problem's numbers alone, so no test problem is a training problem."""
    key = f"{start}:{','.join(map(str, changes))}".encode()
    return "test" if hashlib.sha256(key).digest()[0] < 52 else "train"  # about a fifth


def random_change(rng: random.Random, before: int) -> int:
    """A signed change of 1…MAX_CHANGE, its sign flipped when it would leave 0…MAX_VALUE (then it cannot)."""
    change = rng.randint(1, MAX_CHANGE) * rng.choice((1, -1))
    return -change if not 0 <= before + change <= MAX_VALUE else change


def random_problem(rng: random.Random) -> tuple[int, list[int]]:
    """A start and two or three signed changes whose running totals stay within 0…MAX_VALUE."""
    start = rng.randint(2, MAX_START)
    changes, total = [], start
    for _ in range(rng.choice((2, 3))):
        changes.append(random_change(rng, total))
        total += changes[-1]
    return start, changes


def running_totals(start: int, changes: list[int]) -> list[int]:
    totals, total = [], start
    for change in changes:
        total += change
        totals.append(total)
    return totals


_START = re.compile(r"^\w+ has (\d+) \w+\.")
_CHANGE = re.compile(r"\b(finds|buys|gets|gives away|loses|sells) (\d+)")


def problem_of(question: str) -> tuple[int, list[int]]:
    """(start, signed changes) of a problem, read back from its text."""
    start = int(_START.match(question).group(1))
    return start, [int(n) if verb in ("finds", "buys", "gets") else -int(n) for verb, n in _CHANGE.findall(question)]


def calculation(before: int, change: int) -> str:
    return f"{before} + {change}" if change > 0 else f"{before} - {-change}"


CALCULATION = re.compile(r"(\d+) ([+-]) (\d+) = (\d+)")  # a trace's step, ``calculation`` and its result, read back


def change_sentence(pronoun: str, change: int, thing: str, rng: random.Random) -> str:
    template = rng.choice(GAINS if change > 0 else LOSSES)
    thing = thing[:-1] if abs(change) == 1 else thing  # "1 card"
    return f"{pronoun.capitalize()} {template.format(n=abs(change), thing=thing)}."


def calculation_question(name: str, start: int, sentence: str, thing: str) -> str:
    """The warm-up's reading question for one sentence, whose answer a trace step repeats."""
    return f"{name} has {start} {thing}. {sentence} Which calculation gives how many {thing} {name} has?"


def options(answer: int, start: int, changes: list[int], rng: random.Random) -> list[str]:
    """The answer and three distractors a careless solver would reach, in increasing order."""
    near = {answer - 1, answer + 1, answer - 2, answer + 2, start + sum(abs(c) for c in changes),
            running_totals(start, changes)[-2]}
    near = sorted(v for v in near if v >= 0 and v != answer)
    return [str(v) for v in sorted(rng.sample(near, 3) + [answer])]


def ask_word_problem(rng: random.Random, lettered: bool, bucket: str):
    """(question, choices, answer, steps, conclusion) of a test-type problem from ``bucket``."""
    while True:
        start, changes = random_problem(rng)
        if split_bucket(start, changes) == bucket:
            break
    (name, pronoun), thing = rng.choice(NAMES), rng.choice(THINGS)
    sentences = [change_sentence(pronoun, c, thing, rng) for c in changes]
    question = " ".join([f"{name} has {start} {thing}.", *sentences, f"How many {thing} does {name} have now?"])
    totals = running_totals(start, changes)
    befores = [start] + totals[:-1]
    steps = [(sentence[:-1] + ":", f"{calculation(b, c)} = {t}")
             for sentence, b, c, t in zip(sentences, befores, changes, totals)]
    conclusion = [f"{name} starts with {start} {thing} and ends with {totals[-1]}."]
    if lettered:
        choices = options(totals[-1], start, changes, rng)
        letter = LETTERS[choices.index(str(totals[-1]))]
        return question, choices, letter, steps, conclusion + [f"{totals[-1]} is option {letter}."]
    return question, None, str(totals[-1]), steps, conclusion + [f"So the answer is {totals[-1]}."]


def ask_calculation(rng: random.Random):
    start = rng.randint(2, MAX_START)
    change = random_change(rng, start)
    (name, pronoun), thing = rng.choice(NAMES), rng.choice(THINGS)
    sentence = change_sentence(pronoun, change, thing, rng)
    return calculation_question(name, start, sentence, thing), None, calculation(start, change)


def _fact(rng: random.Random) -> tuple[str, int]:
    before = rng.randint(0, MAX_VALUE)
    change = random_change(rng, before)
    return calculation(before, change), before + change


def ask_fact(rng: random.Random):
    sum_, value = _fact(rng)
    return f"What is {sum_}?", None, str(value)


def ask_fact_choice(rng: random.Random):
    sum_, value = _fact(rng)
    wrong = [v for v in (value - 2, value - 1, value + 1, value + 2) if v >= 0]
    choices = [str(v) for v in sorted(rng.sample(wrong, rng.randint(1, min(3, len(wrong)))) + [value])]
    return f"Which number is {sum_}?", choices, LETTERS[choices.index(str(value))]


WARMUP_ASK = {"calculation": ask_calculation, "fact": ask_fact, "fact_choice": ask_fact_choice}


def generate(dataset: str, split: str, n: int, seed: int, think_ratio: float = 30.0) -> Iterator[dict]:
    """``n`` records of ``dataset`` for ``split`` (``train``, ``test`` or ``warmup``), deterministic for a seed."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown text dataset {dataset!r}; choose from {DATASETS}")
    if split not in ("train", "test", "warmup"):
        raise ValueError(f"unknown split {split!r} for a text dataset; choose from train, test, warmup")
    salt = int.from_bytes(hashlib.sha256(f"{dataset}/{split}".encode()).digest()[:4], "big")
    rng = random.Random(seed * 1_000_003 + salt)
    for made in range(n):
        record = {"id": f"{dataset}-{split}-{made:05d}", "image": None, "source": f"synthetic-{dataset}"}
        if split == "warmup":
            qtype = WARMUP_QTYPES[made % len(WARMUP_QTYPES)]
            question, choices, answer = WARMUP_ASK[qtype](rng)
            record.update(question=question, choices=choices, answer=answer, qtype=qtype,
                          response=f"<think>\n{answer_part(answer)}")
        else:
            qtype = QTYPES[dataset][0]
            question, choices, answer, steps, conclusion = ask_word_problem(rng, dataset == "aqua", split)
            record.update(question=question, choices=choices, answer=answer, qtype=qtype)
            if split == "train":
                tail = answer_part(answer)
                record["response"] = f"<think>{think_trace(steps, conclusion, len(tail), think_ratio, OPENING)}{tail}"
        yield record

"""Do the synthetic defaults' traces carry the answer? Their counts checked against the picture (and, for the
text benchmarks, their calculations against the problem: ``calculation_steps``).

A trace's first round (before ``Check 1``) asks the warm-up's survey question and answers it with
a count for every colour and shape; the answer should then follow from the counts the question
needs (``scale.data.questions.COUNTED``: the colours' or the shapes'; the largest, or the colours' sum).
Accuracy alone cannot tell a model that reasons this way from one that reads the answer off the
picture and writes the counts as decoration, so per (dataset, question type, variant), over the
needed counts:

* ``steps_right``: share of written counts that are the picture's count (``read_scene``);
* ``always_one``: what writing "1" for every count would score on the same counts;
* ``all_steps_right``: share of outputs with a survey whose every needed count is right;
* ``right_follow``: share of right answers that are also what the output's own counts imply.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

import pandas as pd

from scale.data.questions import COUNTED, SURVEY_ORDER, SURVEY_STEP, read_survey
from scale.data.records import LETTERS, answered_with_text, read_records
from scale.data.scenes import colour_counts, most_common, read_scene, shape_counts
from scale.eval.predictions import read_predictions
from scale.layout import parse_eval_path


def picture_counts(test_path: str | Path) -> dict[str, tuple[dict, Counter]]:
    """Each test record and its picture's counts of every colour and shape, read off the image."""
    from PIL import Image

    test_path = Path(test_path)
    found = {}
    for record in read_records(test_path):
        with Image.open(test_path.parent / record["image"]) as image:
            scene = read_scene(image)
        found[record["id"]] = (record, colour_counts(scene) + shape_counts(scene))
    return found


def written_counts(output: str, qtype: str) -> list[tuple[str, int]]:
    """The (name, number) counts of an output's first survey that a ``qtype`` question needs."""
    step = SURVEY_STEP.search(output.split("Check 1")[0])
    return [(name, n) for name, n in read_survey(step.group(1)) if name in COUNTED[qtype]] if step else []


def implied_answer(record: dict, steps: list[tuple[str, int]]) -> str | None:
    """What the written counts give: their sum for a total, else the single largest (as a letter when
    the question is lettered); None when they tie or name nothing the question offers."""
    counts = dict(steps)
    if not counts:
        return None
    if record["qtype"] == "fill_in_blank":
        return str(sum(counts.values()))
    winner = most_common(Counter(counts))
    choices = record.get("choices") or []
    if winner is None or winner not in choices:
        return None
    return winner if answered_with_text(record) else LETTERS[choices.index(winner)]


def survey_counts(predictions: list[dict], probe: list[dict]) -> dict[str, float]:
    """Per name, the share of survey answers (``extracted``) whose count for it is the gold survey's:
    which counts a warm-up taught, where all seven right is too coarse."""
    gold = {r["id"]: dict(read_survey(r["answer"])) for r in probe}
    right = Counter()
    for prediction in predictions:
        written = dict(read_survey(prediction["extracted"] or ""))
        right.update(name for name in SURVEY_ORDER if written.get(name) == gold[prediction["id"]][name])
    return {name: 100 * right[name] / len(predictions) for name in SURVEY_ORDER}


def trace_steps(predictions: Iterable[str | Path], tests: dict[str, str | Path]) -> pd.DataFrame:
    """One row per (dataset, question type, variant) over the given
    ``eval/{model}/{dataset}/{variant}[/seedN]`` prediction files; ``tests`` maps each dataset to its
    test JSONL. Per question type because a colour question needs other counts than a shape one."""
    truth = {dataset: picture_counts(path) for dataset, path in tests.items()}
    tally: dict[tuple[str, str, str], Counter] = {}
    for path in predictions:
        cell = parse_eval_path(path)
        dataset, variant = cell["dataset"], cell["variant"]
        for prediction in read_predictions(path):
            record, counts = truth[dataset][prediction["id"]]
            t = tally.setdefault((dataset, record["qtype"], variant), Counter())
            steps = written_counts(prediction["output"], record["qtype"])
            t["outputs"] += 1
            t["right"] += bool(prediction["correct"])
            if not steps:
                continue
            right = [number == counts[name] for name, number in steps]
            t["with_steps"] += 1
            t["steps"] += len(steps)
            t["steps_right"] += sum(right)
            t["always_one"] += sum(counts[name] == 1 for name, _ in steps)
            t["all_steps_right"] += all(right)
            if prediction["correct"]:
                t["right_with_steps"] += 1
                t["right_follow"] += implied_answer(record, steps) == prediction["extracted"]
    rows = []
    for (dataset, qtype, variant), t in sorted(tally.items()):
        share = lambda a, b: round(100 * t[a] / t[b], 1) if t[b] else float("nan")  # noqa: E731
        rows.append({"dataset": dataset, "qtype": qtype, "variant": variant, "outputs": t["outputs"],
                     "accuracy": share("right", "outputs"), "with_steps": t["with_steps"], "steps": t["steps"],
                     "steps_right": share("steps_right", "steps"), "always_one": share("always_one", "steps"),
                     "all_steps_right": share("all_steps_right", "with_steps"),
                     "right_follow": share("right_follow", "right_with_steps")})
    return pd.DataFrame(rows)


def accuracy_by_qtype(predictions: Iterable[str | Path]) -> pd.DataFrame:
    """Accuracy (%) per dataset, question type and variant, pooled over models and seeds: which
    question types a variant's gains come from."""
    rows = [dict(dataset=cell["dataset"], variant=cell["variant"], qtype=p["qtype"], correct=bool(p["correct"]))
            for path in predictions for cell in [parse_eval_path(path)] for p in read_predictions(path)]
    table = pd.DataFrame(rows).groupby(["dataset", "qtype", "variant"])["correct"].agg(["mean", "size"])
    return table.assign(accuracy=(100 * table["mean"]).round(1)).drop(columns="mean").reset_index()


def calculation_steps(predictions: Iterable[str | Path], tests: dict[str, str | Path]) -> pd.DataFrame:
    """The text benchmarks' counterpart (``scale.data.arithmetic``): per (dataset, variant), over the
    calculations (``a + b = c``) an output writes before ``Check 1``:

    * ``steps_right``: share of calculations whose result is right for the numbers written;
    * ``chain_right``: share of outputs with calculations whose every step is the problem's (the
      question's start and changes in order, each result carried on), whatever the arithmetic;
    * ``right_follow``: share of right answers that are also what the output's last step gives.
    """
    from scale.data.arithmetic import CALCULATION, problem_of, running_totals

    tally: dict[tuple[str, str], Counter] = {}
    records = {d: {r["id"]: r for r in read_records(path)} for d, path in tests.items()}
    for path in predictions:
        cell = parse_eval_path(path)
        for prediction in read_predictions(path):
            record = records[cell["dataset"]][prediction["id"]]
            start, changes = problem_of(record["question"])
            t = tally.setdefault((cell["dataset"], cell["variant"]), Counter())
            t["outputs"] += 1
            t["right"] += bool(prediction["correct"])
            steps = CALCULATION.findall(prediction["output"].split("Check 1")[0].split("</think>")[0])
            if not steps:
                continue
            written = [(int(a), int(b) if op == "+" else -int(b), int(c)) for a, op, b, c in steps]
            t["with_steps"] += 1
            t["steps"] += len(written)
            t["steps_right"] += sum(a + b == c for a, b, c in written)
            befores = [start] + running_totals(start, changes)[:-1]
            t["chain_right"] += [(a, b) for a, b, _ in written] == list(zip(befores, changes))
            if prediction["correct"]:
                last = str(written[-1][2])
                choices = record.get("choices")
                implied = LETTERS[choices.index(last)] if choices and last in choices else last
                t["right_with_steps"] += 1
                t["right_follow"] += implied == record["answer"]
    rows = []
    for (dataset, variant), t in sorted(tally.items()):
        share = lambda a, b: round(100 * t[a] / t[b], 1) if t[b] else float("nan")  # noqa: E731
        rows.append({"dataset": dataset, "variant": variant, "outputs": t["outputs"],
                     "accuracy": share("right", "outputs"), "with_steps": t["with_steps"], "steps": t["steps"],
                     "steps_right": share("steps_right", "steps"), "chain_right": share("chain_right", "with_steps"),
                     "right_follow": share("right_follow", "right_with_steps")})
    return pd.DataFrame(rows)

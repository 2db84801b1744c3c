"""Scoring predictions into ``metrics.json``, and comparing two prediction files.

Accuracy counts an invalid output as wrong (docs/design.md). Percentages are on
0–100. The paper reports single runs; the bootstrap interval and the paired
test say how much a difference on a test set of this size can be trusted.
"""

from __future__ import annotations

import json
from math import comb
from pathlib import Path
from typing import Sequence

import numpy as np

from scale.eval.predictions import read_predictions


def bootstrap_interval(values: Sequence[float], resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean (in the values' units)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def score(predictions: list[dict], bootstrap: int = 1000, seed: int = 0) -> dict:
    n = len(predictions)
    if n == 0:
        raise ValueError("no predictions to score")
    correct = np.array([bool(p["correct"]) for p in predictions], dtype=float)
    valid = np.array([bool(p["valid"]) for p in predictions], dtype=float)
    low, high = bootstrap_interval(correct * 100, bootstrap, seed)
    per_qtype = {}
    for qtype in sorted({p["qtype"] for p in predictions}):
        chosen = [p for p in predictions if p["qtype"] == qtype]
        per_qtype[qtype] = {"n": len(chosen), "accuracy": 100 * sum(p["correct"] for p in chosen) / len(chosen)}
    return {
        "n": n,
        "accuracy": float(correct.mean() * 100),
        "accuracy_ci95": [low, high],
        "invalid_rate": float((1 - valid).mean() * 100),
        "per_qtype": per_qtype,
        "mean_think_tokens": float(np.mean([p["n_think_tokens"] for p in predictions])),
        "mean_answer_tokens": float(np.mean([p["n_answer_tokens"] for p in predictions])),
        "cut_by_max_new_tokens": float(np.mean([p["finish_reason"] == "length" for p in predictions]) * 100),
    }


def chance_levels(records: Sequence[dict]) -> dict:
    """What guessing scores on a test set, the floor a trained model has to clear (percent).

    ``uniform``: a uniform guess among the choices (open questions: among the
    gold answers that occur in the set); ``majority``: the best constant answer
    per question type, which also catches a model that learnt only the priors.
    """
    if not records:
        raise ValueError("no records to compute chance levels for")
    by_qtype: dict[str, list[dict]] = {}
    for record in records:
        by_qtype.setdefault(record["qtype"], []).append(record)
    uniform = majority = 0.0
    for chosen in by_qtype.values():
        answers = [r["answer"] for r in chosen]
        distinct = len(set(answers))
        uniform += sum(1 / len(r["choices"]) if r.get("choices") else 1 / distinct for r in chosen)
        majority += max(answers.count(a) for a in set(answers))
    return {"uniform": 100 * uniform / len(records), "majority": 100 * majority / len(records)}


def score_file(predictions_path, out_path, bootstrap: int = 1000, seed: int = 0) -> dict:
    metrics = score(read_predictions(predictions_path), bootstrap, seed)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (a binomial test at 1/2)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_comparison(a: list[dict], b: list[dict], bootstrap: int = 1000, seed: int = 0) -> dict:
    """``b`` against ``a`` on the same test set: accuracy difference (b − a, points), its 95% interval,
    and McNemar's exact p-value."""
    by_id = {p["id"]: p for p in a}
    if set(by_id) != {p["id"] for p in b}:
        raise ValueError("the two prediction files do not cover the same test records")
    pairs = [(bool(by_id[p["id"]]["correct"]), bool(p["correct"])) for p in b]
    only_a = sum(x and not y for x, y in pairs)
    only_b = sum(y and not x for x, y in pairs)
    diffs = [100.0 * (int(y) - int(x)) for x, y in pairs]
    low, high = bootstrap_interval(diffs, bootstrap, seed)
    return {
        "n": len(pairs),
        "difference": float(np.mean(diffs)),
        "difference_ci95": [low, high],
        "only_a_correct": only_a,
        "only_b_correct": only_b,
        "mcnemar_p": mcnemar_exact(only_a, only_b),
    }

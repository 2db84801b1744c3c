"""Do the paper's claims hold on our grid? Paired tests pooled over seeds, per row and over all rows.

The claims: SFT beats Base, SCALe-SFT beats SFT, SCALe-GRPO beats GRPO (accuracy),
and SCALe gives fewer invalid outputs (SFT and GRPO). Predictions are paired by
(seed, test id); Base has no seed, so each of its predictions is paired with
every seed's prediction of the same question (those pairs share Base's side, so
the pooled p-value of that claim is optimistic: say so when it decides).
McNemar's exact test on the discordant pairs; a claim holds where the
difference goes the claimed way and p < ``alpha``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterable

import pandas as pd

from scale.eval.predictions import read_predictions
from scale.eval.score import mcnemar_exact
from scale.layout import parse_eval_path
from scale.variants import REGISTRY

ALL_ROWS = "all rows"

# name: (outcome, baseline, treatment, the sign the claim expects of treatment − baseline). SFT over Base, then
# each of the paper's variants that the registry compares with a baseline: more right, fewer invalid.
def _claims(variants) -> dict[str, tuple[str, str, str, int]]:
    return {**{f"{v.name}_over_{v.baseline}": ("correct", v.baseline, v.name, +1) for v in variants},
            **{f"{v.name}_fewer_invalid": ("invalid", v.baseline, v.name, -1) for v in variants}}


CLAIMS = {"sft_over_base": ("correct", "base", "sft", +1),
          **_claims([v for v in REGISTRY if v.baseline and v.in_paper])}
# beyond the paper (Table 4): does tuning the weights online beat SCALe's hand schedule? Tested the same way
BEYOND = _claims([v for v in REGISTRY if v.baseline and not v.in_paper])


def _outcome(prediction: dict, outcome: str) -> bool:
    return not prediction["valid"] if outcome == "invalid" else bool(prediction["correct"])


def _pairs(baseline: dict[int | None, list[dict]], treatment: dict[int | None, list[dict]], outcome: str):
    """(baseline, treatment) outcomes by (seed, id); a seedless baseline stands beside every seed."""
    pairs = []
    for seed, rows in sorted(treatment.items(), key=lambda item: (item[0] is None, item[0])):
        base_rows = baseline.get(seed, baseline.get(None))
        if base_rows is None:
            raise ValueError(f"no baseline predictions for seed {seed}")
        by_id = {p["id"]: p for p in base_rows}
        if set(by_id) != {p["id"] for p in rows}:
            raise ValueError(f"seed {seed}: the two prediction files do not cover the same test records")
        pairs += [(_outcome(by_id[p["id"]], outcome), _outcome(p, outcome)) for p in rows]
    return pairs


def _row(model: str, dataset: str, spec: tuple[str, str, str, int], claim: str, pairs: list[tuple[bool, bool]],
         alpha: float) -> dict:
    outcome, baseline, treatment, sign = spec
    only_baseline = sum(a and not b for a, b in pairs)
    only_treatment = sum(b and not a for a, b in pairs)
    n = len(pairs)
    difference = 100.0 * (only_treatment - only_baseline) / n
    p = mcnemar_exact(only_baseline, only_treatment)
    return {"model": model, "dataset": dataset, "claim": claim, "outcome": outcome, "baseline": baseline,
            "treatment": treatment, "n_pairs": n,
            f"baseline_{outcome}": 100.0 * sum(a for a, _ in pairs) / n,
            f"treatment_{outcome}": 100.0 * sum(b for _, b in pairs) / n,
            "difference": difference, "only_baseline": only_baseline, "only_treatment": only_treatment,
            "mcnemar_p": p, "holds": bool(difference * sign > 0 and p < alpha)}


def claims_table(prediction_files: Iterable[str | Path], alpha: float = 0.05,
                 claims: dict[str, tuple[str, str, str, int]] | None = None) -> pd.DataFrame:
    """One row per (model, dataset, claim) with the variants it needs, then one pooled over all rows
    (``claims``: the paper's, ``CLAIMS``, unless given, e.g. ``BEYOND``)."""
    claims = CLAIMS if claims is None else claims
    cells: dict[tuple[str, str, str], dict[int | None, list[dict]]] = defaultdict(dict)
    for path in prediction_files:
        cell = parse_eval_path(path)
        cells[(cell["model"], cell["dataset"], cell["variant"])][cell["seed"]] = read_predictions(path)
    rows, pooled = [], defaultdict(list)
    for model, dataset in sorted({(m, d) for m, d, _ in cells}):
        for claim, (outcome, baseline, treatment, _) in claims.items():
            a, b = cells.get((model, dataset, baseline)), cells.get((model, dataset, treatment))
            if not a or not b:
                continue
            pairs = _pairs(a, b, outcome)
            pooled[claim] += pairs
            rows.append(_row(model, dataset, claims[claim], claim, pairs, alpha))
    rows += [_row(ALL_ROWS, ALL_ROWS, claims[claim], claim, pairs, alpha) for claim, pairs in pooled.items()]
    return pd.DataFrame(rows)

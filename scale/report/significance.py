"""Is SCALe's gain real? Paired tests per table row, those the table names (``scale.report.TABLES``): SCALe-SFT
vs SFT and SCALe-GRPO vs GRPO (Table 1), beyond the paper the online-weighted pair against SCALe's hand schedule
(Table 4) and the other SFT losses against SFT and against SCALe-SFT (Table 5).

Predictions of two variants are paired by (seed, test id); with several seeds
the pairs are pooled. McNemar's exact test on the discordant pairs, and the
accuracy difference (points) with a bootstrap 95% interval.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterable

import pandas as pd

from scale.eval.predictions import read_predictions
from scale.eval.score import paired_comparison
from scale.layout import parse_eval_path
from scale.report import TABLES
from scale.variants import pair


def significance_table(prediction_files: Iterable[str | Path], bootstrap: int = 1000, seed: int = 0,
                       table: str = "table1") -> pd.DataFrame:
    """One row per (model, dataset, comparison of ``table``) whose two variants both have predictions."""
    by_cell: dict[tuple, list[dict]] = defaultdict(list)
    for path in prediction_files:
        cell = parse_eval_path(path)
        rows = [{**row, "id": f"{cell['seed']}/{row['id']}"} for row in read_predictions(path)]
        by_cell[(cell["model"], cell["dataset"], cell["variant"])].extend(rows)
    results = []
    for model, dataset in sorted({(m, d) for m, d, _ in by_cell}):
        for name in TABLES[table]["significance"]:
            baseline, treatment = pair(name)
            a, b = by_cell.get((model, dataset, baseline)), by_cell.get((model, dataset, treatment))
            if not a or not b:
                continue
            result = paired_comparison(a, b, bootstrap, seed)
            results.append({"model": model, "dataset": dataset, "comparison": name, "baseline": baseline,
                            "treatment": treatment, "n_pairs": result["n"], "difference": result["difference"],
                            "ci_low": result["difference_ci95"][0], "ci_high": result["difference_ci95"][1],
                            "only_baseline_correct": result["only_a_correct"],
                            "only_treatment_correct": result["only_b_correct"], "mcnemar_p": result["mcnemar_p"]})
    return pd.DataFrame(results)


def write_significance(prediction_files, out_csv, bootstrap: int = 1000, table: str = "table1") -> pd.DataFrame:
    frame = significance_table(prediction_files, bootstrap, table=table)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_csv, index=False, float_format="%.6g")
    return frame

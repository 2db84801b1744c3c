"""What each pipeline costs: wall time and trained tokens per training run, and the paper's 1/7 claim.

Wall time comes from the timing records Snakemake's ``benchmark:`` directive writes (``s`` column), tokens
from each run's ``run.json``. Per row and seed: time(SCALe-SFT) / (time(SFT) + time(GRPO)).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd

from scale.layout import parse_run_path


def cost_table(run_summaries: Iterable[str | Path], timing_files: Iterable[str | Path]) -> pd.DataFrame:
    """One row per training run: model, dataset, variant, seed, wall_seconds, train_tokens."""
    seconds = {}
    for path in timing_files:
        name = Path(path).stem  # {model}-{dataset}-{variant}-seed{seed}
        seconds[name] = float(pd.read_csv(path, sep="\t")["s"].iloc[0])
    rows = []
    for path in run_summaries:
        cell = parse_run_path(path)
        summary = json.loads(Path(path).read_text())
        key = f"{cell['model']}-{cell['dataset']}-{cell['variant']}-seed{cell['seed']}"
        if key not in seconds:
            raise ValueError(f"no timing record for run {key}")
        rows.append({**cell, "wall_seconds": seconds[key], "train_tokens": summary.get("train_tokens"),
                     "steps": summary.get("steps")})
    return pd.DataFrame(rows).sort_values(["model", "dataset", "variant", "seed"]).reset_index(drop=True)


def pipeline_ratios(costs: pd.DataFrame) -> pd.DataFrame:
    """Per (model, dataset, seed): SCALe-SFT time over the time of SFT followed by GRPO."""
    wide = costs.pivot_table(index=["model", "dataset", "seed"], columns="variant", values="wall_seconds")
    ratios = (wide["scale_sft"] / (wide["sft"] + wide["grpo"])).rename("scale_sft_over_sft_plus_grpo")
    return ratios.reset_index()


def write_cost(run_summaries, timing_files, out_csv) -> pd.DataFrame:
    costs = cost_table(run_summaries, timing_files)
    table = costs.merge(pipeline_ratios(costs), on=["model", "dataset", "seed"], how="left")
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_csv, index=False, float_format="%.4f")
    return table

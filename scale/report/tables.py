"""Tables 1–5 from ``metrics.json`` files, the first three beside the paper's reported values.

Table 1: accuracy (%) of base, sft, scale_sft, grpo, scale_grpo.
Table 2: invalid-output rate (%) of sft, scale_sft, grpo, scale_grpo.
Table 3: the fixed-weight ablation, accuracy of sft, sft_fw, scale_sft, grpo_fw, scale_grpo.
Table 4 (beyond the paper): accuracy and invalid-output rate of sft, scale_sft, auto_sft, grpo, scale_grpo,
auto_grpo, with the online-weighted pair tested against SCALe's hand schedule.
Table 5 (beyond the paper): accuracy and invalid-output rate of sft, sample_sft, dft_sft, sft_fw, scale_sft,
auto_sft, each tested against SFT and against SCALe-SFT (in its CSV too).

Accuracy tables carry ``chance_uniform`` and ``chance_majority`` per dataset
when ``data/{dataset}/chance.json`` files are given: what guessing scores, the
floor that makes a small model's numbers readable.

Each cell is the mean over seeds (``{variant}_std`` beside it, the sample
standard deviation, empty with one seed). The paper's value exists only for
the paper config's model names; elsewhere it stays empty, never zero.
"""

from __future__ import annotations

import json
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import Iterable

import pandas as pd

from scale.layout import parse_eval_path
from scale.report import TABLES


def collect_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per metrics.json: model, dataset, variant, seed, and its numbers."""
    rows = []
    for path in paths:
        metrics = json.loads(Path(path).read_text())
        rows.append({**parse_eval_path(path), "accuracy": metrics["accuracy"],
                     "invalid_rate": metrics["invalid_rate"], "n": metrics["n"], "path": str(path)})
    return pd.DataFrame(rows)


def reference(table: str) -> pd.DataFrame:
    """The paper's values of a table (no rows for a table the paper does not have: Table 4)."""
    path = resources.files("scale").joinpath(f"reference/{table}.csv")
    if not path.is_file():
        return pd.DataFrame(columns=["model", "dataset"])
    return pd.read_csv(StringIO(path.read_text()))


def build_table(metrics: pd.DataFrame, table: str) -> pd.DataFrame:
    """Wide table: model, dataset, then ``{variant}`` (mean), ``{variant}_std``, ``{variant}_seeds``."""
    spec = TABLES[table]
    chosen = metrics[metrics["variant"].isin(spec["variants"])]
    missing = set(spec["variants"]) - set(chosen["variant"])
    if missing:
        raise ValueError(f"{table} needs every cell; no metrics for variants {sorted(missing)}")
    grouped = chosen.groupby(["model", "dataset", "variant"])[spec["metric"]]
    summary = grouped.agg(["mean", "std", "count"]).reset_index()
    wide = summary.pivot(index=["model", "dataset"], columns="variant")
    out = pd.DataFrame(index=wide.index)
    invalid = chosen.groupby(["model", "dataset", "variant"])["invalid_rate"].mean().unstack("variant")
    for variant in spec["variants"]:
        out[variant] = wide[("mean", variant)]
        out[f"{variant}_std"] = wide[("std", variant)]
        out[f"{variant}_seeds"] = wide[("count", variant)].astype("Int64")
        if spec.get("with_invalid"):
            out[f"{variant}_invalid"] = invalid[variant]
    if out[spec["variants"]].isna().any().any():
        holes = out[out[spec["variants"]].isna().any(axis=1)].index.tolist()
        raise ValueError(f"{table} has empty cells for rows {holes}")
    return out.reset_index()


def with_paper(table_frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Adds ``paper_{variant}`` and ``delta_{variant}`` (ours − paper); empty where the paper has no row."""
    ref = reference(table).set_index(["model", "dataset"])
    out = table_frame.copy()
    for variant in TABLES[table]["variants"]:
        paper = [ref[variant].get((m, d)) if variant in ref.columns else None
                 for m, d in zip(out["model"], out["dataset"])]
        out[f"paper_{variant}"] = pd.to_numeric(pd.Series(paper, index=out.index, dtype="object"), errors="coerce")
        out[f"delta_{variant}"] = out[variant] - out[f"paper_{variant}"]
    return out


def with_chance(table_frame: pd.DataFrame, chance_paths: Iterable[str | Path]) -> pd.DataFrame:
    """Adds ``chance_uniform`` and ``chance_majority`` from ``{dataset}/chance.json`` files."""
    levels = {Path(p).parent.name: json.loads(Path(p).read_text()) for p in chance_paths}
    missing = set(table_frame["dataset"]) - set(levels)
    if missing:
        raise ValueError(f"no chance.json for datasets {sorted(missing)}")
    out = table_frame.copy()
    for kind in ("uniform", "majority"):
        out[f"chance_{kind}"] = [levels[d][kind] for d in out["dataset"]]
    return out


def _cell(mean, std, paper, delta) -> str:
    text = f"{mean:.2f}" if pd.isna(std) else f"{mean:.2f} ± {std:.2f}"
    if not pd.isna(paper):
        text += f" ({paper:.2f}, {delta:+.2f})"
    return text


def markdown(frame: pd.DataFrame, table: str, significance: pd.DataFrame | None = None) -> str:
    spec = TABLES[table]
    lines = [f"## {spec['title']}", "",
             "Ours: mean ± std over seeds; in brackets the paper's value and our difference, where the paper "
             "has this model" + ("; after the semicolon the mean invalid-output rate." if spec.get("with_invalid")
                                 else "."), ""]
    chance = "chance_uniform" in frame.columns
    header = ["model", "dataset"] + (["chance (uniform / majority)"] if chance else []) + spec["variants"]
    sig_columns = []
    # the paired tests compare accuracies: each accuracy table shows its own
    if spec.get("significance") and significance is not None and not significance.empty:
        sig_columns = [c for c in spec["significance"] if c in set(significance["comparison"])]
        header += [f"{c} Δ [95% CI], p" for c in sig_columns]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in frame.iterrows():
        cells = [row["model"], row["dataset"]]
        if chance:
            cells.append(f"{row['chance_uniform']:.2f} / {row['chance_majority']:.2f}")
        cells += [
            _cell(row[v], row[f"{v}_std"], row.get(f"paper_{v}"), row.get(f"delta_{v}"))
            + (f"; invalid {row[f'{v}_invalid']:.2f}" if spec.get("with_invalid") else "")
            for v in spec["variants"]
        ]
        for comparison in sig_columns:
            match = significance[(significance["model"] == row["model"]) & (significance["dataset"] == row["dataset"])
                                 & (significance["comparison"] == comparison)]
            if match.empty:
                cells.append("")
            else:
                m = match.iloc[0]
                interval = f"[{m['ci_low']:+.2f}, {m['ci_high']:+.2f}]"
                cells.append(f"{m['difference']:+.2f} {interval}, p={m['mcnemar_p']:.3g}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def with_significance(table_frame: pd.DataFrame, table: str, significance: pd.DataFrame | None) -> pd.DataFrame:
    """Adds ``{comparison}_difference`` (points) and ``{comparison}_p`` (McNemar) for each paired test the table
    names; empty where a row has no such test."""
    out = table_frame.copy()
    names = TABLES[table].get("significance", [])
    if significance is None or significance.empty or not names:
        return out
    tests = significance.set_index(["model", "dataset", "comparison"])
    for name in names:
        rows = pd.MultiIndex.from_arrays([out["model"], out["dataset"], [name] * len(out)])
        for column, source in (("difference", "difference"), ("p", "mcnemar_p")):
            out[f"{name}_{column}"] = tests[source].reindex(rows).to_numpy(dtype=float)
    return out


def write_table(metrics_paths, table: str, csv_path, md_path, significance_csv=None, chance_paths=()) -> pd.DataFrame:
    frame = with_paper(build_table(collect_metrics(metrics_paths), table), table)
    if chance_paths and TABLES[table]["metric"] == "accuracy":
        frame = with_chance(frame, chance_paths)
    significance = pd.read_csv(significance_csv) if significance_csv else None
    if TABLES[table].get("tests_in_csv"):  # Tables 1-4 keep the columns they have always had
        frame = with_significance(frame, table, significance)
    Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
    shown = frame.copy()
    for column in [c for c in shown.columns if c.endswith("_p")]:  # p-values to 3 significant digits, not 4 places
        shown[column] = [None if pd.isna(v) else f"{v:.3g}" for v in shown[column]]
    shown.to_csv(csv_path, index=False, float_format="%.4f")
    Path(md_path).write_text(markdown(frame, table, significance))
    return frame

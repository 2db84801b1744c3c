"""Figures, one idea each, as PNG: what a reader looks at before the tables.

* ``weight_schedule.png``: w_think and w_answer as logged during SCALe-SFT and FW runs.
* ``segment_ce.png``: think and answer cross-entropy over training, SFT vs SCALe-SFT, per row.
* ``accuracy.png`` / ``invalid_rate.png``: per model, dataset and variant, paper values marked.
* ``token_lengths.png``: think vs answer tokens of the training data (the imbalance) and of each
  variant's outputs (does SCALe make reasoning more concise?).
* ``cost.png``: wall time of each training run, and SCALe-SFT against SFT + GRPO.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from scale.layout import parse_run_path  # noqa: E402
from scale.report import FIGURES, TABLES  # noqa: E402
from scale.variants import REGISTRY, weighted  # noqa: E402

VARIANT_ORDER = [v.name for v in REGISTRY]
COLOURS = {v.name: v.colour for v in REGISTRY}
LABELS = {v.name: v.label for v in REGISTRY}


def _log(path) -> pd.DataFrame:
    return pd.DataFrame([json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()])


def _save(fig, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def weight_schedule(train_logs: list, out) -> list[str]:
    """Each weighted run's logged weights over training: SCALe's cosine, FW's constants and, beyond the paper,
    the online-weighted runs' weights beside them; returns the legend's labels."""
    runs = [(parse_run_path(p), _log(p)) for p in train_logs]
    runs = [(cell, log) for cell, log in runs if cell["variant"] in weighted() and "w_think" in log]
    fig, ax = plt.subplots(figsize=(7, 4))
    seen = set()
    for cell, log in runs:
        progress = log["step"] / log["step"].max()
        variant = cell["variant"]
        ax.plot(progress, log["w_think"], color=COLOURS[variant], alpha=0.7,
                label=f"w_think, {LABELS[variant]}" if ("t", variant) not in seen else None)
        ax.plot(progress, log["w_answer"], color=COLOURS[variant], alpha=0.7, linestyle="--",
                label=f"w_answer, {LABELS[variant]}" if ("a", variant) not in seen else None)
        seen |= {("t", variant), ("a", variant)}
    ax.set_xlabel("training progress (step / total steps)")
    ax.set_ylabel("segment weight")
    ax.set_title(f"Segment weights as logged during training ({len(runs)} runs)")
    ax.grid(alpha=0.3)
    labels = ax.get_legend_handles_labels()[1]
    if labels:
        ax.legend(fontsize=8)
    _save(fig, out)
    return labels


def segment_ce(train_logs: list, out) -> None:
    runs = [(parse_run_path(p), _log(p)) for p in train_logs]
    runs = [(c, log) for c, log in runs if c["variant"] in ("sft", "scale_sft") and c["seed"] == min(
        r["seed"] for r, _ in runs)]
    rows = sorted({(c["model"], c["dataset"]) for c, _ in runs})
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 2.6 * len(rows)), squeeze=False, sharex=False)
    for i, (model, dataset) in enumerate(rows):
        for j, segment in enumerate(("think_ce", "answer_ce")):
            ax = axes[i][j]
            for cell, log in runs:
                if (cell["model"], cell["dataset"]) == (model, dataset) and segment in log:
                    ax.plot(log["step"], log[segment], color=COLOURS[cell["variant"]], label=LABELS[cell["variant"]])
            ax.set_title(f"{model} / {dataset}: {segment.split('_')[0]} segment", fontsize=9)
            ax.set_ylabel("mean cross-entropy (nats/token)", fontsize=8)
            ax.set_xlabel("optimizer step", fontsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle("Think and answer cross-entropy during SFT: vanilla vs SCALe", y=1.0)
    fig.tight_layout()
    _save(fig, out)


def _grouped_bars(table: pd.DataFrame, variants: list[str], ylabel: str, title: str, out) -> None:
    rows = list(zip(table["model"], table["dataset"]))
    width = 0.8 / len(variants)
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(rows)), 4.5))
    for k, variant in enumerate(variants):
        offset = x - 0.4 + width * (k + 0.5)
        std = table.get(f"{variant}_std")
        ax.bar(offset, table[variant], width, color=COLOURS[variant], label=LABELS[variant],
               yerr=None if std is None or std.isna().all() else std.fillna(0), capsize=2)
        paper = table.get(f"paper_{variant}")
        if paper is not None and paper.notna().any():
            ax.scatter(offset, paper, marker="_", s=200, color="black", zorder=3,
                       label="paper" if k == 0 else None)
    ax.set_xticks(x, [f"{m}\n{d}" for m, d in rows], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(len(variants) + 1, 6), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    _save(fig, out)


def accuracy_bars(table1_csv, out) -> None:
    table = pd.read_csv(table1_csv)
    _grouped_bars(table, TABLES["table1"]["variants"], "accuracy (%)",
                  "Accuracy by model, dataset and variant (black ticks: the paper)", out)


def invalid_bars(table2_csv, out) -> None:
    table = pd.read_csv(table2_csv)
    _grouped_bars(table, TABLES["table2"]["variants"], "invalid outputs (%)",
                  "Invalid outputs (no </think> or no closed <answer> after it)", out)


def token_lengths(stats_files: list, metrics_files: list, out) -> None:
    from scale.layout import parse_eval_path

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    names, think, answer = [], [], []
    for path in stats_files:
        stats = json.loads(Path(path).read_text())
        names.append(f"{Path(path).parent.parent.name}\n({Path(path).stem} tokenizer)")
        think.append(stats["think_tokens"]["mean"])
        answer.append(stats["answer_tokens"]["mean"])
    x = np.arange(len(names))
    left.bar(x - 0.2, think, 0.4, label="think", color="#4c72b0")
    left.bar(x + 0.2, answer, 0.4, label="answer (from </think>)", color="#dd8452")
    for i, (t, a) in enumerate(zip(think, answer)):
        left.annotate(f"×{t / a:.0f}", (i, max(t, a)), ha="center", va="bottom", fontsize=8)
    left.set_xticks(x, names, fontsize=7)
    left.set_ylabel("mean tokens per training response")
    left.set_title("Training data: think vs answer length")
    left.legend(fontsize=8)
    frame = pd.DataFrame([{**parse_eval_path(p), **json.loads(Path(p).read_text())} for p in metrics_files])
    means = frame.groupby("variant")[["mean_think_tokens", "mean_answer_tokens"]].mean()
    order = [v for v in VARIANT_ORDER if v in means.index]
    x = np.arange(len(order))
    right.bar(x - 0.2, means.loc[order, "mean_think_tokens"], 0.4, label="think", color="#4c72b0")
    right.bar(x + 0.2, means.loc[order, "mean_answer_tokens"], 0.4, label="answer", color="#dd8452")
    right.set_xticks(x, [LABELS[v] for v in order], fontsize=8, rotation=25, ha="right")
    right.set_ylabel("mean generated tokens per test output")
    right.set_title("Model outputs on the test sets (all rows)")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
    _save(fig, out)


def cost_bars(cost_csv, out) -> None:
    costs = pd.read_csv(cost_csv)
    means = costs.groupby(["model", "dataset", "variant"])["wall_seconds"].mean().unstack("variant")
    order = [v for v in VARIANT_ORDER if v in means.columns]
    rows = list(means.index)
    width = 0.8 / len(order)
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(rows)), 4.5))
    for k, variant in enumerate(order):
        ax.bar(x - 0.4 + width * (k + 0.5), means[variant], width, color=COLOURS[variant], label=LABELS[variant])
    ratio = costs.groupby(["model", "dataset"])["scale_sft_over_sft_plus_grpo"].mean()
    for i, row in enumerate(rows):
        ax.annotate(f"SCALe-SFT / (SFT+GRPO) = {ratio.loc[row]:.2f}", (i, means.loc[row].max()),
                    ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [f"{m}\n{d}" for m, d in rows], fontsize=8)
    ax.set_ylabel("wall time of the training job (s)")
    ax.set_title("Training cost per run (GRPO time excludes its SFT parent)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(len(order), 6), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    _save(fig, out)


def draw_all(train_logs: list, table1_csv, table2_csv, stats_files: list, metrics_files: list, cost_csv,
             out_dir) -> list[Path]:
    """Every figure of ``FIGURES`` into ``out_dir``."""
    out = Path(out_dir)
    drawers = {
        "weight_schedule": lambda path: weight_schedule(train_logs, path),
        "segment_ce": lambda path: segment_ce(train_logs, path),
        "accuracy": lambda path: accuracy_bars(table1_csv, path),
        "invalid_rate": lambda path: invalid_bars(table2_csv, path),
        "token_lengths": lambda path: token_lengths(stats_files, metrics_files, path),
        "cost": lambda path: cost_bars(cost_csv, path),
    }
    assert tuple(drawers) == FIGURES
    for name in FIGURES:
        drawers[name](out / f"{name}.png")
    return [out / f"{name}.png" for name in FIGURES]

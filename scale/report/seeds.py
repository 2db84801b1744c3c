"""A grid over several seeds, summarised: each table as mean ± std, the paper's claims (and ours beyond it) as
paired tests pooled over seeds, what each SFT loss does to the think and answer segments over training, accuracy
per question type and, on synthetic data, whether the traces carry the answer.

Built by the rule ``seeds_summary`` (``{results}/seeds/summary.md`` beside its CSVs), which ``snakemake`` with no
target runs when ``seeds:`` lists several; the one-seed tables already show a mean over whatever seeds ran.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd

from scale.data import TEXT_DATASETS
from scale.layout import SEEDS_CSVS, parse_eval_path, parse_run_path
from scale.report import TABLES
from scale.report.claims import ALL_ROWS, BEYOND, claims_table
from scale.report.traces import accuracy_by_qtype, calculation_steps, trace_steps
from scale.variants import REGISTRY

# each CSV is written always, with a header alone where it has no rows
OUTPUTS = ("summary.md", *(f"{name}.csv" for name in SEEDS_CSVS))


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def mean_std(frame: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    out = frame[["model", "dataset"]].copy()
    for variant in variants:
        std = frame[f"{variant}_std"].fillna(0.0)
        out[variant] = [f"{m:.1f} ± {s:.1f}" for m, s in zip(frame[variant], std)]
    return out


def claims_markdown(claims: pd.DataFrame) -> str:
    shown = claims.assign(
        row=[ALL_ROWS if m == ALL_ROWS else f"{m} / {d}" for m, d in zip(claims["model"], claims["dataset"])],
        difference=[f"{d:+.1f}" for d in claims["difference"]],
        p=[f"{p:.3g}" for p in claims["mcnemar_p"]],
        discordant=[f"{a} / {b}" for a, b in zip(claims["only_baseline"], claims["only_treatment"])],
        holds=["yes" if h else "no" for h in claims["holds"]],
    )
    return markdown(shown[["claim", "row", "n_pairs", "difference", "discordant", "p", "holds"]])


def segment_curves(train_logs: Iterable[str | Path]) -> pd.DataFrame:
    """Each SFT variant's think and answer CE (the token means its runs log, whatever loss trained them) at the
    first log line and over the last five, averaged over seeds, per row: what each loss does to each segment."""
    rows = []
    for log in map(Path, train_logs):
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        if not lines or "think_ce" not in lines[0]:
            continue  # GRPO runs log rewards, not segment losses
        run, last = parse_run_path(log), lines[-5:]
        rows.append({"model": run["model"], "dataset": run["dataset"], "variant": run["variant"],
                     "think_first": lines[0]["think_ce"], "think_last": sum(x["think_ce"] for x in last) / len(last),
                     "answer_first": lines[0]["answer_ce"],
                     "answer_last": sum(x["answer_ce"] for x in last) / len(last)})
    columns = ["model", "dataset", "variant", "think_first", "think_last", "answer_first", "answer_last"]
    if not rows:
        return pd.DataFrame(columns=columns)
    order = {v.name: i for i, v in enumerate(REGISTRY)}
    frame = pd.DataFrame(rows).groupby(["model", "dataset", "variant"], as_index=False).mean(numeric_only=True)
    return frame.sort_values(["model", "dataset", "variant"],
                             key=lambda c: c.map(order) if c.name == "variant" else c).round(3)[columns]


def _significance_part(table: str, path: Path) -> list[str]:
    frame = pd.read_csv(path)
    shown = frame.assign(difference=[f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]" for d, lo, hi in
                                     zip(frame["difference"], frame["ci_low"], frame["ci_high"])],
                         p=[f"{p:.3g}" for p in frame["mcnemar_p"]],
                         discordant=[f"{a} / {b}" for a, b in zip(frame["only_baseline_correct"],
                                                                  frame["only_treatment_correct"])])
    return [f"## The paired tests beside {table}, pooled over seeds (difference in points [95% CI]; "
            "discordant: baseline only / treatment only)", "",
            markdown(shown[["model", "dataset", "comparison", "n_pairs", "difference", "discordant", "p"]]), ""]


# what the traces are checked against, per modality: the check, its heading, what its columns mean
_TEXT_TRACES = (calculation_steps, "## Do the traces carry the answer? Their calculations against the problem (%)",
                "Over the calculations an output writes before its checks. steps_right: calculations whose result is "
                "right; chain_right: outputs whose calculations are the problem's, in order, each result carried on; "
                "right_follow: right answers that are also what the last calculation gives.")
_PICTURE_TRACES = (trace_steps, "## Do the traces carry the answer? The first survey's counts against the picture (%)",
                   "Over the counts each question needs (colours, or shapes). steps_right: written counts that are "
                   "the picture's; always_one: what writing 1 scores on the same counts; all_steps_right: outputs "
                   "whose every needed count is right; right_follow: right answers that are also what the output's "
                   "own counts give.")


def _traces_part(predictions: list[str], tests: dict[str, str], synthetic: bool) -> tuple[pd.DataFrame, list[str]]:
    if not synthetic:
        return pd.DataFrame(columns=["dataset", "variant", "steps"]), []
    check, heading, explanation = _TEXT_TRACES if set(tests) <= set(TEXT_DATASETS) else _PICTURE_TRACES
    steps = check(predictions, tests)
    return steps, [heading, "", explanation, "", markdown(steps[steps["steps"] > 0]), ""]


def _claims(predictions: list[str], **which) -> pd.DataFrame:
    claims = claims_table(predictions, **which)
    return pd.DataFrame(columns=["model", "dataset", "claim"]) if claims.empty else claims


def summarise(predictions: Iterable[str | Path], tables: Iterable[str | Path], significance: Iterable[str | Path],
              train_logs: Iterable[str | Path], tests: dict[str, str], synthetic: bool, out_dir: str | Path,
              title: str = "The grid") -> str:
    """Write ``OUTPUTS`` into ``out_dir`` from a finished grid's files (each path names its cell or table) and
    return summary.md's text."""
    predictions = [str(p) for p in predictions]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seeds = sorted({cell["seed"] for cell in map(parse_eval_path, predictions) if cell["seed"] is not None})
    parts = [f"# {title} over seeds {', '.join(map(str, seeds))}", ""]
    for path in map(Path, tables):
        spec = TABLES[path.stem]
        parts += [f"## {spec['title']}, mean ± std over the seeds", "",
                  markdown(mean_std(pd.read_csv(path), spec["variants"])), ""]
    claims = _claims(predictions)
    claims.to_csv(out / "claims.csv", index=False, float_format="%.6g")
    if not claims.empty:
        parts += ["## The paper's claims: paired McNemar tests pooled over seeds (discordant: baseline only / "
                  "treatment only)", "", claims_markdown(claims), ""]
    beyond = _claims(predictions, claims=BEYOND)
    beyond.to_csv(out / "claims_beyond.csv", index=False, float_format="%.6g")
    if not beyond.empty:
        parts += ["## Beyond the paper: each variant against its baseline (the online-weighted pair against "
                  "SCALe's schedule; per-sample means and DFT against SFT), pooled over seeds", "",
                  claims_markdown(beyond), ""]
    for path in map(Path, significance):
        parts += _significance_part(path.stem.removeprefix("significance_"), path)
    curves = segment_curves(train_logs)
    curves.to_csv(out / "segment_curves.csv", index=False)
    if not curves.empty:
        parts += ["## Segment losses over training: think and answer CE (token means) at the first log line and "
                  "over the last five, mean over seeds", "", markdown(curves), ""]
    by_qtype = accuracy_by_qtype(predictions)
    by_qtype.to_csv(out / "qtypes.csv", index=False)
    parts += ["## Accuracy (%) per question type, pooled over models and seeds", "",
              markdown(by_qtype.pivot(index=["dataset", "qtype"], columns="variant", values="accuracy")
                       .reindex(columns=[v.name for v in REGISTRY if v.name in set(by_qtype["variant"])])
                       .reset_index()), ""]
    steps, traces = _traces_part(predictions, tests, synthetic)
    steps.to_csv(out / "traces.csv", index=False)
    text = "\n".join(parts + traces)
    (out / "summary.md").write_text(text)
    return text

"""The embedded default over several seeds: Tables 1 and 2 as mean ± std, and the paper's claims tested.

    python benchmarks/bench_seeds.py [--seeds 0 1 2] [--cores 2] [--results-dir results/seeds]
    python benchmarks/bench_seeds.py --configfile configs/text.yaml --results-dir results/text_seeds
    python benchmarks/bench_seeds.py --tables table4 --results-dir results/seeds_table4   (the adaptive rows only)
    python benchmarks/bench_seeds.py --tables table5 --results-dir results/seeds_table5   (the alternatives rows)
    (about 45 minutes for three seeds on a 2-core machine; not part of the default run nor of CI)

Runs the default config's grid through Snakemake with ``seeds`` and ``results_dir`` overridden by
an overlay config written beside the results (Base is warmed up once per model; every SFT and GRPO run and its
evaluation once per seed), then
writes ``{results_dir}/seeds.md``: Table 1 and Table 2 as mean ± sample std over the seeds,
``scale.report.claims``' paired tests pooled over seeds, per row and over all rows, accuracy per
question type (``qtypes.csv``) and, on synthetic data, whether the counts the traces' survey writes are right and
the right answers follow from them (``scale.report.traces``, ``traces.csv``). Pointing
``--results-dir`` at a finished one-seed ``results`` reuses its seed-0 runs; its tables then become
the several-seed tables.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from scale.config import load_config
from scale.data import TEXT_DATASETS
from scale.report import TABLES
from scale.report.claims import ALL_ROWS, BEYOND, claims_table
from scale.report.traces import accuracy_by_qtype, calculation_steps, trace_steps
from scale.variants import REGISTRY

REPO = Path(__file__).resolve().parents[1]


def mean_std(frame: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    out = frame[["model", "dataset"]].copy()
    for variant in variants:
        std = frame[f"{variant}_std"].fillna(0.0)
        out[variant] = [f"{m:.1f} ± {s:.1f}" for m, s in zip(frame[variant], std)]
    return out


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def claims_markdown(claims: pd.DataFrame) -> str:
    shown = claims.assign(
        row=[ALL_ROWS if m == ALL_ROWS else f"{m} / {d}" for m, d in zip(claims["model"], claims["dataset"])],
        difference=[f"{d:+.1f}" for d in claims["difference"]],
        p=[f"{p:.3g}" for p in claims["mcnemar_p"]],
        discordant=[f"{a} / {b}" for a, b in zip(claims["only_baseline"], claims["only_treatment"])],
        holds=["yes" if h else "no" for h in claims["holds"]],
    )
    return markdown(shown[["claim", "row", "n_pairs", "difference", "discordant", "p", "holds"]])


def segment_curves(results: Path, seeds: list[int]) -> pd.DataFrame:
    """Each SFT variant's think and answer CE (the token means its runs log, whatever loss trained them) at the
    first log line and over the last five, averaged over seeds, per dataset: what each loss does to each
    segment over training."""
    rows = []
    for log in sorted(results.glob("runs/*/*/*/seed*/train_log.jsonl")):
        model, dataset, variant, seed = log.parts[-5:-1]
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        if int(seed.removeprefix("seed")) not in seeds or not lines or "think_ce" not in lines[0]:
            continue
        last = lines[-5:]
        rows.append({"model": model, "dataset": dataset, "variant": variant,
                     "think_first": lines[0]["think_ce"], "think_last": sum(x["think_ce"] for x in last) / len(last),
                     "answer_first": lines[0]["answer_ce"],
                     "answer_last": sum(x["answer_ce"] for x in last) / len(last)})
    if not rows:
        return pd.DataFrame()
    order = {v.name: i for i, v in enumerate(REGISTRY)}
    frame = pd.DataFrame(rows).groupby(["model", "dataset", "variant"], as_index=False).mean(numeric_only=True)
    return frame.sort_values(["model", "dataset", "variant"], key=lambda c: c.map(order) if c.name == "variant"
                             else c).round(3)


def run_grid(results: Path, seeds: list[int], configfile: Path, cores: str, tables: list[str]) -> None:
    overlay = results / "seeds_config.yaml"  # --config would pass the seeds as strings
    # relative to the repository when inside it: Snakemake turns a target inside its working directory into a
    # relative path, which an absolute results_dir's outputs never match, so an existing table counted as done
    folder = os.path.relpath(results, REPO) if results.resolve().is_relative_to(REPO) else str(results)
    overlay.write_text(yaml.safe_dump({"seeds": seeds, "results_dir": folder}))
    targets = [f"{folder}/{t}.csv" for t in tables]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # jobs run this python
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "--cores", str(cores),
                    "--configfile", str(configfile.resolve()), str(overlay)], check=True, cwd=REPO,
                   env={**os.environ, "PATH": path})


def summarise(results: Path, seeds: list[int], config: dict, config_name: str = "The embedded default") -> str:
    """``seeds.md`` and its CSVs from a finished grid's tables and predictions."""
    predictions = sorted((results / "eval").glob("*/*/base/predictions.jsonl"))
    predictions += [p for s in seeds for p in sorted((results / "eval").glob(f"*/*/*/seed{s}/predictions.jsonl"))]
    claims = claims_table(predictions)
    claims.to_csv(results / "claims.csv", index=False, float_format="%.6g")
    parts = [f"# {config_name} over seeds {', '.join(map(str, seeds))}", ""]
    for table in TABLES:
        if (results / f"{table}.csv").is_file():
            frame = pd.read_csv(results / f"{table}.csv")
            parts += [f"## {TABLES[table]['title']}, mean ± std over the seeds", "",
                      markdown(mean_std(frame, TABLES[table]["variants"])), ""]
    if not claims.empty:
        parts += ["## The paper's claims: paired McNemar tests pooled over seeds (discordant: baseline only / "
                  "treatment only)", "", claims_markdown(claims), ""]
    beyond = claims_table(predictions, claims=BEYOND)
    if not beyond.empty:
        beyond.to_csv(results / "claims_beyond.csv", index=False, float_format="%.6g")
        parts += ["## Beyond the paper: each variant against its baseline (the online-weighted pair against "
                  "SCALe's schedule; per-sample means and DFT against SFT), pooled over seeds", "",
                  claims_markdown(beyond), ""]
    for table in TABLES:
        tested = results / f"significance_{table}.csv"
        if table != "table1" and (results / f"{table}.csv").is_file() and tested.is_file():
            frame = pd.read_csv(tested)
            shown = frame.assign(difference=[f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]" for d, lo, hi in
                                             zip(frame["difference"], frame["ci_low"], frame["ci_high"])],
                                 p=[f"{p:.3g}" for p in frame["mcnemar_p"]],
                                 discordant=[f"{a} / {b}" for a, b in zip(frame["only_baseline_correct"],
                                                                          frame["only_treatment_correct"])])
            parts += [f"## The paired tests beside {table}, pooled over seeds (difference in points [95% CI]; "
                      "discordant: baseline only / treatment only)", "",
                      markdown(shown[["model", "dataset", "comparison", "n_pairs", "difference", "discordant",
                                      "p"]]), ""]
    curves = segment_curves(results, seeds)
    if not curves.empty:
        curves.to_csv(results / "segment_curves.csv", index=False)
        parts += ["## Segment losses over training: think and answer CE (token means) at the first log line and "
                  "over the last five, mean over seeds", "", markdown(curves), ""]
    by_qtype = accuracy_by_qtype(predictions)
    by_qtype.to_csv(results / "qtypes.csv", index=False)
    parts += ["## Accuracy (%) per question type, pooled over models and seeds", "",
              markdown(by_qtype.pivot(index=["dataset", "qtype"], columns="variant", values="accuracy")
                       .reindex(columns=[v.name for v in REGISTRY if v.name in set(by_qtype["variant"])])
                       .reset_index()), ""]
    tests = {d: results / "data" / d / "test.jsonl" for d in config["data"]["datasets"]}
    if config["data"]["source"] == "synthetic" and set(tests) <= set(TEXT_DATASETS):
        steps = calculation_steps(predictions, tests)
        steps.to_csv(results / "traces.csv", index=False)
        parts += ["## Do the traces carry the answer? Their calculations against the problem (%)", "",
                  "Over the calculations an output writes before its checks. steps_right: calculations whose "
                  "result is right; chain_right: outputs whose calculations are the problem's, in order, each "
                  "result carried on; right_follow: right answers that are also what the last calculation gives.",
                  "", markdown(steps[steps["steps"] > 0]), ""]
    elif config["data"]["source"] == "synthetic":
        steps = trace_steps(predictions, tests)
        steps.to_csv(results / "traces.csv", index=False)
        parts += ["## Do the traces carry the answer? The first survey's counts against the picture (%)", "",
                  "Over the counts each question needs (colours, or shapes). steps_right: written counts that are "
                  "the picture's; always_one: what writing 1 scores on the same counts; all_steps_right: "
                  "outputs whose every needed count is right; right_follow: right answers that are also what "
                  "the output's own counts give.", "",
                  markdown(steps[steps["steps"] > 0]), ""]
    text = "\n".join(parts)
    (results / "seeds.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cores", default="all")
    parser.add_argument("--results-dir", default="results/seeds", help="relative to the repository")
    parser.add_argument("--configfile", default=str(REPO / "config.yaml"))
    parser.add_argument("--summary-only", action="store_true", help="rewrite seeds.md from a finished grid")
    parser.add_argument("--tables", nargs="+", default=["table1", "table2"], choices=list(TABLES),
                        help="the tables to build (table4: the online-weighted pair, table5: the other SFT "
                             "losses, each with what it is tested against)")
    args = parser.parse_args()
    results = Path(args.results_dir) if Path(args.results_dir).is_absolute() else REPO / args.results_dir
    results.mkdir(parents=True, exist_ok=True)
    if not args.summary_only:
        run_grid(results, args.seeds, Path(args.configfile), args.cores, args.tables)
    print(summarise(results, args.seeds, load_config(args.configfile), Path(args.configfile).name))


if __name__ == "__main__":
    main()

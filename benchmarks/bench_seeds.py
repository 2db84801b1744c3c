"""A config's grid over several seeds in a results folder of its own: the rule ``seeds_summary``, or some tables.

    python benchmarks/bench_seeds.py [--seeds 0 1 2] [--cores 2] [--results-dir results/seeds]
    python benchmarks/bench_seeds.py --configfile configs/text.yaml --results-dir results/text_seeds
    python benchmarks/bench_seeds.py --tables table4 --results-dir results/seeds_table4   (the adaptive rows only)
    python benchmarks/bench_seeds.py --tables table5 --results-dir results/seeds_table5   (the alternatives rows)
    (about 45 minutes a seed on a 2-core machine for the default's Tables 1 and 2; not part of CI)

The summary is a rule's output: ``snakemake`` with no target writes ``{results_dir}/seeds/summary.md`` and its
CSVs (``scale.report.seeds``) when ``seeds:`` lists several. This wrapper saves writing the overlay config: it
sets ``seeds`` and ``results_dir`` in one beside the results and asks Snakemake for that summary. ``--tables``
builds only those tables' runs (Table 4 or 5 alone, without Table 1's GRPO runs) and summarises them with the
same function. Pointing ``--results-dir`` at a finished one-seed ``results`` reuses its seed-0 runs.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

from scale import grid, layout
from scale.config import load_config
from scale.report import TABLES
from scale.report.seeds import summarise

REPO = Path(__file__).resolve().parents[1]


def snakemake(targets: list[str], configfile: Path, overlay: Path, cores: str) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # jobs run this python
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "--cores", str(cores),
                    "--configfile", str(configfile.resolve()), str(overlay)], check=True, cwd=REPO,
                   env={**os.environ, "PATH": path})


def summarise_tables(config: dict, tables: list[str], name: str) -> str:
    """The rule's summary over ``tables`` only: their cells' predictions, runs and paired tests."""
    results = config["results_dir"]
    cells = {metrics.rsplit("/", 1)[0] for table in tables for metrics in grid.table_metrics(config, table)}
    predictions = [p for p in grid.all_predictions(config) if p.rsplit("/", 1)[0] in cells]
    variants = {v for table in tables for v in TABLES[table]["variants"]}
    logs = [log for log in grid.run_files(config, layout.train_log)
            if layout.parse_run_path(log)["variant"] in variants]
    significance = [layout.significance_file(results, t) for t in tables
                    if t != "table1" and t in grid.tested_tables(config)]
    return summarise(predictions, [layout.table_file(results, t, "csv") for t in tables], significance, logs,
                     {d: layout.data_file(results, d, "test") for d in config["data"]["datasets"]},
                     config["data"]["source"] == "synthetic", layout.seeds_file(results, ""), name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cores", default="all")
    parser.add_argument("--results-dir", default="results/seeds", help="relative to the repository")
    parser.add_argument("--configfile", default=str(REPO / "config.yaml"))
    parser.add_argument("--tables", nargs="+", choices=list(TABLES),
                        help="only these tables' runs (table4: the online-weighted pair, table5: the other SFT "
                             "losses, each with what it is tested against); default: the whole grid")
    args = parser.parse_args()
    results = Path(args.results_dir) if Path(args.results_dir).is_absolute() else REPO / args.results_dir
    results.mkdir(parents=True, exist_ok=True)
    # relative to the repository when inside it: Snakemake turns a target inside its working directory into a
    # relative path, which an absolute results_dir's outputs never match, so an existing table counted as done
    folder = os.path.relpath(results, REPO) if results.resolve().is_relative_to(REPO) else str(results)
    overlay = results / "seeds_config.yaml"  # --config would pass the seeds as strings
    overlay.write_text(yaml.safe_dump({"seeds": args.seeds, "results_dir": folder}))
    os.chdir(REPO)
    if not args.tables:
        snakemake([layout.seeds_file(folder, "summary.md")], Path(args.configfile), overlay, args.cores)
        print((results / "seeds" / "summary.md").read_text())
        return
    snakemake([layout.table_file(folder, t, "csv") for t in args.tables], Path(args.configfile), overlay, args.cores)
    config = {**load_config(args.configfile), "seeds": args.seeds, "results_dir": folder}
    print(summarise_tables(config, args.tables, Path(args.configfile).name))


if __name__ == "__main__":
    main()

"""``scale`` commands that build the report from finished cells: the tables, the paired tests beside them, the
cost table, the figures, the qualitative examples and the report page. Kept beside ``scale.cli``, which registers
them (as ``scale.cli_assembly``'s), so that each module holds one stage's commands and their options."""

from __future__ import annotations

from pathlib import Path


def cmd_table(args) -> None:
    from scale.report.tables import write_table

    frame = write_table(args.metrics, args.table, args.csv, args.md, args.significance, args.chance)
    print(f"wrote {args.csv} and {args.md}: {len(frame)} rows")


def cmd_significance(args) -> None:
    from scale.report.significance import write_significance

    frame = write_significance(args.predictions, args.out, args.bootstrap, args.table)
    print(f"wrote {args.out}: {len(frame)} comparisons")


def cmd_cost(args) -> None:
    from scale.report.cost import write_cost

    frame = write_cost(args.runs, args.timings, args.out)
    print(f"wrote {args.out}: {len(frame)} runs")


def cmd_figures(args) -> None:
    from scale.report import figures

    drawn = figures.draw_all(args.train_logs, args.table1, args.table2, args.stats, args.metrics, args.cost,
                             args.out_dir)
    print(f"wrote {len(drawn)} figures to {args.out_dir}")


def cmd_qualitative(args) -> None:
    from scale.report.qualitative import qualitative_markdown

    tests = dict(item.split("=", 1) for item in args.test)
    Path(args.out).write_text(qualitative_markdown(args.predictions, tests, per_row=args.per_row))
    print(f"wrote {args.out}")


def cmd_report(args) -> None:
    from scale.config import load_config
    from scale.report.document import report_markdown

    extra = dict(item.split("=", 1) for item in args.files)
    text = report_markdown(args.results_dir, load_config(args.config) if args.config else args.spec,
                           args.tables, args.figures, extra)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


def cmd_seeds_summary(args) -> None:
    from scale.report.seeds import OUTPUTS, summarise

    tests = dict(item.split("=", 1) for item in args.test)
    summarise(args.predictions, args.tables, args.significance, args.train_logs, tests, args.synthetic,
              args.out_dir, args.title)
    print(f"wrote {', '.join(OUTPUTS)} to {args.out_dir}")


def add_commands(command, _json) -> None:
    """Tables, paired tests, cost, figures, qualitative examples and the report page."""
    from scale.report import TABLES

    sub = command("significance", cmd_significance,
                  "Paired tests per row, those a table names (Table 1: SCALe-SFT vs SFT, SCALe-GRPO vs GRPO; "
                  "Table 4: the online-weighted pair vs SCALe's; Table 5: other SFT losses vs SFT and SCALe-SFT).")
    sub.add_argument("--table", default="table1", choices=[t for t in TABLES if TABLES[t].get("significance")],
                     help="whose paired tests (default table1)")
    sub.add_argument("--predictions", nargs="+", required=True, help="predictions.jsonl files (paths encode cells)")
    sub.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% interval")
    sub.add_argument("--out", required=True, help="significance.csv")

    sub = command("cost", cmd_cost, "Wall time and tokens of each training run, and SCALe-SFT / (SFT + GRPO).")
    sub.add_argument("--runs", nargs="+", required=True, help="run.json files")
    sub.add_argument("--timings", nargs="+", required=True,
                     help="the training rules' timing records (their benchmark: TSV files)")
    sub.add_argument("--out", required=True, help="cost.csv")

    sub = command("figures", cmd_figures, "Draw the report's figures (PNG).")
    sub.add_argument("--train-logs", nargs="+", required=True, help="train_log.jsonl files of the SFT runs")
    sub.add_argument("--table1", required=True, help="table1.csv")
    sub.add_argument("--table2", required=True, help="table2.csv")
    sub.add_argument("--stats", nargs="+", required=True, help="data stats.json files")
    sub.add_argument("--metrics", nargs="+", required=True, help="metrics.json files (paths encode the cell)")
    sub.add_argument("--cost", required=True, help="cost.csv")
    sub.add_argument("--out-dir", required=True, help="folder for the PNG files")

    sub = command("qualitative", cmd_qualitative, "Examples where SFT and SCALe-SFT disagree.")
    sub.add_argument("--predictions", nargs="+", required=True, help="predictions.jsonl files (paths encode cells)")
    sub.add_argument("--test", nargs="+", required=True, help="DATASET=path/to/test.jsonl")
    sub.add_argument("--per-row", type=int, default=3, help="examples per model and dataset")
    sub.add_argument("--out", required=True, help="qualitative.md")

    sub = command("seeds-summary", cmd_seeds_summary,
                  "Summarise a grid over seeds: tables as mean ± std, the claims pooled over seeds, segment losses, "
                  "accuracy per question type, the traces' steps (summary.md and its CSVs).")
    sub.add_argument("--predictions", nargs="+", required=True, help="predictions.jsonl files (paths encode cells)")
    sub.add_argument("--tables", nargs="+", required=True, help="table CSV files ({table}.csv)")
    sub.add_argument("--significance", nargs="*", default=[],
                     help="significance_{table}.csv files of the tables beyond Table 1, shown pooled over seeds")
    sub.add_argument("--train-logs", nargs="*", default=[], help="train_log.jsonl files of the runs")
    sub.add_argument("--test", nargs="+", required=True, help="DATASET=path/to/test.jsonl")
    sub.add_argument("--synthetic", action="store_true", help="synthetic data: check the traces' steps")
    sub.add_argument("--title", default="The grid", help="the summary's heading (the config's name)")
    sub.add_argument("--out-dir", required=True, help="folder for summary.md and its CSVs")

    sub = command("report", cmd_report, "Write report.md linking tables, figures and files.")
    sub.add_argument("--results-dir", required=True, help="the config's results_dir (links are relative to it)")
    group = sub.add_mutually_exclusive_group(required=True)
    group.add_argument("--config", help="the config file used")
    group.add_argument("--spec", type=_json, help="the config used, as JSON")
    sub.add_argument("--tables", nargs="+", required=True, help="table markdown files")
    sub.add_argument("--figures", nargs="+", required=True, help="PNG files to show")
    sub.add_argument("--files", nargs="*", default=[], help="NAME=path entries to link")
    sub.add_argument("--out", required=True, help="report.md")

    sub = command("table", cmd_table, "Build one of Tables 1-5 (CSV and markdown) from metrics.json files.")
    sub.add_argument("--table", required=True, choices=list(TABLES),
                     help="table1: accuracy; table2: invalid outputs; table3: the fixed-weight ablation; "
                     "table4: the online-weighted pair; table5: other SFT losses (4 and 5 beyond the paper)")
    sub.add_argument("--metrics", nargs="+", required=True, help="metrics.json files (paths encode the cell)")
    sub.add_argument("--significance", help="significance.csv to show beside the table")
    sub.add_argument("--chance", nargs="*", default=[],
                     help="chance.json files, data/{dataset}/chance.json (accuracy tables show them)")
    sub.add_argument("--csv", required=True, help="CSV path")
    sub.add_argument("--md", required=True, help="markdown path")

"""The experiment grid a config asks for: which runs, which evaluated cells, which tables.

The Snakefile's target functions are thin wrappers over these, so the grid is
unit-tested here rather than only through dry runs.
"""

from __future__ import annotations

from typing import Iterable

from scale import layout
from scale.config import flagged_rows, model_datasets, variants_for
from scale.report import TABLES
from scale.variants import pair, runs_for


def trained_cells(config: dict) -> list[tuple[str, str, str, int]]:
    """(model, dataset, variant, seed) of every training run, in pipeline order per model."""
    return [
        (model, dataset, variant, seed)
        for model in config["models"]
        for variant in variants_for(config, model)
        for dataset in model_datasets(config, model)
        if runs_for(variant, config["models"][model], dataset)
        for seed in config["seeds"]
    ]


def rows(config: dict, models: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(model, dataset) of every row of Tables 1 and 2 (of ``models`` only, if given): each model on its datasets."""
    return [(m, d) for m in (models if models is not None else config["models"]) for d in model_datasets(config, m)]


def metrics_files(config: dict, variants: Iterable[str], models: Iterable[str] | None = None,
                  on_rows: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """metrics.json of every (model, dataset, variant, seed) cell of ``on_rows`` (default: every row, of
    ``models`` if given); ``base`` once per row."""
    results = config["results_dir"]
    files = []
    for model, dataset in on_rows if on_rows is not None else rows(config, models):
        for variant in variants:
            if variant == "base":
                files.append(layout.metrics_file(results, model, dataset, "base"))
            else:
                files += [layout.metrics_file(results, model, dataset, variant, s) for s in config["seeds"]]
    return files


def table_rows(config: dict, table: str) -> list[tuple[str, str]]:
    """The (model, dataset) rows of a table: every row, or those whose model sets the table's flag for it."""
    flag = TABLES[table].get("rows")
    return flagged_rows(config, flag) if flag else rows(config)


def tables(config: dict) -> list[str]:
    """Tables 1 and 2 always; Table 3 (the fixed-weight ablation), Table 4 (the online-weighted pair) and Table 5
    (the other SFT losses) when a model runs them."""
    return [table for table in TABLES if table_rows(config, table)]


def table_metrics(config: dict, table: str) -> list[str]:
    return metrics_files(config, TABLES[table]["variants"], on_rows=table_rows(config, table))


def all_metrics(config: dict) -> list[str]:
    results = config["results_dir"]
    return metrics_files(config, ["base"]) + [
        layout.metrics_file(results, m, d, v, s) for m, d, v, s in trained_cells(config)
    ]


def all_predictions(config: dict) -> list[str]:
    """predictions.jsonl of every evaluated cell (beside each of ``all_metrics``)."""
    results = config["results_dir"]
    return [layout.predictions_file(results, m, d, "base") for m, d in rows(config)] + [
        layout.predictions_file(results, m, d, v, s) for m, d, v, s in trained_cells(config)
    ]


def run_files(config: dict, file) -> list[str]:
    """``file(run_dir)`` (``layout.train_log``, ``layout.run_summary``) of every training run."""
    results = config["results_dir"]
    return [file(layout.run_dir(results, m, d, v, s)) for m, d, v, s in trained_cells(config)]


def train_timings(config: dict) -> list[str]:
    """The timing records of every training run (the rules' ``benchmark:``; cost.csv reads their times)."""
    results = config["results_dir"]
    return [layout.timing_file(results, "train", layout.run_name(m, d, v, s))
            for m, d, v, s in trained_cells(config)]


def comparison_predictions(config: dict, table: str = "table1") -> list[str]:
    """Predictions of every trained cell that the paired tests beside ``table`` compare (its ``significance``:
    Table 1's are the paper's, Table 4's the online-weighted pair against SCALe's, Table 5's each SFT loss against
    SFT and SCALe-SFT), on the table's rows."""
    compared = {variant for name in TABLES[table].get("significance", []) for variant in pair(name)}
    on_rows = set(table_rows(config, table))
    results = config["results_dir"]
    return [layout.predictions_file(results, m, d, v, s) for m, d, v, s in trained_cells(config)
            if v in compared and (m, d) in on_rows]


def tested_tables(config: dict) -> list[str]:
    """The tables of this grid with paired tests beside them (each has its significance file)."""
    return [table for table in tables(config) if TABLES[table].get("significance")]


def stats_files(config: dict) -> list[str]:
    """The think/answer token counts of each training set, with the first model's tokenizer: the imbalance is
    the data's, and the figure shows one bar per dataset (another tokenizer shifts both segments alike)."""
    first = next(iter(config["models"]))
    return [layout.stats_file(config["results_dir"], d, first) for d in config["data"]["datasets"]]


def all_targets(config: dict) -> list[str]:
    """What ``snakemake`` with no target builds: every table, the report, what each assembled VLM's Base
    perceives, and the several-seed summary when ``seeds`` lists several."""
    results = config["results_dir"]
    perception = [layout.perception_file(results, m) for m, entry in config["models"].items() if "assemble" in entry]
    summary = [layout.seeds_file(results, "summary.md")] if len(config["seeds"]) > 1 else []
    return [layout.table_file(results, t, "csv") for t in tables(config)] + [layout.report_file(results)] + (
        perception + summary)

"""The experiment grid a config asks for: which runs, which evaluated cells, which tables.

The Snakefile's target functions are thin wrappers over these, so the grid is
unit-tested here rather than only through dry runs.
"""

from __future__ import annotations

from typing import Iterable

from scale import layout
from scale.config import ablation_models, variants_for


def trained_cells(config: dict) -> list[tuple[str, str, str, int]]:
    """(model, dataset, variant, seed) of every training run, in pipeline order per model."""
    return [
        (model, dataset, variant, seed)
        for model in config["models"]
        for variant in variants_for(config, model)
        for dataset in config["data"]["datasets"]
        for seed in config["seeds"]
    ]


def metrics_files(config: dict, variants: Iterable[str], models: Iterable[str] | None = None) -> list[str]:
    """metrics.json of every (model, dataset, variant, seed) cell; ``base`` once per row."""
    results = config["results_dir"]
    files = []
    for model in models if models is not None else config["models"]:
        for dataset in config["data"]["datasets"]:
            for variant in variants:
                if variant == "base":
                    files.append(layout.metrics_file(results, model, dataset, "base"))
                else:
                    files += [layout.metrics_file(results, model, dataset, variant, s) for s in config["seeds"]]
    return files


def tables(config: dict) -> list[str]:
    """Tables 1 and 2 always; Table 3 (the fixed-weight ablation) when a model runs it."""
    return ["table1", "table2"] + (["table3"] if ablation_models(config) else [])


def table_metrics(config: dict, table: str) -> list[str]:
    from scale.report import TABLES

    models = ablation_models(config) if table == "table3" else None
    return metrics_files(config, TABLES[table]["variants"], models)


def all_metrics(config: dict) -> list[str]:
    results = config["results_dir"]
    return metrics_files(config, ["base"]) + [
        layout.metrics_file(results, m, d, v, s) for m, d, v, s in trained_cells(config)
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


def comparison_predictions(config: dict) -> list[str]:
    """Predictions of every trained cell that the significance tests pair (``significance.COMPARISONS``)."""
    from scale.report.significance import COMPARISONS

    compared = {variant for pair in COMPARISONS.values() for variant in pair}
    results = config["results_dir"]
    return [layout.predictions_file(results, m, d, v, s) for m, d, v, s in trained_cells(config) if v in compared]


def stats_files(config: dict) -> list[str]:
    """The think/answer token counts of each training set, with the first model's tokenizer: the imbalance is
    the data's, and the figure shows one bar per dataset (another tokenizer shifts both segments alike)."""
    first = next(iter(config["models"]))
    return [layout.stats_file(config["results_dir"], d, first) for d in config["data"]["datasets"]]


def all_targets(config: dict) -> list[str]:
    """What ``snakemake`` with no target builds: every table and the report."""
    results = config["results_dir"]
    return [layout.table_file(results, t, "csv") for t in tables(config)] + [layout.report_file(results)]

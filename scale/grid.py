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
    from scale.report.tables import TABLES

    models = ablation_models(config) if table == "table3" else None
    return metrics_files(config, TABLES[table]["variants"], models)


def all_metrics(config: dict) -> list[str]:
    results = config["results_dir"]
    return metrics_files(config, ["base"]) + [
        layout.metrics_file(results, m, d, v, s) for m, d, v, s in trained_cells(config)
    ]

"""Where every output lives under the config's ``results_dir``: one place for the Snakefile and the report.

::

    {R}/data/{dataset}/{split}.jsonl, images/{split}/, filter_report.json, stats.json
    {R}/hub/checkpoints/{model}/, hub/test_sets/{dataset}/   fetched on the login node (paper scale)
    {R}/models/{model}/init/                          tiny build (tiny configs only)
    {R}/models/{model}/base/model/                    warmed-up tiny base (train_log.jsonl, run.json beside)
    {R}/runs/{model}/{dataset}/{variant}/seed{seed}/  model/, train_log.jsonl, run.json
    {R}/eval/{model}/{dataset}/base/                  predictions.jsonl, metrics.json
    {R}/eval/{model}/{dataset}/{variant}/seed{seed}/  predictions.jsonl, metrics.json
    {R}/table1.csv …, figures/, report.md, logs/, benchmarks/
"""

from __future__ import annotations

import re
from pathlib import Path


def data_file(results: str, dataset: str, split: str) -> str:
    return f"{results}/data/{dataset}/{split}.jsonl"


def chance_file(results: str, dataset: str) -> str:
    return f"{results}/data/{dataset}/chance.json"


def images_dir(results: str, dataset: str, split: str) -> str:
    return f"{results}/data/{dataset}/images/{split}"


def checkpoint_dir(results: str, model: str) -> str:
    return f"{results}/hub/checkpoints/{model}"


def test_source_dir(results: str, dataset: str) -> str:
    return f"{results}/hub/test_sets/{dataset}"


def init_model_dir(results: str, model: str) -> str:
    return f"{results}/models/{model}/init"


def base_run_dir(results: str, model: str) -> str:
    return f"{results}/models/{model}/base"


def base_model_dir(results: str, model: str) -> str:
    return f"{base_run_dir(results, model)}/model"


def run_dir(results: str, model: str, dataset: str, variant: str, seed: int | str) -> str:
    return f"{results}/runs/{model}/{dataset}/{variant}/seed{seed}"


def eval_dir(results: str, model: str, dataset: str, variant: str, seed: int | str | None = None) -> str:
    if variant == "base":
        return f"{results}/eval/{model}/{dataset}/base"
    return f"{results}/eval/{model}/{dataset}/{variant}/seed{seed}"


def run_model_dir(results: str, model: str, dataset: str, variant: str, seed: int | str) -> str:
    return f"{run_dir(results, model, dataset, variant, seed)}/model"


def metrics_file(results: str, model: str, dataset: str, variant: str, seed: int | str | None = None) -> str:
    return f"{eval_dir(results, model, dataset, variant, seed)}/metrics.json"


_EVAL = re.compile(
    r"eval/(?P<model>[^/]+)/(?P<dataset>[^/]+)/(?P<variant>[^/]+)(?:/seed(?P<seed>\d+))?/(?:metrics|predictions)"
)


def parse_eval_path(path: str | Path) -> dict:
    """``{model, dataset, variant, seed}`` of an eval output path (seed None for base)."""
    match = _EVAL.search(str(path))
    if not match:
        raise ValueError(f"not an eval output path: {path}")
    found = match.groupdict()
    found["seed"] = int(found["seed"]) if found["seed"] is not None else None
    return found


_RUN = re.compile(r"runs/(?P<model>[^/]+)/(?P<dataset>[^/]+)/(?P<variant>[^/]+)/seed(?P<seed>\d+)")


def parse_run_path(path: str | Path) -> dict:
    match = _RUN.search(str(path))
    if not match:
        raise ValueError(f"not a run output path: {path}")
    found = match.groupdict()
    found["seed"] = int(found["seed"])
    return found

"""Where every output lives under the config's ``results_dir``: the one definition the rules, the report and
the tests use.

The rules call these functions with wildcards for arguments (``run_dir(R, "{model}", "{dataset}",
"{sft_variant}", "{seed}")`` is the pattern of every SFT run's folder); ``tests/test_layout.py`` checks
that every job a dry run of each shipped config plans writes exactly the paths these give.

::

    {R}/data/{dataset}/{split}.jsonl, images/{split}/, filter_report.json, chance.json, stats/{model}.json
    {R}/hub/checkpoints/{model}/, hub/test_sets/{dataset}/   fetched on the login node (paper scale)
    {R}/models/{model}/init/                          tiny build (tiny configs only)
    {R}/models/{model}/base/model/                    warmed-up tiny base (train_log.jsonl, run.json beside)
    {R}/models/{model}/captions/{split}.jsonl, images/ an assembled VLM's described pictures (align, probe)
    {R}/models/{model}/base/perception.json           what an assembled VLM's aligned base perceives
    {R}/runs/{model}/{dataset}/{variant}/seed{seed}/  model/, train_log.jsonl, run.json
    {R}/eval/{model}/{dataset}/base/                  predictions.jsonl, metrics.json
    {R}/eval/{model}/{dataset}/{variant}/seed{seed}/  predictions.jsonl, metrics.json
    {R}/table1.csv/.md …, significance.csv, cost.csv, qualitative.md, report.md, figures/{name}.png
    {R}/logs/{stage}/{name}.log, timings/{stage}/{name}.tsv (Snakemake's benchmark: records)
"""

from __future__ import annotations

import re
from pathlib import Path


def dataset_dir(results: str, dataset: str) -> str:
    return f"{results}/data/{dataset}"


def data_file(results: str, dataset: str, split: str) -> str:
    return f"{dataset_dir(results, dataset)}/{split}.jsonl"


def images_dir(results: str, dataset: str, split: str) -> str:
    return f"{dataset_dir(results, dataset)}/images/{split}"


def filter_report(results: str, dataset: str) -> str:
    return f"{dataset_dir(results, dataset)}/filter_report.json"


def chance_file(results: str, dataset: str) -> str:
    return f"{dataset_dir(results, dataset)}/chance.json"


def stats_file(results: str, dataset: str, model: str) -> str:
    return f"{dataset_dir(results, dataset)}/stats/{model}.json"


def checkpoint_dir(results: str, model: str) -> str:
    return f"{results}/hub/checkpoints/{model}"


def stand_in_dir(results: str, model: str) -> str:
    """A rehearsal's cold stand-in, as fetched; its warmed-up copy is the checkpoint (``checkpoint_dir``)."""
    return f"{results}/hub/stand_ins/{model}"


def test_source_dir(results: str, dataset: str) -> str:
    return f"{results}/hub/test_sets/{dataset}"


def init_model_dir(results: str, model: str) -> str:
    return f"{results}/models/{model}/init"


def base_run_dir(results: str, model: str) -> str:
    return f"{results}/models/{model}/base"


def base_model_dir(results: str, model: str) -> str:
    return f"{base_run_dir(results, model)}/model"


def captions_file(results: str, model: str, split: str) -> str:
    """Described pictures an assembled VLM is aligned on (``align``) or probed with (``probe``)."""
    return f"{results}/models/{model}/captions/{split}.jsonl"


def perception_file(results: str, model: str) -> str:
    """What an assembled VLM's Base perceives (``scale.eval.perception``)."""
    return f"{base_run_dir(results, model)}/perception.json"


def run_dir(results: str, model: str, dataset: str, variant: str, seed: int | str) -> str:
    return f"{results}/runs/{model}/{dataset}/{variant}/seed{seed}"


def run_model_dir(results: str, model: str, dataset: str, variant: str, seed: int | str) -> str:
    return f"{run_dir(results, model, dataset, variant, seed)}/model"


def train_log(run_folder: str) -> str:
    """A training run's log (a warm-up's or an SFT/GRPO run's folder)."""
    return f"{run_folder}/train_log.jsonl"


def run_summary(run_folder: str) -> str:
    return f"{run_folder}/run.json"


def run_name(model: str, dataset: str, variant: str, seed: int | str) -> str:
    """A run's name in log and benchmark file names."""
    return f"{model}-{dataset}-{variant}-seed{seed}"


def eval_dir(results: str, model: str, dataset: str, variant: str, seed: int | str | None = None) -> str:
    if variant == "base":
        return f"{results}/eval/{model}/{dataset}/base"
    return f"{results}/eval/{model}/{dataset}/{variant}/seed{seed}"


def predictions_file(results: str, model: str, dataset: str, variant: str, seed: int | str | None = None) -> str:
    return f"{eval_dir(results, model, dataset, variant, seed)}/predictions.jsonl"


def metrics_file(results: str, model: str, dataset: str, variant: str, seed: int | str | None = None) -> str:
    return f"{eval_dir(results, model, dataset, variant, seed)}/metrics.json"


def cell_file(results: str, cell: str, name: str) -> str:
    """A file of an evaluated cell named by its path under ``eval/`` (``{model}/{dataset}/…``)."""
    return f"{results}/eval/{cell}/{name}"


def table_file(results: str, table: str, suffix: str) -> str:
    return f"{results}/{table}.{suffix}"


def significance_file(results: str, table: str = "table1") -> str:
    """The paired tests shown beside ``table``: Table 1's (the paper's) in significance.csv, another's in its own."""
    return f"{results}/significance.csv" if table == "table1" else f"{results}/significance_{table}.csv"


# what the several-seed summary writes beside its summary.md (scale.report.seeds): each CSV always
SEEDS_CSVS = ("claims", "claims_beyond", "segment_curves", "qtypes", "traces")


def seeds_file(results: str, name: str) -> str:
    """A file of the several-seed summary: summary.md, or one of ``SEEDS_CSVS`` with its .csv."""
    return f"{results}/seeds/{name}"


def cost_file(results: str) -> str:
    return f"{results}/cost.csv"


def qualitative_file(results: str) -> str:
    return f"{results}/qualitative.md"


def report_file(results: str) -> str:
    return f"{results}/report.md"


def figure_file(results: str, name: str) -> str:
    return f"{results}/figures/{name}.png"


def log_file(results: str, stage: str, name: str) -> str:
    return f"{results}/logs/{stage}/{name}.log"


def timing_file(results: str, stage: str, name: str) -> str:
    """A job's timing record (what Snakemake's ``benchmark:`` directive writes: wall time, memory)."""
    return f"{results}/timings/{stage}/{name}.tsv"


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

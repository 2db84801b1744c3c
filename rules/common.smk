# Config validation and the path helpers every rule uses; logic lives in `scale`.
import json
import re
from pathlib import Path

from snakemake.utils import validate

from scale import config as scale_config
from scale import layout

validate(config, "../scale/schemas/config.schema.yaml")
scale_config.validate_config(config)

R = config["results_dir"]
MODELS = list(config["models"])
DATASETS = list(config["data"]["datasets"])
SEEDS = config["seeds"]
TINY = config["data"]["source"] == "synthetic"


def one_of(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    model=one_of(MODELS),
    dataset=one_of(DATASETS),
    split="train|test|warmup",
    seed=r"\d+",
    sft_variant="sft|scale_sft|sft_fw",
    grpo_variant="grpo|scale_grpo|grpo_fw",


def output_dir(wildcards, output):
    """The folder of a rule's first output (a param derived from the output, never hard-coded)."""
    return str(Path(output[0]).parent)


def as_json(value):
    """Params as sorted JSON: deterministic, so a dry run never plans spurious reruns."""
    return json.dumps(value, sort_keys=True)


def dataset_settings(wildcards):
    return as_json(config["data"]["datasets"][wildcards.dataset])


def tiny_sizes(wildcards):
    return as_json(config["models"][wildcards.model]["tiny"])


def corpus_files(wildcards):
    return [layout.data_file(R, d, s) for d in DATASETS for s in ("train", "warmup")]


def warmup_files(wildcards):
    return [layout.data_file(R, d, "warmup") for d in DATASETS]


def base_model_input(wildcards):
    """The base model directory as a file dependency (tiny builds), or nothing (a hub checkpoint)."""
    if scale_config.is_tiny(config, wildcards.model):
        return layout.base_model_dir(R, wildcards.model)
    return []


def base_model_location(wildcards):
    if scale_config.is_tiny(config, wildcards.model):
        return layout.base_model_dir(R, wildcards.model)
    return config["models"][wildcards.model]["checkpoint"]


def visionr1_annotation_files():
    from scale.data.visionr1 import ANNOTATION_FILES

    settings = config["data"]["visionr1"]
    names = settings.get("annotation_files", ANNOTATION_FILES)
    return [f"{settings['root']}/{name}" for name in names]


def visionr1_settings(wildcards):
    settings = dict(config["data"]["visionr1"])
    dataset = config["data"]["datasets"][wildcards.dataset]
    settings["subsets"] = dataset["subsets"]
    settings["min_kept_share"] = dataset.get("min_kept_share", 0.0)
    settings.pop("repo_id", None)
    return as_json(settings)


def test_source_settings(wildcards):
    return as_json(config["data"]["datasets"][wildcards.dataset]["test_source"])


def launcher(stage):
    """The command that starts `scale` for a training stage: `scale`, or e.g. `accelerate launch … -m scale.cli`."""
    return config[stage].get("launcher", "scale")


def train_file(wildcards):
    return layout.data_file(R, wildcards.dataset, "train")


def test_file(wildcards):
    return layout.data_file(R, wildcards.dataset, "test")


def sft_settings(wildcards):
    return as_json(scale_config.sft_spec(config, wildcards.sft_variant))


def grpo_settings(wildcards):
    return as_json(scale_config.grpo_spec(config, wildcards.grpo_variant))


def grpo_init_model(wildcards):
    init = config["variants"][wildcards.grpo_variant]["init"]
    return layout.run_model_dir(
        R, wildcards.model, wildcards.dataset, init, wildcards.seed
    )


def trained_model(wildcards):
    return layout.run_model_dir(
        R, wildcards.model, wildcards.dataset, wildcards.variant, wildcards.seed
    )


def eval_settings(wildcards):
    return as_json(scale_config.eval_spec(config))


def metrics_files(variants, models=None):
    """metrics.json of every (model, dataset, variant, seed) cell; base once per row."""
    files = []
    for model in models or MODELS:
        for dataset in DATASETS:
            for variant in variants:
                if variant == "base":
                    files.append(layout.metrics_file(R, model, dataset, "base"))
                else:
                    files += [
                        layout.metrics_file(R, model, dataset, variant, s)
                        for s in SEEDS
                    ]
    return files


def table_inputs(wildcards):
    from scale.report.tables import TABLES

    table = wildcards.table
    models = scale_config.ablation_models(config) if table == "table3" else None
    return metrics_files(TABLES[table]["variants"], models)


def model_family(wildcards):
    return config["models"][wildcards.model]["family"]


FIGURES = [
    "weight_schedule",
    "segment_ce",
    "accuracy",
    "invalid_rate",
    "token_lengths",
    "cost",
]


def trained_cells():
    """(model, dataset, variant, seed) of every training run in the grid."""
    return [
        (model, dataset, variant, seed)
        for model in MODELS
        for variant in scale_config.variants_for(config, model)
        for dataset in DATASETS
        for seed in SEEDS
    ]


def comparison_predictions(wildcards):
    return [
        f"{layout.eval_dir(R, m, d, v, s)}/predictions.jsonl"
        for m, d, v, s in trained_cells()
        if v in ("sft", "scale_sft", "grpo", "scale_grpo")
    ]


def run_summaries(wildcards):
    return [
        f"{layout.run_dir(R, m, d, v, s)}/run.json" for m, d, v, s in trained_cells()
    ]


def train_logs(wildcards):
    return [
        f"{layout.run_dir(R, m, d, v, s)}/train_log.jsonl"
        for m, d, v, s in trained_cells()
    ]


def train_benchmarks(wildcards):
    return [
        f"{R}/benchmarks/train/{m}-{d}-{v}-seed{s}.tsv"
        for m, d, v, s in trained_cells()
    ]


def all_metrics(wildcards):
    return metrics_files(["base"]) + [
        layout.metrics_file(R, m, d, v, s) for m, d, v, s in trained_cells()
    ]


def stats_files(wildcards):
    return [f"{R}/data/{d}/stats/{MODELS[0]}.json" for d in DATASETS]


def chance_files(wildcards):
    return [layout.chance_file(R, d) for d in DATASETS]


def test_files(wildcards):
    return [layout.data_file(R, d, "test") for d in DATASETS]


def test_file_arguments(wildcards):
    return " ".join(f"{d}={layout.data_file(R, d, 'test')}" for d in DATASETS)


def table_markdowns(wildcards):
    tables = ["table1", "table2"] + (
        ["table3"] if scale_config.ablation_models(config) else []
    )
    return [f"{R}/{t}.md" for t in tables]


def all_targets():
    tables = ["table1", "table2"] + (
        ["table3"] if scale_config.ablation_models(config) else []
    )
    return [f"{R}/{t}.csv" for t in tables] + [f"{R}/report.md"]

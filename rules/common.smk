# Config validation and the path helpers every rule uses; logic lives in `scale`.
import json
import re

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
        return layout.base_run_dir(R, wildcards.model) + "/model"
    return []


def base_model_location(wildcards):
    if scale_config.is_tiny(config, wildcards.model):
        return layout.base_run_dir(R, wildcards.model) + "/model"
    return config["models"][wildcards.model]["checkpoint"]


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
    return layout.run_dir(R, wildcards.model, wildcards.dataset, init, wildcards.seed) + "/model"


def trained_model(wildcards):
    return layout.run_dir(R, wildcards.model, wildcards.dataset, wildcards.variant, wildcards.seed) + "/model"


def eval_settings(wildcards):
    return as_json(scale_config.eval_spec(config))


def metrics_files(variants, models=None):
    """metrics.json of every (model, dataset, variant, seed) cell; base once per row."""
    files = []
    for model in models or MODELS:
        for dataset in DATASETS:
            for variant in variants:
                if variant == "base":
                    files.append(layout.eval_dir(R, model, dataset, "base") + "/metrics.json")
                else:
                    files += [layout.eval_dir(R, model, dataset, variant, s) + "/metrics.json" for s in SEEDS]
    return files


def table_inputs(wildcards):
    from scale.report.tables import TABLES

    table = wildcards.table
    models = scale_config.ablation_models(config) if table == "table3" else None
    return metrics_files(TABLES[table]["variants"], models)


def model_family(wildcards):
    return config["models"][wildcards.model]["family"]


def all_targets():
    targets = [f"{R}/table1.csv", f"{R}/table2.csv"]
    if scale_config.ablation_models(config):
        targets.append(f"{R}/table3.csv")
    return targets

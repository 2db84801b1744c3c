# Config validation and the path helpers every rule uses; logic lives in `scale`.
import json
import re
import shlex
from pathlib import Path

from snakemake.utils import validate

from scale import cluster, grid, layout
from scale import config as scale_config

validate(config, "../scale/schemas/config.schema.yaml")
scale_config.validate_config(config)


# Under the SLURM executor: every planned job's request against sinfo's nodes, before any submission.
onstart:
    cluster.preflight(workflow)


# Every job runs this checkout's `scale` package, in whatever environment runs it: the conda envs
# of envs/ hold only its dependencies, since Snakemake creates them from copies under
# .snakemake/conda/, where no path relative to the project holds. Jobs never reach a hub: the
# fetch rules, run on the login node, are the only ones that turn that off again.
PROJECT = Path(workflow.current_basedir).resolve().parent  # this file lives in rules/


# `scale` in a rule's command is this shell function, never an installed console script.
shell.prefix(
    "set -euo pipefail; "
    # braces doubled: Snakemake formats the prefix like a rule's command
    f"export PYTHONPATH={shlex.quote(str(PROJECT))}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    "export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1; "
    'scale() {{ python -m scale.cli "$@"; }}; '
)

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
    """The base model directory: the warmed-up tiny build, or the checkpoint fetched on the login node."""
    if scale_config.is_tiny(config, wildcards.model):
        return layout.base_model_dir(R, wildcards.model)
    return layout.checkpoint_dir(R, wildcards.model)


def model_checkpoint(wildcards):
    return config["models"][wildcards.model]["checkpoint"]


def stand_in(kind):
    """The rehearsal's settings for building ``kind`` offline (JSON ``null`` at paper scale: download)."""
    return as_json(config.get("stand_ins", {}).get(kind))


def visionr1_annotation_files():
    from scale.data.visionr1 import ANNOTATION_FILES

    settings = config["data"]["visionr1"]
    names = settings.get("annotation_files", ANNOTATION_FILES)
    return [f"{settings['root']}/{name}" for name in names]


def fetched_test_set(wildcards):
    return layout.test_source_dir(R, wildcards.dataset)


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
    return scale_config.resolve_launcher(
        config[stage].get("launcher", "scale"), PROJECT, f"{stage}/launcher"
    )


def software_env(name):
    """Shell words putting the config's prebuilt environment for envs/{name}.yaml jobs first on PATH, or none."""
    return scale_config.software_env(config, name, PROJECT)


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


def table_inputs(wildcards):
    return grid.table_metrics(config, wildcards.table)


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


def figure_output(name):
    """One figure file, labelled by its own name in Snakemake's HTML report (an output without
    wildcards cannot take its label from one)."""
    return report(
        f"{R}/figures/{name}.png", category="Figures", labels={"figure": name}
    )


def trained_cells():
    return grid.trained_cells(config)


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
    return grid.all_metrics(config)


def stats_files(wildcards):
    return [f"{R}/data/{d}/stats/{MODELS[0]}.json" for d in DATASETS]


def chance_files(wildcards):
    return [layout.chance_file(R, d) for d in DATASETS]


def test_files(wildcards):
    return [layout.data_file(R, d, "test") for d in DATASETS]


def test_file_arguments(wildcards):
    return " ".join(f"{d}={layout.data_file(R, d, 'test')}" for d in DATASETS)


def table_markdowns(wildcards):
    return [f"{R}/{t}.md" for t in grid.tables(config)]


def all_targets():
    return [f"{R}/{t}.csv" for t in grid.tables(config)] + [f"{R}/report.md"]

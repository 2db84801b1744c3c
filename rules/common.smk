# Config validation and the path helpers every rule uses; logic lives in `scale`.
import json
import re
import shlex
import sys
from pathlib import Path

from scale import cluster, grid, launch, layout, numerics, variants
from scale import config as scale_config
from scale.report import FIGURES, TABLES

# once: the schema (scale/schemas/config.schema.yaml), then the rules a schema cannot say
scale_config.validate_config(config)


# Under the SLURM executor: every planned job's request against sinfo's nodes, before any submission.
onstart:
    cluster.preflight(workflow)


# scale.numerics: the CPU code path every job is held to; said once here where this machine cannot take it
CPU_CODE_PATH = config.get("numerics", {}).get("cpu_code_path", numerics.DEFAULT)
_, UNPINNED = numerics.pinned_environment(CPU_CODE_PATH)
if UNPINNED:
    print(f"scale.numerics: {UNPINNED}", file=sys.stderr)


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
    # one numeric code path on every x86-64 CPU, decided on the machine that runs the job (scale.numerics)
    f"{numerics.job_prefix(CPU_CODE_PATH)}"
    'scale() {{ python -m scale.cli "$@"; }}; '
    # the fetch rules' one way back onto the hub (they run on the login node)
    'hub_online() {{ HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0 "$@"; }}; '
)

R = config["results_dir"]
MODELS = list(config["models"])
DATASETS = list(config["data"]["datasets"])
DATA_SOURCE = config["data"]["source"]
SYNTHETIC_DATA = DATA_SOURCE == "synthetic"
# models whose weights an installed package holds (a GGUF file), converted instead of downloaded; a missing
# package stops here, naming the pip command
PACKAGED = scale_config.packaged_checkpoints(config)
DOWNLOADED = [
    m for m in MODELS if not scale_config.is_tiny(config, m) and m not in PACKAGED
]
TINY = [m for m in MODELS if scale_config.is_tiny(config, m)]
# VLMs built here around a packaged language model (SmolLM2 + a tower, aligned): Base is the aligned model
ASSEMBLED = [m for m in MODELS if scale_config.is_assembled(config, m)]
# the rehearsal's stand-ins tokenise with the real vocabularies installed packages hold (Qwen2's, Mistral's)
STAND_IN_VOCABULARIES = scale_config.stand_in_vocabularies(config)


def one_of(names):
    """A wildcard constraint matching exactly ``names`` (none of anything when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    model=one_of(MODELS),
    dataset=one_of(DATASETS),
    split="train|test|warmup",
    seed=r"\d+",
    sft_variant=one_of(variants.SFT_VARIANTS),
    grpo_variant=one_of(variants.GRPO_VARIANTS),
    table=one_of(TABLES),


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
    """The base model directory: the warmed-up tiny build or the aligned assembled VLM, or the checkpoint
    fetched on the login node (or converted from a package)."""
    if wildcards.model in TINY or wildcards.model in ASSEMBLED:
        return layout.base_model_dir(R, wildcards.model)
    return layout.checkpoint_dir(R, wildcards.model)


def assembly(wildcards):
    return scale_config.assembly(config, wildcards.model)


def model_checkpoint(wildcards):
    return config["models"][wildcards.model]["checkpoint"]


def packaged_spec(wildcards):
    return as_json(config["models"][wildcards.model]["gguf"])


def stand_in_vocabulary(wildcards):
    return STAND_IN_VOCABULARIES.get(wildcards.model, [])


def stand_in(kind):
    """The rehearsal's settings for building ``kind`` offline (JSON ``null`` at paper scale: download); a model's
    warm-up is its own rule's."""
    settings = config.get("stand_ins", {}).get(kind)
    if kind == "models" and settings is not None:
        settings = {k: v for k, v in settings.items() if k != "warmup"}
    return as_json(settings)


# the rehearsal's stand-ins are fetched cold, then warmed up by a rule of their own into the checkpoint
STAND_IN_WARMUP = config.get("stand_ins", {}).get("models", {}).get("warmup")


def fetched_checkpoint(model):
    """Where fetch_checkpoint writes: the checkpoint, or a stand-in the warm-up rule starts from."""
    if STAND_IN_WARMUP:
        return layout.stand_in_dir(R, model)
    return layout.checkpoint_dir(R, model)


def fetched_test_set(wildcards):
    return layout.test_source_dir(R, wildcards.dataset)


def corpus_download(wildcards):
    """A paper config's downloaded corpus (Vision-R1's annotation files or OpenR1's folder)."""
    if DATA_SOURCE == "visionr1":
        return scale_config.visionr1_annotation_files(config)
    return config["data"]["openr1"]["root"]


def corpus_settings(wildcards):
    """The corpus filter's settings for one dataset (``scale prepare-visionr1`` or ``prepare-openr1``)."""
    spec = (
        scale_config.visionr1_spec
        if DATA_SOURCE == "visionr1"
        else scale_config.openr1_spec
    )
    return as_json(spec(config, wildcards.dataset))


def test_source_settings(wildcards):
    return as_json(config["data"]["datasets"][wildcards.dataset]["test_source"])


def launcher(stage):
    """The command that starts `scale` for a training stage: `scale`, or e.g. `accelerate launch … -m scale.cli`."""
    return launch.resolve_launcher(
        config[stage].get("launcher", "scale"), PROJECT, f"{stage}/launcher"
    )


def software_env(name):
    """Shell words putting the config's prebuilt environment for envs/{name}.yaml jobs first on PATH, or none."""
    return launch.software_env(config, name, PROJECT)


def train_file(wildcards):
    return layout.data_file(R, wildcards.dataset, "train")


def test_file(wildcards):
    return layout.data_file(R, wildcards.dataset, "test")


def sft_settings(wildcards):
    return as_json(scale_config.sft_spec(config, wildcards.sft_variant))


def grpo_settings(wildcards):
    return as_json(scale_config.grpo_spec(config, wildcards.grpo_variant))


def grpo_init_model(wildcards):
    init = scale_config.variants(config)[wildcards.grpo_variant]["init"]
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


def figure_output(name):
    """One figure file, labelled by its own name in Snakemake's HTML report (an output without
    wildcards cannot take its label from one)."""
    return report(
        layout.figure_file(R, name),
        caption=f"../docs/report/figures/{name}.rst",
        category="Figures",
        labels={"figure": name},
    )


# the tables other than Table 1 that show paired tests (Tables 4 and 5), each with its own significance file
TESTED_BEYOND_TABLE1 = [
    t for t in TABLES if t != "table1" and TABLES[t].get("significance")
]


def table_caption(wildcards):
    """The report's caption of a table (scale.report.TABLES, where its columns are)."""
    return TABLES[wildcards.table]["caption"]


def significance_caption(wildcards):
    """The report's caption of a table's paired tests; Table 1's for the rule without a table wildcard."""
    return TABLES[wildcards.get("table", "table1")]["significance_caption"]


def compared_predictions(wildcards):
    return grid.comparison_predictions(config, wildcards.table)


def table_significance(wildcards):
    """The paired tests shown beside a table: its own where it has them, else Table 1's (unused)."""
    tested = wildcards.table in grid.tested_tables(config)
    return layout.significance_file(R, wildcards.table if tested else "table1")


def named_files(wildcards, input):
    """``name=path`` for each file the report links (significance.csv, significance_table4.csv, cost, ...)."""
    files = [*input.significance, input.cost, input.qualitative]
    return " ".join(f"{Path(f).stem}={f}" for f in files)


def table_files(suffix):
    return [layout.table_file(R, t, suffix) for t in grid.tables(config)]


def chance_files(wildcards):
    return [layout.chance_file(R, d) for d in DATASETS]


def test_files(wildcards):
    return [layout.data_file(R, d, "test") for d in DATASETS]


def test_file_arguments(wildcards):
    return " ".join(f"{d}={layout.data_file(R, d, 'test')}" for d in DATASETS)


# A training run's files, for the stage's variant wildcard (rules/train.smk)
def run_outputs(variant_wildcard):
    """The run folder's model, log and summary, for the stage's variant wildcard."""
    name = ("{model}", "{dataset}", "{%s}" % variant_wildcard, "{seed}")
    return dict(
        model=directory(layout.run_model_dir(R, *name)),
        log_jsonl=layout.train_log(layout.run_dir(R, *name)),
        summary=layout.run_summary(layout.run_dir(R, *name)),
    )


def run_log(stage, variant_wildcard):
    name = layout.run_name("{model}", "{dataset}", "{%s}" % variant_wildcard, "{seed}")
    return layout.log_file(R, f"train_{stage}", name)


def run_timing(variant_wildcard):
    name = layout.run_name("{model}", "{dataset}", "{%s}" % variant_wildcard, "{seed}")
    return layout.timing_file(R, "train", name)

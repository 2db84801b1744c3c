"""scale.layout is where every output lives: each job a dry run of each shipped config plans writes exactly
the paths scale.layout gives for its wildcards."""

import re
from pathlib import Path

import pytest
import yaml

from scale import layout
from scale.config import visionr1_annotation_files
from scale.report import FIGURES

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"default": [], "ci": ["configs/ci.yaml"], "paper": ["configs/paper.yaml"],
           "rehearsal": ["configs/paper.yaml", "configs/rehearsal.yaml"], "text": ["configs/text.yaml"],
           "text_ci": ["configs/text_ci.yaml"], "smollm2": ["configs/text_smollm2.yaml"],
           "smollm2_ci": ["configs/text_smollm2.yaml", "configs/text_smollm2_ci.yaml"],
           "smolvlm": ["configs/smolvlm.yaml"],
           # several seeds: the summary over them is planned too
           "default_seeds": ["config.yaml", "tests/fixtures/three_seeds.yaml"]}


def run_outputs(R, w, variant):
    folder = layout.run_dir(R, w["model"], w["dataset"], w[variant], w["seed"])
    return [layout.run_model_dir(R, w["model"], w["dataset"], w[variant], w["seed"]), layout.train_log(folder),
            layout.run_summary(folder)]


EXPECTED = {
    "synthesize_split": lambda R, w, c: [layout.data_file(R, w["dataset"], w["split"]),
                                         layout.images_dir(R, w["dataset"], w["split"])],
    "download_visionr1": lambda R, w, c: visionr1_annotation_files(c),
    "fetch_test_set": lambda R, w, c: [layout.test_source_dir(R, w["dataset"])],
    "prepare_train_set": lambda R, w, c: [layout.data_file(R, w["dataset"], "train"),
                                          layout.images_dir(R, w["dataset"], "train"),
                                          layout.filter_report(R, w["dataset"])],
    "prepare_test_set": lambda R, w, c: [layout.data_file(R, w["dataset"], "test"),
                                         layout.images_dir(R, w["dataset"], "test")],
    "token_stats": lambda R, w, c: [layout.stats_file(R, w["dataset"], w["model"])],
    # a rehearsal's stand-in is fetched cold, then its warm-up rule writes the checkpoint
    "fetch_checkpoint": lambda R, w, c: [layout.stand_in_dir(R, w["model"]) if c.get("stand_ins", {}).get(
        "models", {}).get("warmup") else layout.checkpoint_dir(R, w["model"])],
    "warm_up_stand_in": lambda R, w, c: [layout.checkpoint_dir(R, w["model"])],
    "convert_checkpoint": lambda R, w, c: [layout.checkpoint_dir(R, w["model"])],
    "build_tiny_model": lambda R, w, c: [layout.init_model_dir(R, w["model"])],
    "warmup_base_model": lambda R, w, c: [layout.base_model_dir(R, w["model"]),
                                          layout.train_log(layout.base_run_dir(R, w["model"])),
                                          layout.run_summary(layout.base_run_dir(R, w["model"]))],
    "describe_pictures": lambda R, w, c: [layout.captions_file(R, w["model"], w["caption_split"])],
    "assemble_vlm": lambda R, w, c: [layout.init_model_dir(R, w["model"])],
    "align_vlm": lambda R, w, c: [layout.base_model_dir(R, w["model"]),
                                  layout.train_log(layout.base_run_dir(R, w["model"])),
                                  layout.run_summary(layout.base_run_dir(R, w["model"]))],
    "probe_perception": lambda R, w, c: [layout.perception_file(R, w["model"])],
    "train_sft": lambda R, w, c: run_outputs(R, w, "sft_variant"),
    "train_grpo": lambda R, w, c: run_outputs(R, w, "grpo_variant"),
    "evaluate_base": lambda R, w, c: [layout.predictions_file(R, w["model"], w["dataset"], "base")],
    "evaluate_trained": lambda R, w, c: [layout.predictions_file(R, w["model"], w["dataset"], w["variant"],
                                                                 w["seed"])],
    "score": lambda R, w, c: [layout.cell_file(R, w["cell"], "metrics.json")],
    "chance_level": lambda R, w, c: [layout.chance_file(R, w["dataset"])],
    "table": lambda R, w, c: [layout.table_file(R, w["table"], "csv"), layout.table_file(R, w["table"], "md")],
    "significance": lambda R, w, c: [layout.significance_file(R)],
    "table_significance_tests": lambda R, w, c: [layout.significance_file(R, w["table"])],
    "cost": lambda R, w, c: [layout.cost_file(R)],
    "figures": lambda R, w, c: [layout.figure_file(R, name) for name in FIGURES],
    "qualitative": lambda R, w, c: [layout.qualitative_file(R)],
    "report": lambda R, w, c: [layout.report_file(R)],
    "seeds_summary": lambda R, w, c: [layout.seeds_file(R, "summary.md")] + [
        layout.seeds_file(R, f"{name}.csv") for name in layout.SEEDS_CSVS],
    "all": lambda R, w, c: [],
}


def merged(files: list[str]) -> dict:
    from snakemake.utils import update_config

    config = yaml.safe_load((REPO / (files[0] if files else "config.yaml")).read_text())
    for extra in files[1:]:
        update_config(config, yaml.safe_load((REPO / extra).read_text()))
    return config


def planned_jobs(files: list[str], workdir: Path) -> list[tuple[str, dict, list[str]]]:
    """(rule, wildcards, outputs) of every job a dry run plans."""
    from test_workflow import snakemake

    plan = snakemake("-n", "--directory", str(workdir), *(["--configfile", *files] if files else [])).stdout
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", plan):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if not rule:
            continue
        wildcards = re.search(r"^    wildcards: (.*)$", block, re.MULTILINE)
        outputs = re.search(r"^    output: (.*)$", block, re.MULTILINE)
        jobs.append((rule.group(1), dict(item.split("=", 1) for item in wildcards.group(1).split(", "))
                     if wildcards else {}, outputs.group(1).split(", ") if outputs else []))
    return jobs


@pytest.mark.parametrize("name", CONFIGS)
def test_every_planned_output_is_where_scale_layout_puts_it(name, tmp_path):
    files = CONFIGS[name]
    config = merged(files)
    jobs = planned_jobs(files, tmp_path)
    assert len(jobs) > 20
    for rule, wildcards, outputs in jobs:
        assert rule in EXPECTED, f"rule {rule} has no entry here: say where scale.layout puts its outputs"
        assert outputs == EXPECTED[rule](config["results_dir"], wildcards, config), (rule, wildcards)

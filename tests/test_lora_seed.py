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


def test_lora_adapters_start_from_the_same_weights_for_the_same_seed(tiny_models, tmp_path):
    def adapters(seed, out):
        run_python(
            "from scale.models.families import family_of, load_model\n"
            "from scale.train.runs import add_lora\n"
            f"model = add_lora(load_model({str(tiny_models['gemma3'])!r}), {LORA!r}, "
            f"family_of({str(tiny_models['gemma3'])!r}), seed={seed})\n"
            f"model.save_pretrained({str(out)!r})\n")
        return model_tensors(out)

    first, again, other = adapters(0, tmp_path / "a"), adapters(0, tmp_path / "b"), adapters(1, tmp_path / "c")
    assert any("lora_A" in k for k in first)
    assert same(first, again) and not same(first, other)


def test_lora_sft_in_fresh_processes_gives_bitwise_equal_merged_models_for_the_same_seed(
    tiny_models, four_samples, tmp_path
):
    spec = {"loss": "scale", "w_think": {"start": 2.0, "end": 1.0}, "w_answer": 1.0, "lora": LORA,
            "training": {"max_steps": 2, "per_device_train_batch_size": 2, "learning_rate": 1e-2,
                         "logging_steps": 1, "save_steps": 1000, "max_length": 512, "disable_tqdm": True}}

    def merged(seed, out):
        subprocess.run([sys.executable, "-m", "scale.cli", "train-sft", "--model-dir", str(tiny_models["gemma3"]),
                        "--train", str(four_samples), "--spec", json.dumps(spec), "--seed", str(seed),
                        "--out", str(out)], check=True, capture_output=True)
        return model_tensors(out / "model")

    first, again, other = merged(0, tmp_path / "a"), merged(0, tmp_path / "b"), merged(1, tmp_path / "c")
    base = model_tensors(tiny_models["gemma3"])
    assert not same(first, base), "training moved no weight"
    assert same(first, again) and not same(first, other)


def test_lora_grpo_in_fresh_processes_gives_bitwise_equal_merged_models_for_the_same_seed(
    tiny_models, four_samples, tmp_path
):
    training = {"max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 4, "max_completion_length": 8,
                "learning_rate": 1e-2, "logging_steps": 1, "save_steps": 1000, "disable_tqdm": True}

    def merged(seed, out):
        # a random policy never earns the paper's rewards (a zero update): reward the completions' lengths
        run_python(
            "from scale.rewards import completion_text\n"
            "from scale.train import driver\n"
            "driver.format_reward_func = lambda completions, **kw: [float(len(completion_text(c)) % 5) "
            "for c in completions]\n"
            f"summary = driver.train_grpo({str(tiny_models['llava_next'])!r}, {str(four_samples)!r}, {str(out)!r}, "
            f"training={training!r}, lora={LORA!r}, seed={seed})\n"
            "assert summary['weights_moved']\n")
        return model_tensors(out / "model")

    first, again, other = merged(0, tmp_path / "a"), merged(0, tmp_path / "b"), merged(1, tmp_path / "c")
    assert same(first, again) and not same(first, other)

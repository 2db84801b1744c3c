"""The paper's DeepSpeed ZeRO-2 launcher, run here as the rehearsal runs it (two CPU processes): the run
records that it trained under ZeRO-2, and a run killed after a checkpoint resumes to the weights and
token counts of a run never killed."""

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from scale.launch import resolve_launcher

from conftest import first_records, model_tensors

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = yaml.safe_load((REPO / "configs" / "rehearsal.yaml").read_text())["sft"]["launcher"]
SPEC = {"loss": "scale", "w_think": {"start": 2.0, "end": 1.0}, "w_answer": 1.0, "lora": {"r": 8, "alpha": 16},
        "training": {"max_steps": 6, "per_device_train_batch_size": 1, "gradient_accumulation_steps": 2,
                     "learning_rate": 1e-2, "logging_steps": 1, "save_steps": 1, "max_length": 1024,
                     "bf16": False, "disable_tqdm": True}}
ATOL = 1e-6  # as tests/test_resume.py: bitwise equal here, float32 rounding allowed elsewhere


def command(model_dir: Path, train: Path, out: Path) -> list[str]:
    return shlex.split(resolve_launcher(LAUNCHER, REPO)) + [
        "train-sft", "--model-dir", str(model_dir), "--train", str(train), "--spec", json.dumps(SPEC),
        "--seed", "0", "--out", str(out)]


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the launcher and every process under it at once, as a scheduler ends a job: torch's
    launcher starts each training process in a session of its own, so killing its group would miss them."""
    import psutil

    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    for member in tree:
        member.kill()
    psutil.wait_procs(tree, timeout=60)
    process.wait()


def environment() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


@pytest.mark.slow
def test_a_zero2_run_killed_after_a_checkpoint_resumes_to_an_uninterrupted_runs_weights_and_counts(
    stand_ins, synthetic_dir, tmp_path
):
    from scale.train.checkpoints import COMPLETE_FILE

    model = stand_ins["qwen2_5_vl"]
    train = first_records(synthetic_dir, "scienceqa", 8, tmp_path)
    straight = subprocess.run(command(model, train, tmp_path / "straight"), env=environment(), capture_output=True,
                              text=True)
    assert straight.returncode == 0, straight.stderr[-3000:]

    process = subprocess.Popen(command(model, train, tmp_path / "killed"), env=environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    complete = tmp_path / "killed.checkpoints" / "checkpoint-2" / COMPLETE_FILE
    deadline = time.time() + 300
    while not complete.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    kill_tree(process)
    assert complete.exists() and not (tmp_path / "killed" / "model").exists()
    resumed = subprocess.run(command(model, train, tmp_path / "killed"), env=environment(), capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    runs = {name: json.loads((tmp_path / name / "run.json").read_text()) for name in ("straight", "killed")}
    assert 2 <= int(runs["killed"]["resumed_from"].rsplit("-", 1)[1]) < 6
    for run in runs.values():
        assert run["processes"] == 2 and run["distribution"]["backend"] == "gloo"
        assert run["distribution"]["distributed_type"] == "DEEPSPEED"
        assert run["distribution"]["deepspeed"]["zero_stage"] == 2
        assert run["distribution"]["deepspeed"]["optimizer"] == "DeepSpeedZeroOptimizer"
    for count in ("train_tokens", "target_tokens"):
        assert runs["killed"][count] == runs["straight"][count] > 0, count
    final, uninterrupted = model_tensors(tmp_path / "killed" / "model"), model_tensors(tmp_path / "straight" / "model")
    assert final.keys() == uninterrupted.keys() == model_tensors(model).keys()  # the hub's names, LoRA merged
    for key in final:
        torch.testing.assert_close(final[key], uninterrupted[key], rtol=0, atol=ATOL, msg=key)
    start = model_tensors(model)
    assert any(not torch.equal(final[k], start[k]) for k in start), "training moved no weight"

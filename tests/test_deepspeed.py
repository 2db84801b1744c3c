"""The paper's DeepSpeed ZeRO-2 launcher, run here as the rehearsal runs it (two CPU processes): the run
records that it trained under ZeRO-2, a run killed after a checkpoint resumes to the weights, token counts
and online segment weights of a run never killed, and two processes train as one does on the same global
batches, each weighting a step by the losses of the whole global batch."""

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

from conftest import WEIGHT_ATOL, assert_same_weights, first_records, model_tensors

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = yaml.safe_load((REPO / "configs" / "rehearsal.yaml").read_text())["sft"]["launcher"]
# SCALe's loss with its weights tuned online (scale.weighting; a low temperature, so that they move in a few
# steps): the rule's state must cross processes and a resume (the cosine schedule's runs: tests/test_rehearsal.py)
SPEC = {"loss": "scale", "weighting": {"rule": "dwa", "temperature": 0.05}, "lora": {"r": 8, "alpha": 16},
        "training": {"max_steps": 6, "per_device_train_batch_size": 1, "gradient_accumulation_steps": 2,
                     "learning_rate": 1e-2, "logging_steps": 1, "save_steps": 1, "max_length": 1024,
                     "bf16": False, "disable_tqdm": True}}


def command(model_dir: Path, train: Path, out: Path, spec: dict = SPEC, processes: int = 2) -> list[str]:
    """``scale train-sft`` under the paper's launcher (DeepSpeed ZeRO-2), on two CPU processes or ``processes``."""
    start = shlex.split(resolve_launcher(LAUNCHER, REPO))
    start[start.index("--num_processes") + 1] = str(processes)
    return start + ["train-sft", "--model-dir", str(model_dir), "--train", str(train), "--spec", json.dumps(spec),
                    "--seed", "0", "--out", str(out)]


def log_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


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


@pytest.fixture(scope="module")
def inputs(stand_ins, synthetic_dir, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(model, training file, a folder for the runs) shared by the tests here."""
    root = tmp_path_factory.mktemp("zero2")
    return stand_ins["qwen2_5_vl"], first_records(synthetic_dir, "scienceqa", 8, root), root


@pytest.fixture(scope="module")
def straight(inputs) -> tuple[Path, Path, Path]:
    """One uninterrupted ZeRO-2 run, with the default LoRA dropout: ``inputs``, the run's folder's parent."""
    model, train, root = inputs
    result = subprocess.run(command(model, train, root / "straight"), env=environment(), capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return model, train, root


@pytest.mark.slow
def test_a_zero2_run_killed_after_a_checkpoint_resumes_to_an_uninterrupted_runs_weights_and_counts(straight):
    from scale.train.checkpoints import COMPLETE_FILE

    model, train, tmp_path = straight

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
    start = model_tensors(model)
    assert final.keys() == start.keys()  # the hub's names, LoRA merged
    assert_same_weights(final, uninterrupted)
    assert any(not torch.equal(final[k], start[k]) for k in start), "training moved no weight"
    # the online rule's history came back from the checkpoint: the resumed steps are weighted as the straight run's
    killed, uninterrupted_log = log_of(tmp_path / "killed"), log_of(tmp_path / "straight")
    assert [line["step"] for line in killed] == list(range(1, 7))
    assert [line["w_think"] for line in killed] == pytest.approx([line["w_think"] for line in uninterrupted_log],
                                                                 abs=WEIGHT_ATOL)


@pytest.mark.slow
def test_two_processes_train_as_one_weighting_each_step_by_the_losses_of_the_whole_global_batch(inputs):
    """One ZeRO-2 process on the same global batches (2 samples a micro-batch, not 1 on each of two) logs the
    same segment losses at every step, so the online rule read losses reduced over the global batch, not each
    rank's, and both runs are weighted by the rule replayed on those losses. Without LoRA dropout: its masks are
    drawn per process, so one process and two draw different ones once LoRA's B leaves zero (with the default
    0.05 the runs agree at the first step only, then differ by about 3e-4 relative)."""
    from scale.weighting import weighting_from_config

    model, train, root = inputs
    still = {**SPEC, "lora": {**SPEC["lora"], "dropout": 0.0}}
    alone = {**still, "training": {**still["training"], "per_device_train_batch_size": 2}}
    for name, spec, processes in (("two", still, 2), ("one", alone, 1)):
        result = subprocess.run(command(model, train, root / name, spec, processes=processes), env=environment(),
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads((root / name / "run.json").read_text())["processes"] == processes
    one, two = log_of(root / "one"), log_of(root / "two")
    assert len(one) == len(two) == 6
    for key in ("rule_think_loss", "rule_answer_loss"):
        assert [line[key] for line in two] == pytest.approx([line[key] for line in one], rel=1e-5), key
    for log in (one, two):
        rule = weighting_from_config(SPEC["weighting"])
        for line in log:
            assert (line["w_think"], line["w_answer"]) == pytest.approx(rule.weights(), rel=1e-6), line["step"]
            rule.update(line["rule_think_loss"], line["rule_answer_loss"])
    assert any(abs(line["w_think"] - 1.0) > 0.05 for line in two[2:]), "the weights never moved"
    assert_same_weights(model_tensors(root / "two" / "model"), model_tensors(root / "one" / "model"))


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["sample", "dft"])
def test_the_other_losses_train_two_processes_as_one_on_the_same_global_batches(inputs, loss):
    """Table 5's per-sample means and DFT are normalised over the global batch (its samples, its target tokens):
    two ZeRO-2 processes log the same loss at each step as one process on the same global batches, and end on
    its weights (LoRA without dropout, as above). A loss normalised per process would differ: the ranks'
    micro-batches hold different sample lengths."""
    model, train, root = inputs
    still = {**{k: v for k, v in SPEC.items() if k != "weighting"}, "loss": loss,
             "lora": {**SPEC["lora"], "dropout": 0.0}, "training": {**SPEC["training"], "max_steps": 2}}
    alone = {**still, "training": {**still["training"], "per_device_train_batch_size": 2}}
    for name, spec, processes in ((f"{loss}_two", still, 2), (f"{loss}_one", alone, 1)):
        result = subprocess.run(command(model, train, root / name, spec, processes=processes), env=environment(),
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads((root / name / "run.json").read_text())["loss"] == loss
    one, two = log_of(root / f"{loss}_one"), log_of(root / f"{loss}_two")
    assert len(one) == len(two) == 2
    assert [line["loss"] for line in two] == pytest.approx([line["loss"] for line in one], rel=1e-5)
    trained, start = model_tensors(root / f"{loss}_one" / "model"), model_tensors(model)
    assert_same_weights(model_tensors(root / f"{loss}_two" / "model"), trained)
    assert [k for k in trained if not torch.equal(trained[k], start[k])], "training moved no weight"

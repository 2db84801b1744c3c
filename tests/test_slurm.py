"""The cluster path on a real scheduler: a single-node SLURM (tests/slurm_cluster.py) runs the workflow
through the SLURM profiles exactly as the README's cluster steps say, a cancelled training job comes
back through the profile's retry to the weights of a run never cancelled, a failing job stops the
run naming its log, and a request no node can hold is refused before anything is submitted."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

import slurm_cluster
from conftest import model_tensors

REPO = Path(__file__).resolve().parents[1]
# The README's partition step: the profiles read SBATCH_PARTITION (and SBATCH_ACCOUNT, which a cluster
# without accounting cannot take: the executor checks accounts with sacctmgr) into every job's resources.
SBATCH = {"SBATCH_PARTITION": "gpu"}
TWINS = ("qwen_a", "qwen_b")  # the same tiny build and warm-up twice: one is cancelled, one is not


def executor_settings(profile: str) -> dict:
    settings = yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())
    return {k: v for k, v in settings.items() if k not in ("default-resources", "set-resources", "set-threads")}


def test_the_cpu_profile_differs_from_the_gpu_profile_in_resources_only():
    assert executor_settings("slurm-cpu") == executor_settings("slurm")
    for profile in ("slurm", "slurm-cpu"):
        settings = yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())
        assert "software-deployment-method" not in settings  # a pip install can use it; --sdm conda adds conda
        assert not {"slurm_partition", "slurm_account"} & set(settings["default-resources"])  # SBATCH_* instead


@pytest.mark.parametrize("profile", ["slurm", "slurm-cpu"])
def test_the_partition_and_account_step_keeps_every_other_resource_of_a_planned_job(profile, tmp_path):
    plain = planned_resources(profile, tmp_path / "plain", {})
    routed = planned_resources(profile, tmp_path / "routed", {"SBATCH_PARTITION": "gpu", "SBATCH_ACCOUNT": "proj7"})
    assert plain.keys() == routed.keys() and plain
    for rule, resources in routed.items():
        assert resources == dict(plain[rule], slurm_partition="gpu", slurm_account="proj7"), rule


def planned_resources(profile: str, workdir: Path, env: dict) -> dict[str, dict]:
    """rule → the resources a dry run of the CI config through ``profile`` plans for its first job."""
    import re

    command = snakemake_command(workdir, profile, "-n", "--configfile", str(REPO / "configs" / "ci.yaml"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SBATCH_")}
    result = subprocess.run(command, env=dict(clean, **env), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    found = {}
    for rule, resources in re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", result.stdout,
                                      re.MULTILINE):
        found.setdefault(rule, dict(item.split("=", 1) for item in resources.split(", ")))
    return found
    cpu = yaml.safe_load((REPO / "profiles" / "slurm-cpu" / "config.yaml").read_text())
    assert not any("gpu" in resources for resources in cpu["set-resources"].values())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = slurm_cluster.available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the SLURM tests: {reason}")
        pytest.skip(reason)
    started = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    yield started
    slurm_cluster.stop(started)
    for name, pid in started.pids.items():
        assert not Path(f"/proc/{pid}").exists(), f"{name} (pid {pid}) still runs"


# The profiles' first status check comes 10 s after a submission, each next one 10 s later than the last while no
# job has finished (the plugin's back-off): on a cluster, light on the scheduler. Here each wave of short jobs would
# wait out its checks, so the test starts checking after 2 s; all else is the profile's.
FIRST_CHECK = ("--slurm-init-seconds-before-status-checks", "2")


def snakemake_command(workdir: Path, profile: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--workflow-profile",
            str(REPO / "profiles" / profile), "--directory", str(workdir), *FIRST_CHECK, *args]


def submitting_env() -> dict:
    """The login shell of the README's steps: the partition exported, this environment's tools first."""
    return dict(os.environ, **SBATCH, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


def run_snakemake(workdir: Path, profile: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_command(workdir, profile, *args), env=submitting_env(), capture_output=True,
                          text=True, timeout=timeout)


def jobs(cluster) -> list[dict]:
    """Every job the scheduler knows (finished ones stay for MinJobAge)."""
    fields = ("id", "partition", "account", "state", "comment", "memory", "time_limit", "cpus")
    text = cluster.run("squeue", "--states=all", "--noheader", "--format=%i|%P|%a|%T|%k|%m|%l|%C")
    return [dict(zip(fields, line.split("|"))) for line in text.splitlines() if line.strip()]


def config_file(workdir: Path, **changes) -> Path:
    """configs/ci.yaml with the twin models and a warm-up long enough to cancel mid-run."""
    config = yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())
    config["results_dir"] = "results/slurm"
    sizes = config["models"]["qwen2_5_vl"]["tiny"]
    config["models"] = {name: {"family": "qwen2_5_vl", "tiny": dict(sizes)} for name in TWINS}
    config["base"]["warmup"].update({"max_steps": 150, "save_steps": 25, "logging_steps": 25, **changes})
    path = workdir / f"slurm-{len(list(workdir.glob('slurm-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_a_request_no_node_can_hold_stops_the_run_before_anything_is_submitted(cluster, tmp_path):
    before = len(jobs(cluster))
    result = run_snakemake(tmp_path, "slurm", "--configfile", str(REPO / "configs" / "ci.yaml"))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no job was submitted" in output
    assert "rule train_sft asks for 32 CPUs, 480000 MB, 8 GPUs" in output and f"CPUs 32 > {os.cpu_count()}" in output
    assert len(jobs(cluster)) == before


@pytest.mark.slow
def test_the_cpu_profile_runs_jobs_through_slurm_and_a_cancelled_warmup_resumes_to_its_twins_weights(
    cluster, tmp_path
):
    targets = [f"results/slurm/models/{name}/base/model" for name in TWINS]
    command = snakemake_command(tmp_path, "slurm-cpu", *targets, "--configfile", str(config_file(tmp_path)))
    log = open(tmp_path / "snakemake.out", "w")
    run = subprocess.Popen(command, env=submitting_env(), stdout=log, stderr=subprocess.STDOUT)
    checkpoint = tmp_path / "results/slurm/models/qwen_a/base.checkpoints/checkpoint-50/scale_state.json"
    deadline = time.time() + 600
    while not checkpoint.exists() and time.time() < deadline and run.poll() is None:
        time.sleep(0.5)
    assert checkpoint.exists(), (tmp_path / "snakemake.out").read_text()[-3000:]
    warmup = next(j for j in jobs(cluster) if j["comment"] == "rule_warmup_base_model_wildcards_qwen_a"
                  and j["state"] == "RUNNING")
    cluster.run("scancel", warmup["id"])  # as a preemption would: the profile's retry must resume it
    assert run.wait(timeout=900) == 0, (tmp_path / "snakemake.out").read_text()[-4000:]

    known = jobs(cluster)
    output = (tmp_path / "snakemake.out").read_text()
    submitted = {line.split("SLURM jobid ")[1].split()[0].strip("'().") for line in output.splitlines()
                 if "SLURM jobid" in line}
    assert submitted and submitted <= {j["id"] for j in known}  # every job went through the scheduler
    mine = [j for j in known if j["id"] in submitted]
    assert {j["state"] for j in mine} == {"COMPLETED", "CANCELLED"}
    assert [j["id"] for j in mine if j["state"] == "CANCELLED"] == [warmup["id"]]
    # the partition from SBATCH_PARTITION, the profile's resources kept
    assert {j["partition"] for j in mine} == {"gpu"}
    warmups = [j for j in mine if j["comment"].startswith("rule_warmup_base_model")]
    assert {(j["memory"], j["time_limit"], j["cpus"]) for j in warmups} == {("4000M", "1:00:00", "1")}
    others = [j for j in mine if not j["comment"].startswith("rule_warmup_base_model")]
    assert {(j["memory"], j["time_limit"]) for j in others} == {("2000M", "1:00:00")}

    for name in TWINS:
        assert (tmp_path / f"results/slurm/logs/warmup/{name}.log").stat().st_size > 0
    resumed = json.loads((tmp_path / "results/slurm/models/qwen_a/base/run.json").read_text())
    assert resumed["resumed_from"] and int(resumed["resumed_from"].rsplit("-", 1)[1]) >= 50
    assert json.loads((tmp_path / "results/slurm/models/qwen_b/base/run.json").read_text())["resumed_from"] is None
    a, b = (model_tensors(tmp_path / f"results/slurm/models/{name}/base/model") for name in TWINS)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for count in ("train_tokens", "target_tokens"):
        assert resumed[count] == json.loads((tmp_path / "results/slurm/models/qwen_b/base/run.json").read_text())[count]

    # A job that fails (a warm-up that cannot move its weights) stops the run and names its log: one twin's, with
    # no retry (the cancel above went through the profile's retry; a second try of this one would fail the same)
    failed = run_snakemake(tmp_path, "slurm-cpu", targets[0], "--retries", "0", "--configfile",
                           str(config_file(tmp_path, learning_rate=0.0, max_steps=2)))
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert "Error in rule warmup_base_model" in output and "results/slurm/logs/warmup/qwen_a.log" in output
    assert "UntrainedModelError" in (tmp_path / "results/slurm/logs/warmup/qwen_a.log").read_text()
    assert output.count("has been submitted with SLURM jobid") == 1

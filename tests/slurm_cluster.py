"""A real single-node SLURM for the tests: Debian's slurm-wlm and munge (installed by .ci/run as root),
its own configuration and state in a temporary folder, daemons stopped by pid afterwards.

Its ``slurm.conf`` and ``gres.conf`` go where SLURM's commands look by default, ``/etc/slurm/``: the
SLURM executor's job step starts ``srun`` with every ``SLURM_*`` variable removed, ``SLURM_CONF``
included, so a configuration anywhere else is lost inside a job. A machine that already has a
``/etc/slurm/slurm.conf`` is left alone (the cluster does not start).

The node has the machine's real CPUs and most of its memory, and advertises 8 GPUs as a generic
resource without devices (``gres.conf`` with a count and no files), so the paper profile's ``gpu``
requests schedule unchanged; no job here uses a GPU. Settings that work in a sandbox without cgroups:
``proctrack/linuxproc``, ``task/none``; no accounting (``squeue`` is the status command the profiles
name, so nothing needs ``sacct``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PARTITIONS = ("debug", "gpu")  # debug is the default; the tests route jobs to gpu by SBATCH_PARTITION
GPUS = 8


CONF_DIR = Path("/etc/slurm")


def available() -> str | None:
    """Why no cluster can start here, or None."""
    if os.geteuid() != 0:
        return "starting slurmctld, slurmd and munged needs root"
    if (CONF_DIR / "slurm.conf").exists():
        return f"{CONF_DIR / 'slurm.conf'} exists: this machine has a SLURM of its own"
    missing = [d for d in ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "sinfo") if not shutil.which(d)]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install slurm-wlm munge)"
    return None


@dataclass
class Cluster:
    root: Path
    conf: Path
    pids: dict[str, int]

    def run(self, *command: str, check: bool = True) -> str:
        result = subprocess.run(command, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr}")
        return result.stdout

    def log(self, name: str) -> str:
        return (self.root / "log" / f"{name}.log").read_text(errors="replace")


def slurm_conf(root: Path, host: str, cpus: int, memory_mb: int) -> str:
    return "\n".join([
        "ClusterName=scaleci",
        f"SlurmctldHost={host}",
        "SlurmUser=root",
        "AuthType=auth/munge",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerType=sched/backfill",
        "ReturnToService=2",
        "MpiDefault=none",
        "GresTypes=gpu",
        "MinJobAge=300",  # finished jobs stay visible to squeue: the plugin's squeue status checks need it
        "KillWait=5",
        f"StateSaveLocation={root}/state",
        f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/run/slurmctld.pid",
        f"SlurmdPidFile={root}/run/slurmd.pid",
        f"SlurmctldLogFile={root}/log/slurmctld.log",
        f"SlurmdLogFile={root}/log/slurmd.log",
        f"NodeName={host} CPUs={cpus} RealMemory={memory_mb} Gres=gpu:{GPUS} State=UNKNOWN",
        *(f"PartitionName={name} Nodes={host} Default={'YES' if i == 0 else 'NO'} MaxTime=INFINITE State=UP"
          for i, name in enumerate(PARTITIONS)),
        "",
    ])


def memory_mb() -> int:
    total_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal:"))
    return total_kb // 1024 - 2048  # leave the system some


def start(root: Path, timeout: float = 60) -> Cluster:
    """Munge, slurmctld and slurmd on this machine, configured under ``root``; returns once the node is idle."""
    host = socket.gethostname().split(".")[0]
    for folder in ("state", "spool", "run", "log", "dev"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    conf = CONF_DIR / "slurm.conf"
    conf.write_text(slurm_conf(root, host, os.cpu_count(), memory_mb()))
    # slurmd drops file-less GPUs ("Removing file-less GPU"): each gets an empty stand-in file, which
    # nothing opens (no cgroups constrain devices here)
    for index in range(GPUS):
        (root / "dev" / f"gpu{index}").touch()
    (CONF_DIR / "gres.conf").write_text(f"Name=gpu File={root}/dev/gpu[0-{GPUS - 1}]\n")
    cluster = Cluster(root, conf, {})
    munge_run = Path("/run/munge")
    munge_run.mkdir(parents=True, exist_ok=True)
    shutil.chown(munge_run, "munge", "munge")
    subprocess.run(["runuser", "-u", "munge", "--", "munged", "--pid-file", str(munge_run / "scale-ci.pid")],
                   check=True, capture_output=True)
    cluster.pids["munged"] = int((munge_run / "scale-ci.pid").read_text())
    try:
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([daemon, "-f", str(conf)], check=True, capture_output=True)
            cluster.pids[daemon] = wait_for_pid(root / "run" / f"{daemon}.pid", timeout)
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = cluster.run("sinfo", "-h", "-o", "%t", check=False).split()
            if state and all(s == "idle" for s in state):
                return cluster
            time.sleep(0.5)
        raise RuntimeError(f"the node never became idle: {cluster.log('slurmctld')[-2000:]}")
    except BaseException:
        stop(cluster)  # a daemon that started is never left running
        raise


def wait_for_pid(pid_file: Path, timeout: float) -> int:
    """The pid a daemon writes; it creates the file before it writes the number, so wait for the number."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.1)
    raise RuntimeError(f"{pid_file.stem} wrote no pid to {pid_file} in {timeout} s")


def stop(cluster: Cluster, timeout: float = 30) -> None:
    """Cancel what is left, stop every daemon this cluster started, by its pid, and remove its configuration."""
    subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True)
    for name in ("slurmd", "slurmctld", "munged"):
        pid = cluster.pids.get(name)
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    for name in ("slurm.conf", "gres.conf"):
        (CONF_DIR / name).unlink(missing_ok=True)

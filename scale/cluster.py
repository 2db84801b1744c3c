"""Before a SLURM run submits anything: does every job's request fit some node of its partition?

The SLURM executor submits whatever a job asks for. A request no node can hold (8 GPUs where there are
none, 32 CPUs on a 2-CPU node) fails at submission or pends for ever with reason ``PartitionConfig``
while Snakemake waits in silence. ``preflight`` compares every planned job with the nodes ``sinfo``
lists and stops the run, naming each rule and what it lacks, before the first ``sbatch``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Iterable

SINFO_FORMAT = "%N|%P|%c|%m|%G"  # node, partition (* marks the default), CPUs, memory (MB), generic resources
MIN_JOB_AGE = 180  # the SLURM executor's longest wait between two status checks, in seconds


class ClusterRequestError(RuntimeError):
    """A planned job asks for more than any node of its partition has."""


@dataclass(frozen=True)
class Node:
    name: str
    partition: str
    cpus: int
    memory_mb: int
    gpus: int


@dataclass(frozen=True)
class Request:
    rule: str
    partition: str | None  # None: the cluster's default partition
    cpus: int
    memory_mb: int | None
    gpus: int


def gpu_count(gres: str) -> int:
    """GPUs in an ``sinfo`` GRES field: ``gpu:8``, ``gpu:h100:4(S:0-1)``, ``gpu:2,mps:100``; 0 for ``(null)``."""
    total = 0
    for item in gres.split(","):
        match = re.match(r"^gpu(?::[^:(]+)?:(\d+)", item.strip())
        if match:
            total += int(match.group(1))
    return total


def parse_sinfo(text: str) -> tuple[list[Node], str | None]:
    """The nodes of ``sinfo -N -h -o SINFO_FORMAT`` (one line per node and partition) and the default partition."""
    nodes, default = [], None
    for line in text.splitlines():
        if not line.strip():
            continue
        name, partition, cpus, memory, gres = line.split("|")
        if partition.endswith("*"):
            partition = partition[:-1]
            default = partition
        nodes.append(Node(name, partition, int(cpus), int(re.sub(r"\D.*", "", memory) or 0), gpu_count(gres)))
    return nodes, default


def misfits(requests: Iterable[Request], nodes: list[Node], default_partition: str | None) -> list[str]:
    """One line per distinct request that no node of its partition can hold, with what the best node lacks."""
    found = []
    for request in sorted(set(requests), key=lambda r: (r.rule, r.cpus, r.memory_mb or 0, r.gpus)):
        partition = request.partition or default_partition
        candidates = [n for n in nodes if n.partition == partition]
        if not candidates:
            found.append(f"rule {request.rule}: partition {partition!r} has no nodes (sinfo lists "
                         f"{sorted({n.partition for n in nodes})})")
            continue
        if any(fits(request, n) for n in candidates):
            continue
        asked = f"{request.cpus} CPUs, {request.memory_mb} MB, {request.gpus} GPUs"
        largest = max(candidates, key=lambda n: (n.gpus, n.cpus, n.memory_mb))
        lacks = [f"{what} {need} > {have}" for what, need, have in (
            ("CPUs", request.cpus, largest.cpus), ("memory MB", request.memory_mb or 0, largest.memory_mb),
            ("GPUs", request.gpus, largest.gpus)) if need > have]
        found.append(f"rule {request.rule} asks for {asked}; no node of partition {partition!r} holds it "
                     f"(its largest, {largest.name}: {', '.join(lacks)})")
    return found


def fits(request: Request, node: Node) -> bool:
    return (request.cpus <= node.cpus and (request.memory_mb or 0) <= node.memory_mb
            and request.gpus <= node.gpus)


def request_of(job) -> Request:
    """What the SLURM executor will ask for a Snakemake job: its ``cpus_per_task`` (or threads),
    ``mem_mb``, GPUs (``gpu`` or a ``gres`` of GPUs) and partition (``slurm_partition``, else the
    ``SBATCH_PARTITION`` sbatch reads, else the default)."""
    resources = job.resources
    gpus = resources.get("gpu") or resources.get("gpus") or gpu_count(str(resources.get("gres", "")))
    partition = resources.get("slurm_partition") or os.environ.get("SBATCH_PARTITION") or None
    return Request(job.rule.name, partition, int(resources.get("cpus_per_task") or job.threads or 1),
                   resources.get("mem_mb"), int(gpus or 0))


def min_job_age() -> int | None:
    """The cluster's ``MinJobAge`` in seconds (how long ``squeue`` lists a finished job), if it says."""
    shown = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True)
    match = re.search(r"^MinJobAge\s*=\s*(\d+)", shown.stdout, re.MULTILINE)
    return int(match.group(1)) if match else None


def preflight(workflow) -> None:
    """For a run with the SLURM executor: stop before the first submission if a planned job fits no node."""
    plugin = getattr(workflow, "executor_plugin", None)
    if plugin is None or plugin.name != "slurm" or not shutil.which("sinfo"):
        return
    listing = subprocess.run(["sinfo", "-N", "-h", "-o", SINFO_FORMAT], capture_output=True, text=True, check=True)
    nodes, default = parse_sinfo(listing.stdout)
    problems = misfits((request_of(job) for job in workflow.dag.needrun_jobs()), nodes, default)
    age = min_job_age()
    if age is not None and age < MIN_JOB_AGE:
        print(f"warning: this cluster forgets finished jobs after MinJobAge={age} s; the profiles read job states "
              f"from squeue every up to {MIN_JOB_AGE} s, so a job may finish unseen "
              f"(ask for MinJobAge >= {MIN_JOB_AGE})")
    if problems:
        raise ClusterRequestError(
            "no job was submitted: these requests fit no node of their partition (set the partition with "
            "SBATCH_PARTITION, or use the profile for your nodes: profiles/slurm for GPU nodes, "
            "profiles/slurm-cpu without GPUs):\n  " + "\n  ".join(problems))

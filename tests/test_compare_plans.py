"""benchmarks/compare_plans.py: a plan is its set of jobs, whatever order Snakemake prints them and their files in,
and every shipped config set is among those it compares."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "compare_plans.py"
spec = importlib.util.spec_from_file_location("compare_plans", SCRIPT)
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)

JOB_A = """rule train_sft:
    input: results/models/m/base/model, results/data/d/train.jsonl
    output: results/runs/m/d/sft/seed0/model, results/runs/m/d/sft/seed0/run.json
    log: results/logs/train_sft/m-d-sft-seed0.log
    jobid: 3
    reason: Missing output files: results/runs/m/d/sft/seed0/model; Input files updated by another job: a, b
    wildcards: model=m, dataset=d, sft_variant=sft, seed=0
    resources: tmpdir=/tmp, mem_mb=6000
"""
JOB_B = """localrule table:
    input: results/eval/m/d/sft/seed0/metrics.json
    output: results/table1.csv, results/table1.md
    jobid: 9
    reason: Missing output files: results/table1.csv
    wildcards: table=table1
"""


def shuffled(job: str) -> str:
    """The same job as another dry run may print it: its files in another order, another id and reason."""
    lines = job.splitlines()
    out = []
    for line in lines:
        key, _, value = line.partition(": ")
        if key.strip() in ("input", "output"):
            line = f"{key}: {', '.join(reversed(value.split(', ')))}"
        elif key.strip() == "jobid":
            line = f"{key}: 42"
        elif key.strip() == "reason":
            line = f"{key}: Input files updated by another job: b, a"
        out.append(line)
    return "\n".join(out) + "\n"


def test_a_plan_is_its_jobs_whatever_order_they_and_their_files_are_printed_in():
    first = f"Building DAG of jobs...\nJob stats:\n\n{JOB_A}\n{JOB_B}\n"
    second = f"Building DAG of jobs...\n{shuffled(JOB_B)}\n{shuffled(JOB_A)}\n"
    assert compare.jobs(first) == compare.jobs(second) and len(compare.jobs(first)) == 2
    moved = JOB_A.replace("seed0/model, results/runs/m/d/sft/seed0/run.json", "seed0/model")
    assert compare.jobs(f"{moved}\n{JOB_B}") != compare.jobs(first)  # one output fewer: another plan
    assert compare.jobs(f"{JOB_A}\n{JOB_B.replace('table1', 'table2')}") != compare.jobs(first)


def test_every_shipped_config_is_compared_alone_or_over_the_config_it_overlays():
    sets = compare.config_sets(REPO)
    named = {Path(f).name for files in sets.values() for f in files}
    assert named == {p.name for p in (REPO / "configs").glob("*.yaml")} and sets["default"] == []
    assert sets["rehearsal"] == ["configs/paper.yaml", "configs/rehearsal.yaml"]
    for files in sets.values():
        assert all((REPO / f).is_file() for f in files)

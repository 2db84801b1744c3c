"""Where the test suite's time goes: per test and per kind from pytest's JUnit XML, and per rule from the
Snakemake ``benchmark:`` files and run summaries the end-to-end tests left in pytest's temporary folders.

    python -m pytest --junitxml=ci.xml                    # or CI=true bash .ci/run with PYTEST_ADDOPTS set
    python benchmarks/ci_profile.py ci.xml [--runs /tmp/pytest-of-$USER/pytest-N] [--against before.xml]

Seconds, not ratios: a profile to read side by side with another from the same machine (``--against``), never a
timed test. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

# A test's kind, by the first pattern its id matches (file::name); a module's fixtures count toward its first test.
KINDS = [
    ("lint and format", r"test_lint_reports_nothing|test_ruff_check_passes|test_snakefmt_check_passes"),
    ("VLM rehearsal (DeepSpeed, hf)", r"test_rehearsal\.py::test_the_paper_config_runs"),
    ("VLM rehearsal's vLLM row", r"test_rehearsal\.py::test_one_model_row_runs"),
    ("vLLM checks", r"test_vllm\.py::test_(after|vllm_sees|a_text_model)"),
    ("text rehearsal", r"test_text_rehearsal\.py::test_the_text_paper_config_runs"),
    ("CI-config grid", r"test_workflow\.py::test_ci_config_runs"),
    ("SLURM", r"test_slurm\.py::test_(a_request|the_cpu_profile)"),
    ("real model (SmolLM2)", r"test_real_model\.py::test_(the_converted|every_variant|the_scale_loss|the_real_model)"),
    ("DeepSpeed ZeRO-2", r"test_deepspeed\.py::test_"),
    ("env files resolve", r"test_envs\.py::test_every_env_file"),
    ("real vocabularies' stand-ins", r"test_vocabularies\.py::test_stand_ins_carry"),
    ("unit tests", r"."),
]


def read_junit(path: Path) -> dict[str, float]:
    """Seconds per test id (``file::name``), setup and teardown included."""
    found = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/")
        found[f"{module}.py::{case.get('name')}"] = float(case.get("time", 0))
    return found


def kind_of(test: str) -> str:
    return next(kind for kind, pattern in KINDS if re.search(pattern, test))


def by_kind(times: dict[str, float]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for test, seconds in times.items():
        totals[kind_of(test)] += seconds
    return dict(totals)


def rule_times(root: Path) -> dict[str, list[float]]:
    """Wall seconds of every Snakemake job under ``root`` (its ``benchmark:`` files), by rule."""
    found: dict[str, list[float]] = defaultdict(list)
    for file in root.rglob("timings/*/*.tsv"):
        with open(file) as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if rows:
            found[file.parent.name].append(float(rows[0]["s"]))
    return dict(found)


def start_up_times(root: Path) -> list[float]:
    """Per training job: its wall seconds minus the run's own (``run.json``'s ``wall_seconds``, from loading the
    model to saving it): starting the launcher and its processes and importing the stack."""
    found = []
    for summary in root.rglob("runs/**/run.json"):
        run = json.loads(summary.read_text())
        parts = summary.parent.relative_to(summary.parents[4]).parts  # model/dataset/variant/seedN
        timing = next(iter(summary.parents[5].glob(f"timings/train/{'-'.join(parts)}.tsv")), None)
        if timing is not None and "wall_seconds" in run:
            with open(timing) as handle:
                found.append(float(next(csv.DictReader(handle, delimiter="\t"))["s"]) - run["wall_seconds"])
    return found


def engine_starts(root: Path) -> list[float]:
    """vLLM's own count of its engine start-ups (model load, KV cache, warm-up) in the jobs' logs."""
    found = []
    for log in root.rglob("logs/**/*.log"):
        for match in re.finditer(r"init engine \(profile, create kv cache, warmup model\) took ([\d.]+) s",
                                 log.read_text(errors="replace")):
            found.append(float(match.group(1)))
    return found


def table(rows: list[tuple], header: tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", type=Path)
    parser.add_argument("--against", type=Path, help="another run's JUnit XML, shown beside it (before → after)")
    parser.add_argument("--runs", type=Path, help="pytest's base temporary folder of the same run")
    parser.add_argument("--top", type=int, default=40, help="how many tests to list (longest first)")
    args = parser.parse_args()

    after = read_junit(args.junit)
    before = read_junit(args.against) if args.against else {}
    kinds_after, kinds_before = by_kind(after), by_kind(before)
    kinds = sorted(set(kinds_after) | set(kinds_before), key=lambda k: -max(kinds_after.get(k, 0),
                                                                          kinds_before.get(k, 0)))
    columns = ("before s", "after s") if before else ("s",)
    rows = [(kind, *((f"{kinds_before.get(kind, 0):.0f}",) if before else ()), f"{kinds_after.get(kind, 0):.0f}")
            for kind in kinds]
    rows.append(("**total**", *((f"{sum(before.values()):.0f}",) if before else ()), f"{sum(after.values()):.0f}"))
    print(table(rows, ("kind", *columns)))
    print()
    tests = sorted(set(after) | set(before), key=lambda t: -max(after.get(t, 0), before.get(t, 0)))[: args.top]
    print(table([(t, *((f"{before[t]:.1f}" if t in before else "–",) if before else ()),
                  f"{after[t]:.1f}" if t in after else "–") for t in tests], ("test", *columns)))
    if args.runs:
        print()
        rules = rule_times(args.runs)
        print(table(sorted(((rule, len(times), f"{sum(times):.0f}", f"{sum(times) / len(times):.1f}")
                            for rule, times in rules.items()), key=lambda r: -float(r[2])),
                    ("rule (Snakemake jobs)", "jobs", "total s", "mean s")))
        starts, engines = start_up_times(args.runs), engine_starts(args.runs)
        if starts:
            print(f"\ntraining jobs' start-up (job minus run): {len(starts)} jobs, {sum(starts):.0f} s, "
                  f"mean {sum(starts) / len(starts):.1f} s")
        if engines:
            print(f"vLLM engine start-ups in job logs: {len(engines)}, {sum(engines):.0f} s, "
                  f"mean {sum(engines) / len(engines):.1f} s")


if __name__ == "__main__":
    main()

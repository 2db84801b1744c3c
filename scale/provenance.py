"""What software wrote a result: the training stack's versions and this checkout's commit (light: the report
reads them without importing what it names)."""

from __future__ import annotations

import importlib.metadata as metadata
import subprocess
from pathlib import Path


def versions() -> dict[str, str]:
    found = {}
    for package in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None

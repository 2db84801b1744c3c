"""Built models kept by what determines them, so that runs on one machine build each only once.

A stand-in's warm-up takes a minute or two on a CPU and gives the same bits every time from the same inputs
(seeded, one thread). Where ``SCALE_BUILD_CACHE`` names a folder, a build is keyed by its settings, the
installed versions of the libraries that compute it and the source of this package, built once into that
folder and copied from there after; unset (the default), every build runs. The test suite sets it to one
folder per session: the rehearsals and the tests that need the same stand-in share one warm-up.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping

from scale.numerics import VARIABLES

ENVIRONMENT = "SCALE_BUILD_CACHE"
# what computes a build, besides this package's own source
LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "tokenizers", "safetensors", "numpy", "pillow")
PACKAGE = Path(__file__).resolve().parent


@cache
def code_version() -> str:
    """A digest of this package's files (code, templates, schemas) and the installed libraries' versions."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    for library in LIBRARIES:
        try:
            digest.update(f"{library}=={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library} absent".encode())
    return digest.hexdigest()


def numeric_path() -> dict[str, str | None]:
    """The variables that choose the libraries' CPU code path (``scale.numerics``) as this process has them: a
    build made on another path has other bits, so it is another entry, never a copy of this one."""
    return {name: os.environ.get(name) for name in VARIABLES}


def cache_key(kind: str, settings: Mapping[str, Any]) -> str:
    """The entry's name: ``kind`` and a digest of the settings (as JSON) with ``code_version()`` and the numeric
    code path (``numeric_path()``)."""
    text = json.dumps({"kind": kind, "settings": settings, "code": code_version(), "numerics": numeric_path()},
                      sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def cached_build(kind: str, settings: Mapping[str, Any], out_dir: str | Path, build: Callable[[Path], Any]) -> Path:
    """``build(out_dir)``, or a copy of the same build made before when ``SCALE_BUILD_CACHE`` is set. An entry
    appears whole or not at all (built beside it, then renamed), so a build killed half way is never reused;
    processes asking for the same entry at once build it once (a lock file beside it)."""
    out_dir = Path(out_dir)
    root = os.environ.get(ENVIRONMENT)
    if not root:
        build(out_dir)
        return out_dir
    entry = Path(root) / cache_key(kind, settings)
    entry.parent.mkdir(parents=True, exist_ok=True)
    # one builder per entry: a second process asking for it at the same time (pytest-xdist's other worker, a
    # second Snakemake job) waits for the first one's build and copies it, rather than building it again
    with open(entry.parent / f".{entry.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not entry.is_dir():
            with tempfile.TemporaryDirectory(dir=entry.parent, prefix=".building-") as work:
                build(Path(work) / "out")
                os.rename(Path(work) / "out", entry)
            print(f"{ENVIRONMENT}: built {entry.name}")
        else:
            print(f"{ENVIRONMENT}: reused {entry.name}")
    shutil.copytree(entry, out_dir, dirs_exist_ok=True)
    return out_dir

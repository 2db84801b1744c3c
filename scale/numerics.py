"""One numeric code path per job, so that a fixed seed gives the same bits on other machines: on every x86-64 CPU
with AVX2, Intel or AMD, under ``portable`` (the default); on every Intel CPU with AVX2 under ``avx2``.

The float order of a CPU job is chosen by its libraries' dispatch, not by its code: ATen picks its kernels
by the widest vector instructions it detects, oneDNN (convolutions) likewise, and MKL (torch's BLAS here)
picks one branch per processor. The tiny models amplify the last bit of a sum into points of accuracy, so
each job is told one path (docs/design.md, "Numerics"):

- ATen's AVX2 kernels (``ATEN_CPU_CAPABILITY``) and oneDNN's (``ONEDNN_MAX_CPU_ISA``): the same instructions
  in the same order on any vendor's AVX2 CPU; an AVX-512 CPU is held to them.
- MKL (torch's BLAS: every linear layer), ``MKL_CBWR``: ``portable`` (the default) takes ``COMPATIBLE``, the
  one branch MKL documents as the same on Intel and non-Intel CPUs (SSE2), at 1.5 times Table 1's time here
  (1,900 s against 1,269 s; an SFT step 1.8 times: benchmarks/bench_pin.py). ``avx2`` takes MKL's ``AVX2``
  branch, which MKL documents as the same on every Intel CPU with AVX2; on other vendors' CPUs MKL takes its
  automatic branch in its reproducible mode. The test suite's configs take ``avx2``: they compare runs on one
  machine.

Stdlib only: the rules' shell prefix runs ``python -m scale.numerics`` before each job starts, on the machine
that runs the job (a cluster's nodes may differ from the login node).
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

# config `numerics/cpu_code_path`: a pinned path, or the libraries' own choice per machine
PINS = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "portable": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"},
}
CODE_PATHS = (*PINS, "native")
# every variable a pin sets: what else a build or a test must clear or key by
VARIABLES = tuple(sorted({name for pin in PINS.values() for name in pin}))
DEFAULT = "portable"  # the schema's default too
# what the AVX2 kernels of ATen and oneDNN execute (ATen takes its AVX2 build only with FMA too)
REQUIRED_FLAGS = frozenset({"avx2", "fma"})


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The instruction-set flags of the first processor listed (empty where there is no such file)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def pinned_environment(code_path: str = DEFAULT, machine: str | None = None,
                       flags: frozenset[str] | None = None) -> tuple[dict[str, str], str | None]:
    """The variables that pin ``code_path`` on this machine, and why none are set where none are.

    ``native`` pins nothing (each machine's fastest path: faster on AVX-512, not comparable across machines).
    An x86-64 CPU without AVX2 and FMA, or another architecture, runs unpinned: told AVX2, ATen would run
    instructions such a CPU does not have."""
    if code_path not in CODE_PATHS:
        raise ValueError(f"numerics/cpu_code_path must be one of {', '.join(CODE_PATHS)}, not {code_path!r}")
    if code_path == "native":
        return {}, None
    machine = machine or platform.machine()
    if machine not in ("x86_64", "AMD64"):
        return {}, f"a {machine} CPU: the AVX2 code path is x86-64's; this job runs on its libraries' own choice"
    flags = cpu_flags() if flags is None else flags
    missing = sorted(REQUIRED_FLAGS - flags)
    if missing:
        return {}, (f"this CPU lacks {', '.join(missing)}: this job runs unpinned, so its numbers may differ in "
                    "the last bits from a pinned machine's")
    return dict(PINS[code_path]), None


def shell_exports(code_path: str = DEFAULT) -> str:
    """``export`` lines for a job's shell (none where the pin does not apply: the workflow says so once, when
    Snakemake reads the Snakefile, rather than in every job)."""
    variables, _ = pinned_environment(code_path)
    return "".join(f"export {name}={value}\n" for name, value in variables.items())


def job_prefix(code_path: str = DEFAULT) -> str:
    """The shell words that pin a job, run where the job runs (the rules' shell prefix; braces none)."""
    return f'eval "$(python -m scale.numerics {code_path})"; '


if __name__ == "__main__":
    print(shell_exports(sys.argv[1] if len(sys.argv) > 1 else DEFAULT), end="")

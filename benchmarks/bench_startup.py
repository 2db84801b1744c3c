"""What the garbage collector costs a job's start: the CPU seconds of a fresh Python importing the training stack
(``scale.train.driver``: torch, transformers, TRL, PEFT) and the evaluation one (``scale.eval.generate``), with
Python's default first-generation threshold (700) and with the one ``scale.cli`` sets, and their ratio.

Each measurement is a fresh process (imports are what a job's start is), the two settings taking turns so machine
noise hits them alike; user plus system CPU time, one thread. Below 1, the CLI's setting costs less.

    python benchmarks/bench_startup.py [--repeats 5]
"""

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys

from scale.cli import GC_FIRST_GENERATION

MODULES = "import scale.train.driver, scale.eval.generate"


def cpu_seconds(threshold: int) -> float:
    """One fresh Python's CPU time to import ``MODULES`` with the youngest generation's threshold set first."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = f"import gc; gc.set_threshold({threshold}, *gc.get_threshold()[1:]); {MODULES}"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    default = gc.get_threshold()[0]  # Python's own (700): this process never changed it
    found = {default: [], GC_FIRST_GENERATION: []}
    for repeat in range(args.repeats):
        order = list(found) if repeat % 2 == 0 else list(found)[::-1]
        for threshold in order:
            found[threshold].append(cpu_seconds(threshold))
    for threshold, times in found.items():
        print(f"threshold {threshold}: median {statistics.median(times):.2f} CPU s "
              f"({', '.join(f'{t:.2f}' for t in times)})")
    ratio = statistics.median(found[GC_FIRST_GENERATION]) / statistics.median(found[default])
    print(f"ratio {GC_FIRST_GENERATION}/{default}: {ratio:.3f}")


if __name__ == "__main__":
    main()

"""What each numeric code path (scale.numerics) costs an SFT step: bench_train.py's SCALe steps/s under
``avx2``, ``portable`` and ``native``, and their ratios.

A path is set before a process starts (the libraries read it when they load), so each measurement is a fresh
``bench_train.py`` process, the paths taking turns in a rotating order so machine noise hits them alike. One
thread, as the workflow's jobs run. Ratios of median steps/s: below 1, the first path is slower.

    python benchmarks/bench_pin.py [--family qwen2_5_vl] [--steps 30] [--repeats 3]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from scale.numerics import CODE_PATHS, VARIABLES, pinned_environment

HERE = Path(__file__).resolve().parent


def scale_rate(environment: dict, family: str, steps: int) -> float:
    """One bench_train.py run (one repeat): its SCALe loss's steps/s."""
    result = subprocess.run([sys.executable, str(HERE / "bench_train.py"), "--family", family, "--steps", str(steps),
                             "--repeats", "1"], env=environment, capture_output=True, text=True, check=True)
    return float(re.search(r"scale: median ([\d.]+) steps/s", result.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="qwen2_5_vl")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    variables = {path: pinned_environment(path) for path in CODE_PATHS}
    reason = next((why for _, why in variables.values() if why), None)
    if reason:
        sys.exit(f"nothing to measure: {reason}")
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES} | {"OMP_NUM_THREADS": "1"}
    rates = {path: [] for path in CODE_PATHS}
    for repeat in range(args.repeats):
        for i in range(len(CODE_PATHS)):
            path = CODE_PATHS[(i + repeat) % len(CODE_PATHS)]
            rates[path].append(scale_rate(base | variables[path][0], args.family, args.steps))
    median = {path: statistics.median(values) for path, values in rates.items()}
    for path, values in rates.items():
        print(f"{path:>8}: median {median[path]:.2f} steps/s over {len(values)} runs {values}")
    print(f"steps/s ratio avx2/native: {median['avx2'] / median['native']:.3f}")
    print(f"steps/s ratio portable/avx2: {median['portable'] / median['avx2']:.3f}")


if __name__ == "__main__":
    main()

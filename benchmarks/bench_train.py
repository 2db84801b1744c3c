"""SFT steps per second with the vanilla and the SCALe loss on a tiny model, and their ratio.

Runs alternate (ce, scale, ce, scale, …) so machine noise hits both alike; the
last line is the ratio of median steps/s (target ≥ 0.97: the SCALe loss costs
nothing visible in a training step).

    python benchmarks/bench_train.py [--family qwen2_5_vl] [--steps 30] [--repeats 3]
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from scale.data.records import read_records
from scale.data.synthetic import write_split
from scale.models.tiny import build_tiny, tokenizer_corpus
from scale.train.driver import train_sft


def steps_per_second(run_dir: Path) -> float:
    lines = [json.loads(l) for l in (run_dir / "train_log.jsonl").read_text().splitlines()]
    first, last = lines[0], lines[-1]  # skip the first logging interval (warm-up, compilation)
    return (last["step"] - first["step"]) / (last["seconds"] - first["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="qwen2_5_vl")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        train = write_split(root / "data", "scienceqa", "train", 64, seed=0)
        corpus = tokenizer_corpus(read_records(train))
        model = build_tiny(args.family, root / "model", corpus, seed=0)
        rates = {"ce": [], "scale": []}
        for repeat in range(args.repeats):
            for loss in (("ce", "scale") if repeat % 2 == 0 else ("scale", "ce")):
                out = root / f"{loss}-{repeat}"
                weights = {"w_think": {"start": 2.0, "end": 1.0}} if loss == "scale" else {}  # ce takes none
                train_sft(model, train, out, loss=loss, **weights,
                          training=dict(max_steps=args.steps, per_device_train_batch_size=8, logging_steps=5,
                                        save_steps=10_000, max_length=1024, disable_tqdm=True))
                rates[loss].append(steps_per_second(out))
    for loss, values in rates.items():
        print(f"{loss:>5}: median {statistics.median(values):.2f} steps/s over {len(values)} runs {values}")
    print(f"steps/s ratio (scale/ce): {statistics.median(rates['scale']) / statistics.median(rates['ce']):.3f}")


if __name__ == "__main__":
    main()

"""How long the embedded default's set-up takes: both synthetic datasets and all three tiny models.

    python benchmarks/bench_build.py   # target: under a minute on a 2-core laptop
"""

import tempfile
import time
from pathlib import Path

from scale.config import load_config
from scale.data.records import read_records
from scale.data.synthetic import write_split
from scale.models.tiny import build_tiny, tokenizer_corpus

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    config = load_config(REPO / "config.yaml")
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        start = time.perf_counter()
        for dataset, settings in config["data"]["datasets"].items():
            for split in ("train", "test", "warmup"):
                write_split(root / dataset, dataset, split, settings[split], settings["seed"],
                            settings["image_size"], settings["think_ratio"])
        data_seconds = time.perf_counter() - start
        records = [r for p in sorted(root.glob("*/*.jsonl")) for r in read_records(p)]
        corpus = tokenizer_corpus(records)
        for name, model in config["models"].items():
            build_tiny(model["family"], root / "models" / name, corpus, seed=0, sizes=model["tiny"])
        total = time.perf_counter() - start
    print(f"datasets: {data_seconds:.1f} s ({len(records)} records), models: {total - data_seconds:.1f} s")
    print(f"total set-up time: {total:.1f} s (target < 60 s)")


if __name__ == "__main__":
    main()

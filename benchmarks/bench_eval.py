"""Throughput of the hf backend: samples/s at batch size 1 and at the default batch size, and their ratio.

    python benchmarks/bench_eval.py [--family qwen2_5_vl] [--n 32] [--max-new-tokens 64]
    (target: batched ≥ 4× faster on a 2-core machine)
"""

import argparse
import tempfile
import time
from pathlib import Path

from scale.config import eval_spec, load_config
from scale.data.records import read_items, read_records
from scale.data.synthetic import write_split
from scale.eval.generate import hf_generate
from scale.models.tiny import build_tiny, tokenizer_corpus

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="qwen2_5_vl")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()
    batch = eval_spec(load_config(REPO / "config.yaml"))["batch_size"]
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        test = write_split(root / "data", "iconqa", "test", args.n, seed=0)
        corpus = tokenizer_corpus(read_records(test))
        model = build_tiny(args.family, root / "model", corpus, seed=0)
        items = read_items(test)
        rates = {}
        for size in (1, batch):
            hf_generate(model, items[:2], batch_size=size, max_new_tokens=4, progress=False)  # warm-up
            start = time.perf_counter()
            hf_generate(model, items, batch_size=size, max_new_tokens=args.max_new_tokens, progress=False)
            rates[size] = len(items) / (time.perf_counter() - start)
            print(f"batch size {size:>3}: {rates[size]:.2f} samples/s")
    print(f"speed-up of batch size {batch} over 1: {rates[batch] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()

"""Does the SCALe loss cost anything over vanilla cross-entropy?

Forward + backward of ``scale_loss`` and ``vanilla_ce`` on the same logits,
alternating A/B over several repeats; prints the median time ratio and the
peak-memory ratio (scale / vanilla) as its last two lines.

Peak memory is what the loss step adds on top of its inputs: on CUDA from the
allocator's peak counter, on CPU from the peak resident set size of a fresh
process per variant (large tensors are mmap'd, so RSS follows them).

    python benchmarks/bench_loss.py                      # B=4 T=1024 V=32000 float32 CPU
    python benchmarks/bench_loss.py --dtype bfloat16 --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from scale.loss import scale_loss, vanilla_ce
from scale.segments import Segment

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def make_inputs(args):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(args.batch, args.length, args.vocab, generator=generator)
    logits = logits.to(device=args.device, dtype=DTYPES[args.dtype]).requires_grad_(True)
    labels = torch.randint(0, args.vocab, (args.batch, args.length), generator=generator)
    prompt = args.length // 8
    labels[:, :prompt] = -100
    segments = torch.full_like(labels, int(Segment.THINK))
    segments[:, : prompt] = int(Segment.IGNORE)
    segments[:, -args.length // 50 :] = int(Segment.ANSWER)  # a short answer, as in the data
    return logits, labels.to(args.device), segments.to(args.device)


def step(variant, logits, labels, segments):
    if variant == "scale":
        loss = scale_loss(logits, labels, segments, w_think=2.0, w_answer=1.0)
    else:
        loss = vanilla_ce(logits, labels)
    loss.backward()
    logits.grad = None
    return loss


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def peak_extra_bytes(args, variant) -> int:
    """Peak memory added by one loss step over its inputs, measured in this process."""
    logits, labels, segments = make_inputs(args)
    sync(args.device)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step(variant, logits, labels, segments)
        sync(args.device)
        return torch.cuda.max_memory_allocated() - before
    before = rss_bytes()
    step(variant, logits, labels, segments)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak - before


def measure_memory_in_subprocess(args, variant) -> int:
    command = [sys.executable, __file__, "--memory-of", variant] + [
        f"--{k}={v}" for k, v in (
            ("batch", args.batch), ("length", args.length), ("vocab", args.vocab),
            ("dtype", args.dtype), ("device", args.device),
        )
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_extra_bytes"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--memory-of", choices=["scale", "vanilla"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.memory_of:
        print(json.dumps({"peak_extra_bytes": peak_extra_bytes(args, args.memory_of)}))
        return

    torch.manual_seed(0)
    logits, labels, segments = make_inputs(args)
    for variant in ("vanilla", "scale"):  # warm-up
        step(variant, logits, labels, segments)
    times = {"vanilla": [], "scale": []}
    for repeat in range(args.repeats):
        order = ("vanilla", "scale") if repeat % 2 == 0 else ("scale", "vanilla")
        for variant in order:
            sync(args.device)
            start = time.perf_counter()
            step(variant, logits, labels, segments)
            sync(args.device)
            times[variant].append(time.perf_counter() - start)
    del logits, labels, segments

    memory = {v: measure_memory_in_subprocess(args, v) for v in ("vanilla", "scale")}
    median = {v: statistics.median(t) for v, t in times.items()}
    print(
        f"shape B={args.batch} T={args.length} V={args.vocab} {args.dtype} on {args.device}, "
        f"{args.repeats} alternating repeats"
    )
    for variant in ("vanilla", "scale"):
        print(
            f"{variant:>8}: median {median[variant] * 1e3:8.1f} ms/step, "
            f"peak extra memory {memory[variant] / 2**20:8.1f} MiB"
        )
    print(f"time ratio (scale/vanilla): {median['scale'] / median['vanilla']:.3f}")
    print(f"peak-memory ratio (scale/vanilla): {memory['scale'] / memory['vanilla']:.3f}")


if __name__ == "__main__":
    main()

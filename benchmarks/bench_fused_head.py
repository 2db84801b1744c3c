"""What scoring only the labelled positions saves TRL's fused LM head on a CPU (``scale.train.fused_head``):
one forward and backward of TRL's chunked log-prob function over a Qwen-sized head (151,936 rows) for GRPO-like
batches, every position (TRL's CPU path) against the completions alone, and their ratio. One thread.

    python benchmarks/bench_fused_head.py [--hidden 64] [--repeats 3]
"""

import argparse
import statistics
import time

import torch
from trl.kernels import ChunkedLogProbFunction

# (sequences, prompt tokens, completion tokens): the rehearsal's GRPO batch, and a longer-prompt, shorter-answer one
SHAPES = ((4, 300, 128), (8, 200, 64))


def seconds(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor) -> float:
    start = time.perf_counter()
    log_probs, entropy, *_ = ChunkedLogProbFunction.apply(hidden, weight, None, labels, 1.0, 32768, None, 1.0,
                                                         ("log_probs", "entropy"))
    (log_probs.sum() + entropy.sum()).backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=151_936)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    weight = torch.randn(args.vocab, args.hidden) * 0.02
    for batch, prompt, completion in SHAPES:
        hidden = torch.randn(batch * (prompt + completion), args.hidden, requires_grad=True)
        labels = torch.randint(0, args.vocab, (len(hidden),))
        labelled = (torch.arange(prompt + completion) >= prompt).repeat(batch)
        every, only = [], []
        for _ in range(args.repeats):
            every.append(seconds(hidden, weight, labels))
            only.append(seconds(hidden[labelled], weight, labels[labelled]))
        ratio = statistics.median(every) / statistics.median(only)
        print(f"{batch} x ({prompt} prompt + {completion} completion) tokens: every position "
              f"{statistics.median(every):.2f} s, labelled only {statistics.median(only):.2f} s: {ratio:.1f}x")


if __name__ == "__main__":
    main()

"""Does the SCALe loss cost anything over vanilla cross-entropy, and over TRL's own SFT loss?

1. On logits: forward + backward of ``scale_loss`` and ``vanilla_ce`` on the
   same logits, alternating A/B; the median time ratio and the peak-memory ratio.
2. Paper-shaped heads (``--paper-shapes``, the default): a model whose LM head
   has Qwen2.5-VL-3B's shape (hidden 2,048, vocabulary 151,936) or Gemma 3 4B's
   (2,560, 262,208) on a one-layer backbone (the head is what is measured),
   frozen head and embeddings as under LoRA, one sample with 1,024–2,048 target
   tokens. Each of (a) SCALe through TRL's fused LM head (``ScaleSFTTrainer``,
   the default), (b) TRL's default SFT loss (``SFTTrainer.compute_loss`` itself)
   and (c) SCALe through full logits (``per_token="full_logits"``): peak memory
   of one step, each in a fresh process; time per step as the median of three
   rounds in one process, the variants interleaved (the first round warms up).
   The last three lines, for the largest case, are the ratios other tools read.

Peak memory is what the step adds on top of the model and batch: on CUDA from
the allocator's peak counter, on CPU from the peak resident set size of a fresh
process per variant (large tensors are mmap'd, so RSS follows them).

    python benchmarks/bench_loss.py                      # both sections, float32 CPU
    python benchmarks/bench_loss.py --no-paper-shapes    # the logits section only
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


PAPER_CASES = (  # (name, hidden, vocabulary, target tokens); the last is the largest
    ("qwen2.5-vl-3b head", 2048, 151_936, 2048),
    ("gemma-3-4b head", 2560, 262_208, 1024),
)
HEAD_VARIANTS = {"a": "scale fused", "b": "trl default", "c": "scale full logits"}


def head_trainer(hidden: int, vocab: int, variant: str):
    """A ScaleSFTTrainer around a one-layer model with a paper-sized, frozen head and embeddings."""
    from datasets import Dataset
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from scale.schedule import WeightSchedule
    from scale.train.sft import ScaleSFTConfig, ScaleSFTTrainer

    torch.manual_seed(0)
    config = Qwen2Config(hidden_size=hidden, vocab_size=vocab, num_hidden_layers=1, intermediate_size=256,
                         num_attention_heads=16, num_key_value_heads=2, tie_word_embeddings=True,
                         max_position_embeddings=4096)
    model = Qwen2ForCausalLM(config)
    model.get_input_embeddings().weight.requires_grad_(False)  # tied: the head too, as under LoRA
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<pad>": 0}, "<pad>")),
                                        pad_token="<pad>")
    args = ScaleSFTConfig(output_dir="/tmp/bench_loss_unused", report_to="none", use_cpu=True, bf16=False,
                          dataset_kwargs={"skip_prepare_dataset": True}, remove_unused_columns=False, loss="scale",
                          w_think=WeightSchedule.from_config({"start": 2.0, "end": 1.0}))
    return ScaleSFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict({"input_ids": [[0]]}), processing_class=tokenizer,
        data_collator=lambda rows: rows, per_token="full_logits" if variant == "c" else "fused",
    )


def head_batch(vocab: int, targets: int, prompt: int = 256) -> dict:
    generator = torch.Generator().manual_seed(0)
    length = prompt + targets
    input_ids = torch.randint(0, vocab, (1, length), generator=generator)
    labels = input_ids.clone()
    labels[:, :prompt] = -100
    segments = torch.full_like(labels, int(Segment.THINK))
    segments[:, :prompt] = int(Segment.IGNORE)
    segments[:, -max(1, targets // 50):] = int(Segment.ANSWER)
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels,
            "segments": segments}


def head_step(trainer, variant: str, batch: dict, tokens, samples) -> None:
    from trl import SFTTrainer

    trainer._global_counts = (tokens, samples, samples)  # tokens, samples with a segment, with any label
    inputs = dict(batch)
    if variant == "b":  # TRL's own loss: no segments
        inputs.pop("segments")
        loss = SFTTrainer.compute_loss(trainer, trainer.model, inputs, num_items_in_batch=tokens)
    else:
        loss = trainer.compute_loss(trainer.model, inputs)
    loss.backward()
    trainer.model.zero_grad(set_to_none=True)


def head_setup(hidden: int, vocab: int, targets: int, variant: str):
    trainer = head_trainer(hidden, vocab, variant)
    trainer.model.train()
    batch = head_batch(vocab, targets)
    return trainer, batch, (batch["labels"][:, 1:] != -100).sum(), torch.tensor(1)


def measure_head_memory(hidden: int, vocab: int, targets: int, variant: str) -> dict:
    """In this (fresh) process: the peak memory one step adds over the model and batch."""
    trainer, batch, tokens, samples = head_setup(hidden, vocab, targets, variant)
    before = rss_bytes()
    head_step(trainer, variant, batch, tokens, samples)
    return {"peak_extra_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before}


def measure_head_time(hidden: int, vocab: int, targets: int, rounds: int) -> dict:
    """One model, the three variants interleaved round by round (a fair A/B on a shared CPU): median s/step."""
    trainer, batch, tokens, samples = head_setup(hidden, vocab, targets, "a")
    times = {variant: [] for variant in HEAD_VARIANTS}
    for round_ in range(rounds + 1):  # round 0 warms up
        for variant in HEAD_VARIANTS if round_ % 2 == 0 else tuple(reversed(HEAD_VARIANTS)):
            trainer.per_token = "full_logits" if variant == "c" else "fused"
            start = time.perf_counter()
            head_step(trainer, variant, batch, tokens, samples)
            if round_:
                times[variant].append(time.perf_counter() - start)
    return {variant: statistics.median(found) for variant, found in times.items()}


def in_subprocess(*arguments: str) -> dict:
    output = subprocess.run([sys.executable, __file__, *arguments], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def paper_shapes(rounds: int) -> None:
    results = {}
    for name, hidden, vocab, targets in PAPER_CASES:
        shape = f"{hidden},{vocab},{targets}"
        memory = {v: in_subprocess("--head-memory-of", f"{shape},{v}")["peak_extra_bytes"] for v in HEAD_VARIANTS}
        seconds = in_subprocess("--head-time-of", shape, f"--repeats={rounds}")
        results[name] = {v: {"peak_extra_bytes": memory[v], "seconds": seconds[v]} for v in HEAD_VARIANTS}
        print(f"{name}: hidden {hidden}, vocabulary {vocab}, {targets} target tokens, frozen head, float32 CPU, "
              f"{rounds} interleaved rounds")
        for variant, label in HEAD_VARIANTS.items():
            found = results[name][variant]
            print(f"  ({variant}) {label:>17}: {found['seconds']:7.2f} s/step, "
                  f"peak extra memory {found['peak_extra_bytes'] / 2**20:8.1f} MiB")
    a, b, c = (results[PAPER_CASES[-1][0]][v] for v in "abc")
    print(f"peak-memory ratio (scale fused / trl default): {a['peak_extra_bytes'] / b['peak_extra_bytes']:.3f}")
    print(f"time ratio (scale fused / trl default): {a['seconds'] / b['seconds']:.3f}")
    print(f"peak-memory saving (full logits / scale fused): {c['peak_extra_bytes'] / a['peak_extra_bytes']:.2f}")


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
    parser.add_argument("--paper-shapes", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure the paper-shaped heads (minutes on a CPU)")
    parser.add_argument("--memory-of", choices=["scale", "vanilla"], help=argparse.SUPPRESS)
    parser.add_argument("--head-memory-of", help=argparse.SUPPRESS)
    parser.add_argument("--head-time-of", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.memory_of:
        print(json.dumps({"peak_extra_bytes": peak_extra_bytes(args, args.memory_of)}))
        return
    if args.head_memory_of:
        hidden, vocab, targets, variant = args.head_memory_of.split(",")
        print(json.dumps(measure_head_memory(int(hidden), int(vocab), int(targets), variant)))
        return
    if args.head_time_of:
        hidden, vocab, targets = map(int, args.head_time_of.split(","))
        print(json.dumps(measure_head_time(hidden, vocab, targets, args.repeats)))
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
    if args.paper_shapes:
        paper_shapes(rounds=3)


if __name__ == "__main__":
    main()

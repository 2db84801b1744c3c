"""The paper-scale check for a GPU machine: Qwen2.5-VL-3B's real dimensions, random weights, one command.

Builds ``Qwen2_5_VLForConditionalGeneration`` from the checkpoint's config values
(REAL_FORMATS.md; nothing is downloaded), in bf16 with LoRA (r 64, the paper
config's) on the language model and gradient checkpointing, and reports for the
``ce`` and ``scale`` losses, at 4,096 and 8,192 tokens: SFT steps/s and peak GPU
memory through TRL's fused LM head (what ``ScaleSFTTrainer`` trains with) and
through full logits (the old path). Then greedy batched generation throughput
with ``model.generate``, the engine of the ``hf`` evaluation backend. About
3 minutes on one H100.

Needs torch, transformers, peft, accelerate, and TRL with datasets (the fused
head lives in ``trl.trainer.utils``): on a bare machine carry them as wheels.

    python benchmarks/gpu_check.py            # on a GPU
    python benchmarks/gpu_check.py --tiny     # the same code on CPU at toy sizes (the test suite runs it)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's scale, installed or not

REAL = dict(  # Qwen2.5-VL-3B-Instruct (REAL_FORMATS.md)
    text=dict(hidden_size=2048, num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=2,
              intermediate_size=11008, vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768,
              rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [16, 24, 24]}),
    vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, patch_size=14, spatial_merge_size=2,
                temporal_patch_size=2, out_hidden_size=2048, window_size=112, fullatt_block_indexes=[7, 15, 23, 31]),
    lengths=(4096, 8192), steps=5, warmup=2, generation=dict(batch=32, prompt=256, new_tokens=128),
)
TINY = dict(
    text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
              vocab_size=4096, tie_word_embeddings=True, max_position_embeddings=1024,
              rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}),
    vision=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=14, spatial_merge_size=2,
                temporal_patch_size=2, out_hidden_size=64, window_size=56, fullatt_block_indexes=[0]),
    lengths=(64, 128), steps=1, warmup=1, generation=dict(batch=2, prompt=16, new_tokens=4),
)


def build_model(sizes: dict, device: str, dtype):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    config = Qwen2_5_VLConfig(text_config=dict(sizes["text"], eos_token_id=1, pad_token_id=0, bos_token_id=None),
                              vision_config=sizes["vision"], image_token_id=3, video_token_id=4,
                              vision_start_token_id=5, vision_end_token_id=6)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration(config).to(dtype)
    return model


def lora_model(model):
    from peft import LoraConfig, get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    from scale.models.families import LANGUAGE_LORA_TARGETS

    add_fused_lm_head(model)  # as SFTTrainer does, before PEFT wraps the model
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(r=64, lora_alpha=128, lora_dropout=0.0,
                                             target_modules=LANGUAGE_LORA_TARGETS, task_type="CAUSAL_LM"))
    model.train()
    return model


def batch(length: int, vocab: int, device: str) -> dict:
    """One sequence: a quarter prompt (ignored), then a long think segment and a short answer."""
    from scale.segments import Segment

    generator = torch.Generator().manual_seed(length)
    input_ids = torch.randint(10, vocab, (1, length), generator=generator)
    labels = input_ids.clone()
    labels[:, : length // 4] = -100
    segments = torch.full_like(labels, int(Segment.THINK))
    segments[:, : length // 4] = int(Segment.IGNORE)
    segments[:, -max(1, length // 50):] = int(Segment.ANSWER)
    return {k: v.to(device) for k, v in dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                               labels=labels, segments=segments).items()}


def train_step(model, inputs: dict, loss_name: str, per_token: str, optimizer) -> float:
    from scale.loss import scale_loss_from_token_ce
    from scale.train.sft import per_token_ce

    inputs = dict(inputs)
    segments = inputs.pop("segments")
    ce, target_mask, _ = per_token_ce(model, dict(inputs, use_cache=False), per_token)
    if loss_name == "ce":
        loss = ce.sum() / target_mask.sum()
    else:
        loss = scale_loss_from_token_ce(ce, target_mask, segments, w_think=2.0, w_answer=1.0)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure_training(model, sizes: dict, device: str) -> list[dict]:
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    rows = []
    for length in sizes["lengths"]:
        inputs = batch(length, sizes["text"]["vocab_size"], device)
        for loss_name in ("ce", "scale"):
            for per_token in ("fused", "full_logits"):
                for _ in range(sizes["warmup"]):
                    train_step(model, inputs, loss_name, per_token, optimizer)
                sync(device)
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                times = []
                for _ in range(sizes["steps"]):
                    start = time.perf_counter()
                    value = train_step(model, inputs, loss_name, per_token, optimizer)
                    sync(device)
                    times.append(time.perf_counter() - start)
                peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
                rows.append({"tokens": length, "loss": loss_name, "path": per_token, "loss_value": round(value, 4),
                             "steps_per_s": round(1 / statistics.median(times), 3),
                             "peak_gib": None if peak is None else round(peak, 2)})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def measure_generation(model, sizes: dict, device: str) -> dict:
    spec = sizes["generation"]
    model.eval()
    input_ids = torch.randint(10, sizes["text"]["vocab_size"], (spec["batch"], spec["prompt"]), device=device)
    with torch.inference_mode():
        model.generate(input_ids=input_ids[:, :8], max_new_tokens=2, do_sample=False)  # warm-up
        sync(device)
        start = time.perf_counter()
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                             max_new_tokens=spec["new_tokens"], min_new_tokens=spec["new_tokens"], pad_token_id=0)
        sync(device)
    seconds = time.perf_counter() - start
    new = (out.shape[1] - spec["prompt"]) * spec["batch"]
    return {"generation": f"batch {spec['batch']}, {spec['prompt']}-token prompts, {spec['new_tokens']} new tokens",
            "tokens_per_s": round(new / seconds, 1), "sequences_per_s": round(spec["batch"] / seconds, 2)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="toy sizes on CPU (what the test suite runs)")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else REAL
    device = "cpu" if args.tiny else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no GPU here: run with --tiny for the CPU version")
    dtype = torch.float32 if args.tiny else torch.bfloat16
    started = time.perf_counter()
    base = build_model(sizes, device, dtype)
    print(json.dumps({"model": "Qwen2.5-VL-3B dimensions" if not args.tiny else "tiny",
                      "parameters_b": round(sum(p.numel() for p in base.parameters()) / 1e9, 3),
                      "device": torch.cuda.get_device_name() if device == "cuda" else "cpu"}), flush=True)
    model = lora_model(base)
    rows = measure_training(model, sizes, device)
    generation = measure_generation(model.merge_and_unload(), sizes, device)
    print(json.dumps(generation), flush=True)
    for length in sizes["lengths"]:
        for loss_name in ("ce", "scale"):
            fused, full = (next(r for r in rows if (r["tokens"], r["loss"], r["path"]) == (length, loss_name, p))
                           for p in ("fused", "full_logits"))
            memory = (f", peak {fused['peak_gib']} vs {full['peak_gib']} GiB" if fused["peak_gib"] is not None else "")
            print(f"{length} tokens, {loss_name}: fused {fused['steps_per_s']} vs full logits "
                  f"{full['steps_per_s']} steps/s{memory}")
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

"""Everything around a training run that is neither the loss nor checkpointing: trainer settings,
LoRA, data, logging, the run summary.

A run directory holds ``model/`` (see ``scale.train.checkpoints`` for how it is
written, and when a run resumes), ``train_log.jsonl`` (one line per logging
step) and ``run.json`` (config, seed, versions, wall time, tokens, dropped samples).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.distributed as dist
from datasets import Dataset
from peft import LoraConfig, get_peft_model
from transformers import TrainerCallback, set_seed

from scale import provenance
from scale.data.records import load_image
from scale.models.families import tokenizer_of
from scale.train.checkpoints import checkpoint_dir
from scale.train.collate import text_example


def trainer_args(config_class, out_dir, training: Mapping[str, Any], seed: int, **stage_settings):
    """A TRL config (``SFTConfig``, ``GRPOConfig``) with the defaults every run shares, then the
    stage's own settings, then the config's ``training`` mapping; an unknown key is a clear error."""
    settings = dict(
        output_dir=str(checkpoint_dir(out_dir)),  # resumable: see scale.train.checkpoints
        seed=seed,
        data_seed=seed,
        report_to="none",
        save_strategy="steps",
        save_total_limit=2,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        use_cpu=not torch.cuda.is_available(),
        bf16=False,  # TRL defaults to bf16; the paper config turns it on for GPUs
    )
    settings.update(stage_settings)
    settings.update(training)
    try:
        return config_class(**settings)
    except TypeError as error:
        raise ValueError(f"bad {config_class.__name__} training setting: {error}") from error


def lora_config(lora: Mapping[str, Any], family):
    """PEFT LoRA settings from the config; targets default to the family's language-model projections."""
    return LoraConfig(
        r=lora.get("r", 16), lora_alpha=lora.get("alpha", 32), lora_dropout=lora.get("dropout", 0.05),
        target_modules=lora.get("target_modules", family.lora_target_modules), task_type="CAUSAL_LM",
    )


def add_lora(model, lora: Mapping[str, Any], family, seed: int):
    """``model`` with LoRA adapters whose random init follows ``seed``: PEFT draws them from torch's
    global generator, which nothing has seeded when a run builds its model (the Trainer seeds later)."""
    set_seed(seed)
    return get_peft_model(model, lora_config(lora, family))


def distribution(trainer) -> dict[str, Any]:
    """How the run was spread over processes, read off the live trainer and its engine (not the config)."""
    accelerator = trainer.accelerator
    found: dict[str, Any] = {
        "processes": accelerator.num_processes,
        "distributed_type": str(getattr(accelerator.distributed_type, "value", accelerator.distributed_type)),
        "backend": dist.get_backend() if dist.is_available() and dist.is_initialized() else None,
        "mixed_precision": accelerator.mixed_precision,
        "deepspeed": None,
    }
    engine = getattr(trainer, "deepspeed", None)
    if trainer.is_deepspeed_enabled and engine is not None:
        import deepspeed

        found["deepspeed"] = {
            "version": deepspeed.__version__,
            "zero_stage": int(engine.zero_optimization_stage()),
            "optimizer": type(engine.optimizer).__name__,
            "bf16": bool(engine.bfloat16_enabled()),
        }
    return found


def load_images(items: list[tuple[dict, Path]]) -> list[list]:
    """One list of pictures per record (empty for text-only), as TRL's VLM collator takes them."""
    return [[image] if (image := load_image(record, data_dir)) is not None else [] for record, data_dir in items]


def conversation_dataset(records: list[dict], images: list[list], build_messages):
    """A ``datasets.Dataset`` with ``messages`` and ``images`` columns, as TRL's VLM collator wants."""
    return Dataset.from_dict({"messages": [build_messages(r) for r in records], "images": images})


def text_dataset(tokenizer, records: list[dict], build_messages, chat_template: str | None):
    """A ``datasets.Dataset`` of tokenised text conversations (ids, labels, segments), as TRL's text
    collator takes them."""
    examples = [text_example(tokenizer, build_messages(r), chat_template) for r in records]
    return Dataset.from_dict({key: [e[key] for e in examples] for key in ("input_ids", "labels", "segments")})


def token_lengths(processor, records: list[dict], images: list[list], build_messages, chunk: int = 64) -> list[int]:
    """Each record's tokenised length, image tokens included, as the collator will see it.

    The processor is called on runs of up to ``chunk`` records that all have pictures or all have
    none (a batch cannot mix them): its per-call overhead, not the tokenising, is most of the cost,
    and a warm-up of 8,000 records spent 20 s here one record at a time."""
    lengths: list[int] = []
    start = 0
    while start < len(records):
        with_pictures = bool(images[start])
        stop = start + 1
        while stop < len(records) and stop - start < chunk and bool(images[stop]) == with_pictures:
            stop += 1
        texts = [processor.apply_chat_template(build_messages(r), tokenize=False) for r in records[start:stop]]
        if tokenizer_of(processor) is processor:  # a text model's tokenizer
            encoded = processor(texts, add_special_tokens=False)
        else:
            encoded = processor(text=texts, images=images[start:stop] if with_pictures else None,
                                add_special_tokens=False)
        lengths.extend(len(ids) for ids in encoded["input_ids"])
        start = stop
    return lengths


def drop_overlong(processor, records: list[dict], images: list[list], build_messages, max_length: int | None):
    """The records (and their pictures) that fit ``max_length`` tokens whole, image tokens included,
    and how many did not. A truncated sample would lose its answer segment, so it is never trained on."""
    if not max_length:
        return records, images, 0
    fits = [n <= max_length for n in token_lengths(processor, records, images, build_messages)]
    kept_records = [r for r, ok in zip(records, fits) if ok]
    kept_images = [p for p, ok in zip(images, fits) if ok]
    return kept_records, kept_images, len(records) - len(kept_records)


def jsonl_log_callback(path: str | Path):
    """A TrainerCallback writing each logging step to ``path``, with tokens/s and elapsed seconds."""
    class JsonlLogCallback(TrainerCallback):
        def __init__(self) -> None:
            self.path = Path(path)
            self.started = time.perf_counter()
            self.last_time = self.started
            self.last_tokens = None

        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if state.global_step == 0 or not self.path.exists():
                self.path.write_text("")
            else:  # resumed: keep only lines up to the checkpoint's step
                lines = [json.loads(l) for l in self.path.read_text().splitlines() if l.strip()]
                kept = [l for l in lines if l["step"] <= state.global_step]
                self.path.write_text("".join(json.dumps(l, sort_keys=True) + "\n" for l in kept))

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            now = time.perf_counter()
            tokens = logs.get("num_tokens")
            rate = None
            if tokens is not None and self.last_tokens is not None and now > self.last_time:
                rate = (tokens - self.last_tokens) / (now - self.last_time)
            self.last_time, self.last_tokens = now, tokens
            line = {"step": state.global_step, "epoch": logs.get("epoch"), "seconds": round(now - self.started, 3),
                    "tokens_per_s": rate}
            line.update({k: v for k, v in logs.items() if k not in line})
            with open(self.path, "a") as out:
                out.write(json.dumps(line, sort_keys=True) + "\n")

    return JsonlLogCallback()


def write_run_summary(path: str | Path, summary: Mapping[str, Any]) -> None:
    record = dict(summary)
    record.setdefault("versions", provenance.versions())
    record.setdefault("git_commit", provenance.git_commit())
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")

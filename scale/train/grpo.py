"""GRPO from an SFT variant's model: TRL's ``GRPOTrainer`` with the paper's rewards (eqs. 5 and 6).

Prompts carry the image and the shared instruction; rewards are the format
reward and the exact-match accuracy reward with weights from config. The
format reward also logs the share of invalid completions (Table 2's
definition) through TRL's ``log_metric`` hook. At paper scale generation runs
in vLLM, colocated with training; on CPU through TRL's own generation.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from scale.answers import is_valid
from scale.rewards import accuracy_reward_func, completion_text, format_reward_func


def format_reward(completions, log_metric=None, **kwargs) -> list[float]:
    """Eq. 5 per completion; logs ``invalid_fraction`` of the batch when TRL passes ``log_metric``."""
    if log_metric is not None:
        texts = [completion_text(c) for c in completions]
        log_metric("invalid_fraction", sum(not is_valid(t) for t in texts) / max(1, len(texts)))
    return format_reward_func(completions)


def accuracy_reward(completions, solution, **kwargs) -> list[float]:
    """Exact match of the extracted answer against the record's gold answer."""
    return accuracy_reward_func(completions, solution)


def grpo_dataset(items: list[tuple[dict, Path]]):
    """Columns TRL's GRPOTrainer takes for VLMs: ``prompt`` (conversation), ``image``, ``solution``."""
    from datasets import Dataset

    from scale.prompts import prompt_messages
    from scale.train.runs import load_images

    images = load_images(items)
    return Dataset.from_dict({
        "prompt": [prompt_messages(record) for record, _ in items],
        "image": [found[0] if found else None for found in images],
        "solution": [record["answer"] for record, _ in items],
    })


def grpo_config(out_dir, training: dict[str, Any], rewards: dict[str, float], seed: int, use_vllm: bool):
    """TRL's ``GRPOConfig``: reward weights from config (eq. 6), vLLM colocated when asked for."""
    from trl import GRPOConfig

    from scale.train.runs import trainer_args

    vllm = {"use_vllm": use_vllm, **({"vllm_mode": "colocate"} if use_vllm else {})}
    return trainer_args(GRPOConfig, out_dir, training, seed,
                        reward_weights=[rewards.get("w_format", 1.0), rewards.get("w_accuracy", 1.0)], **vllm)


def train_grpo(
    model_dir,
    train_paths,
    out_dir,
    *,
    training: dict[str, Any] | None = None,
    rewards: dict[str, float] | None = None,
    lora: dict[str, Any] | None = None,
    use_vllm: bool = False,
    seed: int = 0,
    config_snapshot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """GRPO on the prompts of ``train_paths`` from ``model_dir`` into ``out_dir/model``."""
    from trl import GRPOTrainer

    from scale.data.records import as_path_list, read_items
    from scale.models.families import family_of, load_model, load_processor
    from scale.train import runs

    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    training = dict(training or {})
    rewards = dict(rewards or {})
    args = grpo_config(out_dir, training, rewards, seed, use_vllm)
    processor = load_processor(model_dir)
    processor.tokenizer.padding_side = "left"
    model = load_model(model_dir, dtype=torch.bfloat16 if args.bf16 else torch.float32)
    family = family_of(model_dir)
    peft_config = runs.lora_config(lora, family) if lora else None
    paths = as_path_list(train_paths)  # once: a generator would be spent by the first reader
    items = read_items(paths)
    trainer = GRPOTrainer(
        model=model, args=args, train_dataset=grpo_dataset(items), processing_class=processor,
        reward_funcs=[format_reward, accuracy_reward], peft_config=peft_config,
        callbacks=[runs.jsonl_log_callback(out_dir / "train_log.jsonl")],
    )
    key = runs.run_key([model_dir, *paths], dict(training=training, rewards=rewards, lora=lora,
                                                 use_vllm=use_vllm, seed=seed))
    last = runs.resume_point(trainer, key)
    trainer.train(resume_from_checkpoint=last)
    runs.finalize_model(trainer, processor, out_dir / "model", merge_lora=bool(lora))
    summary = {
        "kind": "grpo",
        "seed": seed,
        "model_dir": str(model_dir),
        "family": family.name,
        "prompts": len(items),
        "steps": trainer.state.global_step,
        "resumed_from": last,
        "train_tokens": int(trainer.state.num_input_tokens_seen or 0),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "training": training,
        "rewards": rewards,
        "lora": lora,
        "use_vllm": use_vllm,
        "config": config_snapshot,
    }
    runs.write_run_summary(out_dir / "run.json", summary)
    return summary

"""GRPO from an SFT variant's model: TRL's ``GRPOTrainer`` with the paper's rewards (eqs. 5 and 6).

Prompts carry the image and the shared instruction; rewards are the format
reward and the exact-match accuracy reward (``scale.rewards``) with weights from
config. The format reward also logs the share of invalid completions (Table 2's
definition) through TRL's ``log_metric`` hook. With ``use_vllm`` generation runs
in vLLM colocated with training (the paper's setting; on a CPU, vLLM's CPU build,
see ``scale.vllm_cpu``); otherwise through TRL's own generation.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from scale.rewards import accuracy_reward_func, format_reward_func


def grpo_trainer_class():
    """TRL's ``GRPOTrainer`` resuming through ``scale.train.checkpoints`` (exact weights or an error)."""
    from trl import GRPOTrainer

    from scale.train.checkpoints import ExactResume

    return type("ScaleGRPOTrainer", (ExactResume, GRPOTrainer), {})


def grpo_dataset(items: list[tuple[dict, Path]]):
    """Columns TRL's GRPOTrainer takes: ``prompt`` (conversation), ``image`` (VLMs: none when no record has a
    picture, which TRL reads as a text dataset), ``solution``."""
    from datasets import Dataset

    from scale.prompts import prompt_messages
    from scale.train.runs import load_images

    images = load_images(items)
    columns = {"prompt": [prompt_messages(record) for record, _ in items]}
    if any(images):
        columns["image"] = [found[0] if found else None for found in images]
    columns["solution"] = [record["answer"] for record, _ in items]
    return Dataset.from_dict(columns)


def send_stored_names(trainer) -> None:
    """Make TRL's colocate weight sync name each weight as the checkpoint stores it.

    TRL pushes ``named_parameters()`` names with only wrapper prefixes stripped: transformers 5's module
    names (``model.vision_tower.embeddings.…`` for Gemma 3 and LLaVA-NeXT). vLLM's models load stored
    checkpoint names (``vision_tower.vision_model.embeddings.…``) and stop at the first other one, so
    each name is renamed back through transformers' own conversion (``scale.models.stored_layout``).
    """
    generation = getattr(trainer, "vllm_generation", None)
    if generation is None:
        return
    from scale.models.stored_layout import StoredNames

    stored = StoredNames(trainer.model)
    strip = generation._fix_param_name_to_vllm
    generation._fix_param_name_to_vllm = lambda name, extra_prefixes=None: stored(strip(name, extra_prefixes))


def grpo_config(out_dir, training: dict[str, Any], rewards: dict[str, float], seed: int, use_vllm: bool):
    """TRL's ``GRPOConfig``: reward weights from config (eq. 6), vLLM colocated when asked for."""
    from trl import GRPOConfig

    from scale.rewards import REWARD_WEIGHTS
    from scale.train.runs import trainer_args

    vllm = {"use_vllm": use_vllm, **({"vllm_mode": "colocate"} if use_vllm else {})}
    weights = {**REWARD_WEIGHTS, **rewards}
    return trainer_args(GRPOConfig, out_dir, training, seed,
                        reward_weights=[weights["w_format"], weights["w_accuracy"]], **vllm)


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
    callbacks: list | None = None,
) -> dict[str, Any]:
    """GRPO on the prompts of ``train_paths`` from ``model_dir`` into ``out_dir/model``.

    GRPO's update is exactly zero when no group of completions differs in reward
    (all advantages 0: a policy that never writes the format, say). Such a run is
    not an error, since the data decide it, but ``run.json`` says
    ``weights_moved: false`` and the log's ``frac_reward_zero_std`` shows why.
    """
    from scale.data.records import as_path_list, read_items
    from scale.models.families import family_of, load_model, load_processor, tokenizer_of
    from scale.train import checkpoints, runs

    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    training = dict(training or {})
    rewards = dict(rewards or {})
    args = grpo_config(out_dir, training, rewards, seed, use_vllm)
    if use_vllm:
        from scale import vllm_cpu

        vllm_cpu.prepare()  # a no-op on a GPU
    processor = load_processor(model_dir)
    tokenizer_of(processor).padding_side = "left"
    model = load_model(model_dir, dtype=torch.bfloat16 if args.bf16 else torch.float32)
    family = family_of(model_dir)
    peft_config = runs.lora_config(lora, family) if lora else None
    paths = as_path_list(train_paths)  # once: a generator would be spent by the first reader
    items = read_items(paths)
    trainer = grpo_trainer_class()(
        model=model, args=args, train_dataset=grpo_dataset(items), processing_class=processor,
        reward_funcs=[format_reward_func, accuracy_reward_func], peft_config=peft_config,
        callbacks=[runs.jsonl_log_callback(out_dir / "train_log.jsonl"), *(callbacks or [])],
    )
    send_stored_names(trainer)
    key = checkpoints.run_key([model_dir, *paths], dict(training=training, rewards=rewards, lora=lora,
                                                        use_vllm=use_vllm, seed=seed))
    last = checkpoints.resume_point(trainer, key)
    start_step = checkpoints.step_of(last)  # read now: checkpoint rotation may delete it during training
    before = checkpoints.trainable_snapshot(trainer.model)
    trainer.train(resume_from_checkpoint=last)
    moved = checkpoints.check_trained(trainer, start_step, before, require_change=False)
    if not moved:
        print("GRPO moved no weight: no group of completions differed in reward (see frac_reward_zero_std)")
    checkpoints.finish_run(trainer, processor, out_dir / "model", merge_lora=bool(lora))
    summary = {
        "kind": "grpo",
        "seed": seed,
        "model_dir": str(model_dir),
        "family": family.name,
        "prompts": len(items),
        "steps": trainer.state.global_step,
        "resumed_from": last,
        "weights_moved": moved,
        "train_tokens": int(trainer.state.num_input_tokens_seen or 0),  # TRL gathers it over processes
        "processes": trainer.accelerator.num_processes,
        "distribution": runs.distribution(trainer),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "training": training,
        "rewards": rewards,
        "lora": lora,
        "use_vllm": use_vllm,
        "config": config_snapshot,
    }
    if trainer.accelerator.is_main_process:
        runs.write_run_summary(out_dir / "run.json", summary)
    return summary

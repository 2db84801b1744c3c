"""The workflow's training runs, SFT and GRPO, on one skeleton: build the stage's TRL config, load the model,
read the data, make the trainer, then ``_run``: resume where a killed attempt stopped, train, check the weights
moved, put the model in place, and write ``run.json``.

The trainers themselves (``scale.train.sft``, ``scale.train.grpo``) are library code that knows nothing of
run folders; everything here is about a run folder: ``out_dir/model`` (only when complete),
``out_dir/train_log.jsonl``, ``out_dir/run.json``, and checkpoints beside it (``scale.train.checkpoints``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch

from scale.data.records import as_path_list, read_items
from scale.loss_settings import LossSettings
from scale.models.families import family_of, load_model, load_processor, tokenizer_of
from scale.prompts import training_messages
from scale.rewards import REWARD_WEIGHTS, accuracy_reward_func, format_reward_func
from scale.train import checkpoints, runs
from scale.train.collate import SegmentCollator, TextSegmentCollator, training_chat_template
from scale.train.grpo import ScaleGRPOTrainer, grpo_dataset, send_stored_names
from scale.train.sft import ScaleSFTConfig, ScaleSFTTrainer


def sft_config(out_dir, training: dict[str, Any], seed: int, text: bool = False, **loss: Any) -> ScaleSFTConfig:
    """``ScaleSFTConfig``: completion-only (assistant turns), no packing, the config's settings, and the loss
    (``loss``, ``w_think``, ``w_answer``). A text model's examples come tokenised with their labels
    (``scale.train.collate.text_example``), so TRL prepares nothing and builds no labels of its own."""
    if text:
        stage = dict(assistant_only_loss=False, dataset_kwargs={"skip_prepare_dataset": True})
    else:
        stage = dict(assistant_only_loss=True)
    return runs.trainer_args(ScaleSFTConfig, out_dir, training, seed, packing=False, disable_tqdm=False,
                             **stage, **loss)


def grpo_config(out_dir, training: dict[str, Any], rewards: dict[str, float], seed: int, use_vllm: bool):
    """TRL's ``GRPOConfig``: reward weights from config (eq. 6), vLLM colocated when asked for."""
    from trl import GRPOConfig

    vllm = {"use_vllm": use_vllm, **({"vllm_mode": "colocate"} if use_vllm else {})}
    weights = {**REWARD_WEIGHTS, **rewards}
    return runs.trainer_args(GRPOConfig, out_dir, training, seed,
                             reward_weights=[weights["w_format"], weights["w_accuracy"]], **vllm)


def _run(trainer, processor, out_dir: Path, key_inputs: list, settings: dict[str, Any], merge_lora: bool,
         summary: Callable[[Any, bool], dict[str, Any]], started: float, config_snapshot: dict[str, Any] | None,
         require_change: bool = True) -> dict:
    """Resume, train, check, finish, summarise: the part every run shares. ``settings`` (with the inputs) key
    the run's checkpoints; ``summary(result, moved)`` gives the stage's own fields, and the shared ones follow
    them into ``run.json``."""
    last = checkpoints.resume_point(trainer, checkpoints.run_key(key_inputs, settings))
    start_step = checkpoints.step_of(last)  # read now: checkpoint rotation may delete it during training
    before = checkpoints.trainable_snapshot(trainer.model)
    result = trainer.train(resume_from_checkpoint=last)
    moved = checkpoints.check_trained(trainer, start_step, before, require_change=require_change)
    checkpoints.finish_run(trainer, processor, out_dir / "model", merge_lora=merge_lora)
    record = {
        **summary(result, moved),
        "steps": trainer.state.global_step,
        "resumed_from": last,
        "processes": trainer.accelerator.num_processes,
        "distribution": runs.distribution(trainer),
        "wall_seconds": round(time.perf_counter() - started, 3),
        **settings,
        "config": config_snapshot,
    }
    if trainer.accelerator.is_main_process:
        runs.write_run_summary(out_dir / "run.json", record)
    return record


def _start(out_dir, train_paths) -> tuple[Path, list[Path], float]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir, as_path_list(train_paths), time.perf_counter()  # paths once: a generator is spent by a read


def train_sft(
    model_dir,
    train_paths,
    out_dir,
    *,
    training: dict[str, Any] | None = None,
    lora: dict[str, Any] | None = None,
    seed: int = 0,
    config_snapshot: dict[str, Any] | None = None,
    callbacks: list | None = None,
    per_token: Any = "fused",
    **loss_settings: Any,
) -> dict[str, Any]:
    """Fine-tune ``model_dir`` on ``train_paths`` (JSONL files) into ``out_dir/model``; return the summary.
    Samples longer than ``max_length`` are dropped and counted; a text model's records must have no picture.
    ``loss_settings`` are ``scale.loss_settings.LossSettings``'s (``loss``, ``w_think``, ``w_answer``,
    ``weighting``), checked before anything loads; ``per_token`` is ``ScaleSFTTrainer``'s (the stand-ins'
    warm-up passes ``GroupedHead``)."""
    loss = LossSettings(**loss_settings).spec()
    out_dir, paths, started = _start(out_dir, train_paths)
    training = dict(training or {})
    family = family_of(model_dir)
    args = sft_config(out_dir, training, seed, text=family.is_text, **loss)
    processor = load_processor(model_dir)
    model = load_model(model_dir, dtype=torch.bfloat16 if args.bf16 else torch.float32)
    if lora:
        model = runs.add_lora(model, lora, family, seed)

    items = read_items(paths, require_response=True)
    records, images, dropped = runs.drop_overlong(
        processor, [record for record, _ in items], runs.load_images(items), training_messages, args.max_length
    )
    if not records:
        raise ValueError(f"all {len(items)} training samples are longer than max_length={args.max_length}")
    if dropped:
        print(f"dropped {dropped} of {len(items)} samples longer than max_length={args.max_length}")
    template = training_chat_template(processor)
    if family.is_text:
        if any(images):
            raise ValueError(f"{family.name} is a text model, but {sum(map(bool, images))} training records "
                             "have a picture")
        dataset = runs.text_dataset(processor, records, training_messages, template)
        collator = TextSegmentCollator(pad_token_id=processor.pad_token_id)
    else:
        dataset = runs.conversation_dataset(records, images, training_messages)
        collator = SegmentCollator(processor=processor, max_length=args.max_length, assistant_only_loss=True,
                                   chat_template=template)
    trainer = ScaleSFTTrainer(
        model=model, args=args, train_dataset=dataset, processing_class=processor, data_collator=collator,
        per_token=per_token, callbacks=[runs.jsonl_log_callback(out_dir / "train_log.jsonl"), *(callbacks or [])],
    )

    def summary(result, moved):
        return {"kind": "sft", **{k: v for k, v in loss.items() if k != "weighting"}, "model_dir": str(model_dir),
                "family": family.name, "train_paths": [str(p) for p in paths], "samples": len(items),
                "samples_trained": len(records), "dropped_overlong": dropped,
                "train_tokens": trainer.run_counts["train_tokens"],
                "target_tokens": trainer.run_counts["target_tokens"], "train_loss": result.training_loss}

    settings = dict(**loss, training=training, lora=lora, seed=seed)
    return _run(trainer, processor, out_dir, [model_dir, *paths], settings, bool(lora), summary, started,
                config_snapshot)


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
    out_dir, paths, started = _start(out_dir, train_paths)
    training, rewards = dict(training or {}), dict(rewards or {})
    args = grpo_config(out_dir, training, rewards, seed, use_vllm)
    if use_vllm:
        from scale import vllm_cpu

        vllm_cpu.prepare()  # a no-op on a GPU
    processor = load_processor(model_dir)
    tokenizer_of(processor).padding_side = "left"
    model = load_model(model_dir, dtype=torch.bfloat16 if args.bf16 else torch.float32)
    family = family_of(model_dir)
    items = read_items(paths)
    trainer = ScaleGRPOTrainer(
        model=model, args=args, train_dataset=grpo_dataset(items), processing_class=processor,
        reward_funcs=[format_reward_func, accuracy_reward_func],
        peft_config=runs.lora_config(lora, family) if lora else None,
        callbacks=[runs.jsonl_log_callback(out_dir / "train_log.jsonl"), *(callbacks or [])],
    )
    send_stored_names(trainer)

    def summary(result, moved):
        if not moved:
            print("GRPO moved no weight: no group of completions differed in reward (see frac_reward_zero_std)")
        return {"kind": "grpo", "model_dir": str(model_dir), "family": family.name, "prompts": len(items),
                "weights_moved": moved,
                "train_tokens": int(trainer.state.num_input_tokens_seen or 0)}  # TRL gathers it over processes

    settings = dict(training=training, rewards=rewards, lora=lora, use_vllm=use_vllm, seed=seed)
    return _run(trainer, processor, out_dir, [model_dir, *paths], settings, bool(lora), summary, started,
                config_snapshot, require_change=False)


def align_vision(
    model_dir,
    train_paths,
    out_dir,
    *,
    training: dict[str, Any] | None = None,
    seed: int = 0,
    config_snapshot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The alignment stage of a VLM assembled around a pretrained language model (``scale.models.assemble``):
    its vision tower and connector learn to describe the pictures of ``train_paths``
    (``scale.data.captions``) while every language-model weight stays frozen. TRL's own ``SFTTrainer`` and
    token-mean loss on the description alone: descriptions have no think/answer segments."""
    from trl import SFTConfig, SFTTrainer

    from scale.data import captions
    from scale.models.assemble import VISION_PARTS
    from scale.prompts import description_messages

    class AlignTrainer(checkpoints.ExactResume, SFTTrainer):
        pass

    out_dir, paths, started = _start(out_dir, train_paths)
    training = dict(training or {})
    args = runs.trainer_args(SFTConfig, out_dir, training, seed, packing=False, assistant_only_loss=True,
                             disable_tqdm=False)
    processor = load_processor(model_dir)
    model = load_model(model_dir, dtype=torch.float32)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(VISION_PARTS))
    items = [item for path in paths for item in captions.read_items(path)]
    records = [record for record, _ in items]
    dataset = runs.conversation_dataset(records, runs.load_images(items), description_messages)
    trainer = AlignTrainer(model=model, args=args, train_dataset=dataset, processing_class=processor,
                           callbacks=[runs.jsonl_log_callback(out_dir / "train_log.jsonl")])

    def summary(result, moved):
        trained = [n for n, p in model.named_parameters() if p.requires_grad]
        return {"kind": "align", "model_dir": str(model_dir), "family": family_of(model_dir).name,
                "train_paths": [str(p) for p in paths], "samples": len(items), "train_loss": result.training_loss,
                "trained_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                "trained_prefixes": sorted({n.split(".")[1] for n in trained})}

    settings = dict(training=training, trained=list(VISION_PARTS), seed=seed)
    return _run(trainer, processor, out_dir, [model_dir, *paths], settings, False, summary, started, config_snapshot)

"""SFT with a loss chosen by config: ``ce`` (vanilla), ``scale`` (SCALe), ``fixed`` (FW ablation).

``ScaleSFTTrainer`` is TRL's ``SFTTrainer`` with one method overridden,
``compute_loss``; TRL keeps the VLM collation (plus segments, see
``scale.train.collate``), the loop, checkpointing and logging. All three
losses are normalised over the *global* batch (every accumulated micro-batch,
every process): ``ce`` by its target tokens, ``scale``/``fixed`` by its samples,
so gradient accumulation and data parallelism keep the loss's meaning.

Per-token cross-entropy comes from TRL's fused LM head, the call TRL's own loss
makes (``model(**inputs, labels=…, fused_lm_head=True)``, patched onto every
model by ``SFTTrainer.__init__``): it projects only labelled positions through
the head, in tiles, and never holds the B×T×V logits, so SCALe costs what
vanilla TRL SFT costs. Its ``log_probs``/``label_mask`` are ``[B, T-1]``, for
positions 0…T-2 predicting 1…T-1; padded by one column they are exactly
``scale.loss.token_ce``'s layout, which the segment code expects.
``per_token="full_logits"`` keeps the reference path (full logits, then
``token_ce``) for tests and benchmarks.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from trl import SFTTrainer

from scale.loss import scale_loss_from_token_ce, segment_means_from_token_ce, token_ce
from scale.schedule import WeightSchedule
from scale.segments import Segment
from scale.train.checkpoints import ExactResume
from scale.variants import LOSSES

PER_TOKEN = ("fused", "full_logits")


def per_token_ce(model, inputs: dict, per_token: str = "fused"):
    """Per-token CE ``[B, T]`` (0 where ignored, position t predicting t+1), its target mask, and the
    model outputs; ``inputs`` holds ``labels`` aligned with ``input_ids``."""
    if per_token == "full_logits":
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"})
        ce, target_mask = token_ce(outputs.logits, inputs["labels"])
        return ce, target_mask, outputs
    outputs = model(**inputs, fused_lm_head=True)
    log_probs = getattr(outputs, "log_probs", None)
    if log_probs is None:
        raise RuntimeError(f"{type(model).__name__} returned no fused log-probabilities: TRL's fused LM head is "
                           "not on this model (use per_token='full_logits' to train with full logits)")
    return F.pad(-log_probs.float(), (0, 1)), F.pad(outputs.label_mask, (0, 1), value=False), outputs


class NoTargetTokensError(RuntimeError):
    """A global batch holds no labelled token: training on it would be a silent zero loss."""


class ScaleSFTTrainer(ExactResume, SFTTrainer):
    def __init__(
        self,
        *args: Any,
        loss: str = "ce",
        w_think: WeightSchedule | None = None,
        w_answer: WeightSchedule | None = None,
        per_token: str = "fused",
        **kwargs: Any,
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if per_token not in PER_TOKEN:
            raise ValueError(f"per_token must be one of {PER_TOKEN}, got {per_token!r}")
        if loss == "fixed" and ((w_think and w_think.kind != "constant") or (w_answer and w_answer.kind != "constant")):
            raise ValueError("the fixed-weight loss needs constant w_think and w_answer")
        super().__init__(*args, **kwargs)
        self.loss_name = loss
        self.per_token = per_token
        self.w_think = w_think or WeightSchedule(1.0, 1.0, "constant")
        self.w_answer = w_answer or WeightSchedule(1.0, 1.0, "constant")
        self.loss_is_scaled_for_ga = True  # compute_loss divides by global counts itself
        self._global_counts: tuple[torch.Tensor, torch.Tensor] | None = None
        # summed over every process, carried across a resume (scale.train.checkpoints.ExactResume):
        # tokens the model read (prompt and image tokens too), and the labelled tokens it trained on
        self.run_counts = {"train_tokens": 0, "target_tokens": 0}
        # this loss's own curves, averaged into each log line (``log``): think/answer CE, the weights, tokens
        self.loss_metrics: dict[str, dict[str, list[float]]] = {"train": defaultdict(list), "eval": defaultdict(list)}

    def current_weights(self) -> tuple[float, float]:
        """(w_think, w_answer) at the current optimizer step of the trainer's real total."""
        step, total = self.state.global_step, self.state.max_steps
        return self.w_think(step, total), self.w_answer(step, total)

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """Also count target tokens and target-bearing samples over the whole global batch."""
        batch_samples, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
        tokens = torch.zeros((), dtype=torch.long, device=device)
        samples = torch.zeros((), dtype=torch.long, device=device)
        for batch in batch_samples:
            targets = batch["labels"][:, 1:] != -100
            in_segment = batch["segments"][:, 1:] != int(Segment.IGNORE)
            tokens += targets.sum().to(device)
            samples += (targets & in_segment).any(dim=1).sum().to(device)
        if self.args.world_size > 1:
            tokens = self.accelerator.gather(tokens.reshape(1)).sum()
            samples = self.accelerator.gather(samples.reshape(1)).sum()
        if int(tokens) == 0:
            raise NoTargetTokensError(
                f"step {self.state.global_step + 1}: no response token carries a label in this global batch "
                "(does the chat template mark assistant turns? were responses truncated?)"
            )
        self._global_counts = (tokens, samples)
        self.run_counts["target_tokens"] += int(tokens)
        return batch_samples, num_items

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if model.training else "eval"
        segments = inputs.pop("segments")
        inputs["use_cache"] = False
        ce, target_mask, outputs = per_token_ce(model, inputs, self.per_token)
        w_think, w_answer = self.current_weights()
        counts = self._global_counts if mode == "train" else None
        # DDP averages gradients over processes; global counts make that a sum, so scale back up
        world = self.accelerator.num_processes if counts is not None else 1
        if self.loss_name == "ce":
            tokens = counts[0] if counts is not None else target_mask.sum()
            loss = ce.sum() / tokens.clamp(min=1) * world
        else:
            samples = counts[1].clamp(min=1) if counts is not None else None
            loss = scale_loss_from_token_ce(ce, target_mask, segments, w_think, w_answer, samples) * world
        means = segment_means_from_token_ce(ce, target_mask, segments)
        metrics = self.loss_metrics[mode]
        for name in ("think_ce", "answer_ce"):
            if means[name] is not None:
                metrics[name].append(means[name])
        metrics["w_think"].append(w_think)
        metrics["w_answer"].append(w_answer)
        if mode == "train":  # every process's tokens, as TRL's own loss counts them
            self.run_counts["train_tokens"] += int(
                self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum())
            metrics["num_tokens"] = [self.run_counts["train_tokens"]]
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Each log line gets this loss's curves, averaged over the steps since the last one (the Trainer's
        public ``log``, so nothing here depends on how TRL keeps its own metrics)."""
        mode = "train" if self.model.training else "eval"
        prefix = "eval_" if mode == "eval" else ""
        logs.update({f"{prefix}{key}": sum(values) / len(values)
                     for key, values in self.loss_metrics[mode].items() if values})
        self.loss_metrics[mode].clear()
        super().log(logs, start_time)


def sft_config(out_dir, training: dict[str, Any], seed: int, text: bool = False):
    """TRL's ``SFTConfig``: completion-only (assistant turns), no packing, then the config's settings. A text
    model's examples come tokenised with their labels (``scale.train.collate.text_example``), so TRL
    prepares nothing and builds no labels of its own."""
    from trl import SFTConfig

    from scale.train.runs import trainer_args

    if text:
        stage = dict(assistant_only_loss=False, dataset_kwargs={"skip_prepare_dataset": True})
    else:
        stage = dict(assistant_only_loss=True)
    return trainer_args(SFTConfig, out_dir, training, seed, packing=False, disable_tqdm=False, **stage)


def train_sft(
    model_dir,
    train_paths,
    out_dir,
    *,
    loss: str = "ce",
    w_think: Any = 1.0,
    w_answer: Any = 1.0,
    training: dict[str, Any] | None = None,
    lora: dict[str, Any] | None = None,
    seed: int = 0,
    config_snapshot: dict[str, Any] | None = None,
    callbacks: list | None = None,
) -> dict[str, Any]:
    """Fine-tune ``model_dir`` on ``train_paths`` (JSONL files) into ``out_dir/model``; return the summary.

    Writes ``out_dir/model`` (only when complete), ``out_dir/train_log.jsonl`` and
    ``out_dir/run.json``; resumes from ``out_dir.checkpoints`` when a previous
    attempt was killed (``scale.train.checkpoints`` says exactly when).
    """
    import time

    from scale.data.records import as_path_list, read_items
    from scale.models.families import family_of, load_model, load_processor
    from scale.prompts import training_messages
    from scale.train import checkpoints, runs

    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    training = dict(training or {})
    family = family_of(model_dir)
    args = sft_config(out_dir, training, seed, text=family.is_text)
    schedules = WeightSchedule.from_config(w_think), WeightSchedule.from_config(w_answer)

    processor = load_processor(model_dir)
    model = load_model(model_dir, dtype=torch.bfloat16 if args.bf16 else torch.float32)
    if lora:
        model = runs.add_lora(model, lora, family, seed)

    paths = as_path_list(train_paths)  # once: a generator would be spent by the first reader
    items = read_items(paths, require_response=True)
    records, images, dropped = runs.drop_overlong(
        processor, [record for record, _ in items], runs.load_images(items), training_messages, args.max_length
    )
    if not records:
        raise ValueError(f"all {len(items)} training samples are longer than max_length={args.max_length}")
    if dropped:
        print(f"dropped {dropped} of {len(items)} samples longer than max_length={args.max_length}")
    from scale.train.collate import SegmentCollator, TextSegmentCollator, training_chat_template

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
        loss=loss, w_think=schedules[0], w_answer=schedules[1],
        callbacks=[runs.jsonl_log_callback(out_dir / "train_log.jsonl"), *(callbacks or [])],
    )
    key = checkpoints.run_key([model_dir, *paths], dict(loss=loss, w_think=w_think, w_answer=w_answer,
                                                        training=training, lora=lora, seed=seed))
    last = checkpoints.resume_point(trainer, key)
    start_step = checkpoints.step_of(last)  # read now: checkpoint rotation may delete it during training
    before = checkpoints.trainable_snapshot(trainer.model)
    result = trainer.train(resume_from_checkpoint=last)
    checkpoints.check_trained(trainer, start_step, before)
    checkpoints.finish_run(trainer, processor, out_dir / "model", merge_lora=bool(lora))
    summary = {
        "kind": "sft",
        "loss": loss,
        "w_think": w_think,
        "w_answer": w_answer,
        "seed": seed,
        "model_dir": str(model_dir),
        "family": family.name,
        "train_paths": [str(p) for p in paths],
        "samples": len(items),
        "samples_trained": len(records),
        "dropped_overlong": dropped,
        "steps": trainer.state.global_step,
        "resumed_from": last,
        "train_tokens": trainer.run_counts["train_tokens"],
        "target_tokens": trainer.run_counts["target_tokens"],
        "processes": trainer.accelerator.num_processes,
        "distribution": runs.distribution(trainer),
        "train_loss": result.training_loss,
        "wall_seconds": round(time.perf_counter() - started, 3),
        "training": training,
        "lora": lora,
        "config": config_snapshot,
    }
    if trainer.accelerator.is_main_process:
        runs.write_run_summary(out_dir / "run.json", summary)
    return summary

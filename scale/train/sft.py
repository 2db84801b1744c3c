"""SFT with a loss chosen by ``ScaleSFTConfig``: ``ce`` (vanilla), ``scale`` (SCALe), ``fixed`` (FW ablation),
``sample`` (per-sample means) or ``dft`` (Dynamic Fine-Tuning).

The library part of SFT, for anyone's TRL training: ``ScaleSFTConfig`` is TRL's ``SFTConfig`` with the loss
settings, ``ScaleSFTTrainer`` TRL's ``SFTTrainer`` with one method overridden,
``compute_loss``; TRL keeps the VLM collation (plus segments, see
``scale.train.collate``), the loop, checkpointing and logging. All three
losses are normalised over the *global* batch (every accumulated micro-batch,
every process): ``ce``/``dft`` by its target tokens, ``scale``/``fixed``/``sample`` by its samples,
so gradient accumulation and data parallelism keep the loss's meaning.

Per-token cross-entropy comes from TRL's fused LM head, the call TRL's own loss
makes (``model(**inputs, labels=…, fused_lm_head=True)``, patched onto every
model by ``SFTTrainer.__init__``): it projects only labelled positions through
the head (on a CPU too: ``scale.train.fused_head``), in tiles, and never holds
the B×T×V logits, so SCALe costs what vanilla TRL SFT costs. Its ``log_probs``/``label_mask`` are ``[B, T-1]``, for
positions 0…T-2 predicting 1…T-1; padded by one column they are exactly
``scale.loss.token_ce``'s layout, which the segment code expects.
``per_token="full_logits"`` keeps the reference path (full logits, then
``token_ce``) for tests and benchmarks. The workflow's runs (loading, LoRA, data, resuming, the summary) are
``scale.train.driver``'s.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from transformers import TrainerCallback
from trl import SFTConfig, SFTTrainer

from scale.loss import (
    dft_from_token_ce,
    sample_mean_from_token_ce,
    scale_loss_from_token_ce,
    segment_means_from_token_ce,
    segment_sums,
    token_ce,
    vanilla_ce_from_token_ce,
)
from scale.loss_settings import LossSettings
from scale.segments import Segment
from scale.train.checkpoints import ExactResume
from scale.train.fused_head import score_labelled_positions_only
from scale.weighting import weighting_from_config

PER_TOKEN = ("fused", "full_logits")


def per_token_ce(model, inputs: dict, per_token="fused"):
    """Per-token CE ``[B, T]`` (0 where ignored, position t predicting t+1), its target mask, and the
    model outputs; ``inputs`` holds ``labels`` aligned with ``input_ids``. ``per_token`` may also be a callable
    ``(model, inputs) -> (ce, mask, outputs)`` (``scale.train.stand_in.GroupedHead``)."""
    if callable(per_token):
        return per_token(model, inputs)
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


def _at_least_one(count: torch.Tensor | None) -> torch.Tensor | None:
    return count.clamp(min=1) if count is not None else None


class NoTargetTokensError(RuntimeError):
    """A global batch holds no labelled token: training on it would be a silent zero loss."""


@dataclass
class ScaleSFTConfig(SFTConfig, LossSettings):
    """TRL's ``SFTConfig`` with SCALe's loss settings (``scale.loss_settings.LossSettings``: ``loss``, ``w_think``,
    ``w_answer``, ``weighting``), checked by the rules config validation applies."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check()


def segment_totals(ce: torch.Tensor, target_mask: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """Sums over the batch's samples of each segment's mean CE, and how many samples have that segment:
    ``[think sum, think samples, answer sum, answer samples]`` in float64, what an online rule averages."""
    sums, counts = segment_sums(ce.double(), target_mask, segments)
    out = []
    for segment in (Segment.THINK, Segment.ANSWER):
        present = counts[:, int(segment)] > 0
        out += [(sums[:, int(segment)] / counts[:, int(segment)].clamp(min=1))[present].sum(), present.sum().double()]
    return torch.stack(out).cpu()


class _WeightingStep(TrainerCallback):
    """Tells the trainer an optimizer step ended (before a checkpoint of that step is written)."""

    def __init__(self, trainer: "ScaleSFTTrainer") -> None:
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        self.trainer.end_weighting_step()


class ScaleSFTTrainer(ExactResume, SFTTrainer):
    """``SFTTrainer`` with the loss its ``args`` (a ``ScaleSFTConfig``) name. ``per_token`` chooses how the
    per-token CE is computed (``fused``: TRL's fused LM head; ``full_logits``: the reference path)."""

    def __init__(self, *args: Any, per_token: Any = "fused", **kwargs: Any) -> None:
        config = kwargs.get("args", args[1] if len(args) > 1 else None)
        if not isinstance(config, ScaleSFTConfig):
            raise TypeError("ScaleSFTTrainer takes its loss from args=ScaleSFTConfig(loss=..., w_think=..., "
                            f"w_answer=...), got {type(config).__name__}")
        if not callable(per_token) and per_token not in PER_TOKEN:
            raise ValueError(f"per_token must be one of {PER_TOKEN}, got {per_token!r}")
        score_labelled_positions_only()
        super().__init__(*args, **kwargs)
        self.loss_name = config.loss
        self.per_token = per_token
        self.w_think, self.w_answer = config.think_schedule, config.answer_schedule
        # an online rule (scale.weighting) replaces the schedules; it sees each step's segment losses, summed
        # here over the step's micro-batches (float64: the order they add in barely matters) and reduced over
        # processes when the step ends, so every process and micro-batch of a step use the same weights
        self.weighting = weighting_from_config(config.weighting)
        self._segment_totals = torch.zeros(4, dtype=torch.float64)  # think sum, think samples, answer sum, samples
        if self.weighting is not None:
            self.add_callback(_WeightingStep(self))
        self.loss_is_scaled_for_ga = True  # compute_loss divides by global counts itself
        # the global batch's target tokens, samples with a think or answer target, samples with any target
        self._global_counts: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        # summed over every process, carried across a resume (scale.train.checkpoints.ExactResume):
        # tokens the model read (prompt and image tokens too), and the labelled tokens it trained on
        self.run_counts = {"train_tokens": 0, "target_tokens": 0}
        # this loss's own curves, averaged into each log line (``log``): think/answer CE, the weights, tokens
        self.loss_metrics: dict[str, dict[str, list[float]]] = {"train": defaultdict(list), "eval": defaultdict(list)}

    def current_weights(self) -> tuple[float, float]:
        """(w_think, w_answer) at the current optimizer step of the trainer's real total, or the online rule's."""
        if self.weighting is not None:
            return self.weighting.weights()
        step, total = self.state.global_step, self.state.max_steps
        return self.w_think(step, total), self.w_answer(step, total)

    def end_weighting_step(self) -> None:
        """At the end of an optimizer step: the step's segment losses, reduced over every process, to the rule."""
        totals = self._segment_totals.to(self.accelerator.device)
        if self.accelerator.num_processes > 1:
            totals = self.accelerator.gather(totals.reshape(1, -1)).sum(dim=0)
        think_sum, think_n, answer_sum, answer_n = totals.double().cpu().tolist()
        self._segment_totals.zero_()
        if think_n > 0 and answer_n > 0:  # a batch without one of the segments says nothing of its rate
            self.weighting.update(think_sum / think_n, answer_sum / answer_n)
            # the rule's inputs, in the step's log line (the last step's, where a line covers several)
            self.loss_metrics["train"]["rule_think_loss"] = [think_sum / think_n]
            self.loss_metrics["train"]["rule_answer_loss"] = [answer_sum / answer_n]

    def resumable_state(self) -> dict[str, Any]:
        return {"weighting": self.weighting.state_dict()} if self.weighting is not None else {}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        if self.weighting is not None and "weighting" in state:
            self.weighting.load_state_dict(state["weighting"])

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """Also count target tokens and target-bearing samples over the whole global batch."""
        batch_samples, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
        counts = torch.zeros(3, dtype=torch.long, device=device)  # tokens, segment samples, labelled samples
        for batch in batch_samples:
            targets = batch["labels"][:, 1:] != -100
            in_segment = batch["segments"][:, 1:] != int(Segment.IGNORE)
            counts += torch.stack([targets.sum(), (targets & in_segment).any(dim=1).sum(),
                                   targets.any(dim=1).sum()]).to(device)
        if self.args.world_size > 1:
            counts = self.accelerator.gather(counts.reshape(1, 3)).sum(dim=0)
        tokens, samples, labelled = counts.unbind()
        if int(tokens) == 0:
            raise NoTargetTokensError(
                f"step {self.state.global_step + 1}: no response token carries a label in this global batch "
                "(does the chat template mark assistant turns? were responses truncated?)"
            )
        self._global_counts = (tokens, samples, labelled)
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
        tokens, samples, labelled = counts if counts is not None else (None, None, None)
        if self.loss_name == "ce":
            loss = vanilla_ce_from_token_ce(ce, target_mask, tokens) * world
        elif self.loss_name == "dft":
            loss = dft_from_token_ce(ce, target_mask, tokens) * world
        elif self.loss_name == "sample":
            loss = sample_mean_from_token_ce(ce, target_mask, _at_least_one(labelled)) * world
        else:
            samples = _at_least_one(samples)
            loss = scale_loss_from_token_ce(ce, target_mask, segments, w_think, w_answer, samples) * world
        means = segment_means_from_token_ce(ce, target_mask, segments)
        if self.weighting is not None and mode == "train":
            self._segment_totals += segment_totals(ce.detach(), target_mask, segments)
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

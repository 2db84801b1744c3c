"""When a training run resumes, when it starts afresh, and how it ends: one place for SFT, warm-up and GRPO.

A run directory ``…/seed0`` holds the final ``model/`` (renamed into place
only when complete); its checkpoints live beside it in ``…/seed0.checkpoints``,
which Snakemake does not own, so a killed job resumes instead of restarting.

A job resumes only from checkpoints that
  * were written by the same run: the folder records a *run key* (the settings
    and every input file's name, size and modification time); another key means
    other inputs or settings, and the folder is discarded;
  * belong to a run that has not finished: a run writes ``finished.json`` into
    the folder before its final model goes into place, then deletes the folder.
    A forced rerun, a rerun after a code change or after the model was deleted
    therefore starts from step 0, whatever Snakemake's reason.

A checkpoint counts as complete once ``checkpoint-N/scale_state.json`` exists: the main
process writes it after every process has written its part (weights, optimizer shards,
RNG states), with the counts a run accumulates over its steps (trained tokens), so a
resumed run carries them on instead of counting from zero.

Resuming restores every saved weight through the model class's own loader
(``from_pretrained``, which maps the hub key layout that ``save_pretrained``
writes back to the module names; the Trainer's raw ``load_state_dict`` does not,
and only warns), or PEFT's adapter loader, and stops with
``CheckpointMismatchError`` on any missing or unexpected weight. The optimizer,
scheduler and RNG state come back through the Trainer. A run that trained no
step, or whose weights did not move, stops with ``UntrainedModelError`` instead
of writing a model equal to its start.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping

from transformers import TrainerCallback

RUN_KEY_FILE = "run_key.json"
FINISHED_FILE = "finished.json"
COMPLETE_FILE = "scale_state.json"


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the model being resumed (missing or unexpected names)."""


class UntrainedModelError(RuntimeError):
    """A run would save a model equal to the one it started from."""


def checkpoint_dir(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.checkpoints"


def read_complete(checkpoint: str | Path) -> dict | None:
    """What ``checkpoint``'s completion record holds (step, counts), or None if it is not complete."""
    try:
        return json.loads((Path(checkpoint) / COMPLETE_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def last_complete_checkpoint(directory: str | Path) -> str | None:
    """The newest ``checkpoint-N`` whose completion record exists and parses.

    A run killed while writing a checkpoint leaves a partial folder (on several
    processes, one may still be writing its shard or RNG state after another has
    finished); resuming from it would fail or be inexact, so it is skipped for the one before.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = sorted(
        (p for p in directory.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]), reverse=True,
    )
    for checkpoint in found:
        if read_complete(checkpoint) is not None:
            return str(checkpoint)
    return None


def run_key(inputs: Iterable[str | Path], settings: Mapping[str, Any]) -> str:
    """What makes two attempts the same run: the settings, and every input file's name, size and
    modification time (a rebuilt upstream output gets a new one; a killed job's inputs keep theirs).
    Contents are not hashed: a paper-scale checkpoint is many GB. An input that is not a local path
    (a hub id) counts by its name."""
    entries = []
    for item in inputs:
        path = Path(item)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.exists():
                stat = file.stat()
                entries.append([str(file), stat.st_size, stat.st_mtime_ns])
            else:
                entries.append([str(file), None, None])
    text = json.dumps({"inputs": entries, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def discard_stale_checkpoints(directory: str | Path, key: str) -> int:
    """Delete ``directory`` unless an unfinished run with this ``key`` wrote it (no key counts as another
    run), then record ``key`` there for the next attempt; return how many checkpoints were discarded."""
    directory = Path(directory)
    key_file = directory / RUN_KEY_FILE
    stale = 0
    if directory.is_dir():
        recorded = json.loads(key_file.read_text())["key"] if key_file.exists() else None
        finished = (directory / FINISHED_FILE).exists()
        if recorded != key or finished:
            stale = len(list(directory.glob("checkpoint-*")))
            if stale:  # a fresh run's folder (the Trainer makes it) holds none: nothing to report
                why = ("the run that wrote them finished" if finished
                       else "written by a run with other inputs or settings")
                print(f"discarding {stale} checkpoint(s) in {directory}: {why}; starting from step 0")
            shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key_file.write_text(json.dumps({"key": key}) + "\n")
    return stale


def resume_point(trainer, key: str) -> str | None:
    """The checkpoint this run resumes from, or None for step 0: the main process clears another
    run's (or a finished run's) checkpoints, every process waits for it, then all pick the same newest one."""
    if trainer.accelerator.is_main_process:
        discard_stale_checkpoints(trainer.args.output_dir, key)
    trainer.accelerator.wait_for_everyone()
    found = last_complete_checkpoint(trainer.args.output_dir)
    if found:
        print(f"resuming from {found}")
    return found


def restore_weights(model, checkpoint: str | Path) -> None:
    """Load every weight ``checkpoint`` holds into ``model`` (unwrapped from DDP), by name, exactly."""
    model = getattr(model, "module", model)
    checkpoint = str(checkpoint)
    if hasattr(model, "peft_config"):  # LoRA: the adapters are what the checkpoint holds
        from peft import load_peft_weights, set_peft_model_state_dict

        adapter = model.active_adapter
        weights = load_peft_weights(checkpoint, device="cpu")
        result = set_peft_model_state_dict(model, weights, adapter_name=adapter)
        missing = [k for k in result.missing_keys if "lora_" in k]
        unexpected = list(result.unexpected_keys)
    else:
        dtype = next(model.parameters()).dtype
        loaded, info = type(model).from_pretrained(checkpoint, dtype=dtype, output_loading_info=True)
        missing, unexpected = list(info["missing_keys"]), list(info["unexpected_keys"])
        missing += [k for k in info.get("mismatched_keys", [])]
        if not missing and not unexpected:
            result = model.load_state_dict(loaded.state_dict(), strict=True)
            missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
        del loaded
    if missing or unexpected:
        raise CheckpointMismatchError(
            f"{checkpoint} does not fit the model being resumed: {len(missing)} weight(s) missing "
            f"(e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]}); refusing to continue "
            "from partly restored weights")


class CompletionRecord(TrainerCallback):
    """``on_save``, the Trainer's public hook after each checkpoint: once every process has written its part, the
    main process marks the checkpoint complete with the run's counts and resumable state."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer

    def on_save(self, args, state, control, **kwargs):
        trainer = self.trainer
        trainer.accelerator.wait_for_everyone()  # every process's shard and RNG state is on disk
        if trainer.accelerator.is_main_process:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            record = {"step": state.global_step, "counts": dict(getattr(trainer, "run_counts", {})),
                      "state": trainer.resumable_state()}
            (folder / COMPLETE_FILE).write_text(json.dumps(record, sort_keys=True) + "\n")
        return control


class ExactResume:
    """Mixin for a Trainer: resume through ``restore_weights`` (fails on a mismatch) instead of the
    Trainer's warn-only loader (DeepSpeed and FSDP runs keep their engines' own checkpoint loaders),
    mark each checkpoint complete once every process has written it (``CompletionRecord``), and carry
    ``run_counts`` (the run's own running totals, e.g. trained tokens) and ``resumable_state()`` (e.g. an online
    weighting's history; given back through ``restore_state``) across a resume.

    Marking goes through the Trainer's public ``on_save`` hook. Loading has no public hook: the Trainer loads
    a checkpoint's weights inside ``train`` with its private ``_load_from_checkpoint``, which this overrides."""

    run_counts: dict[str, int]

    def train(self, resume_from_checkpoint=None, **kwargs):
        if not hasattr(self, "run_counts"):
            self.run_counts = {}
        if not any(isinstance(c, CompletionRecord) for c in self.callback_handler.callbacks):
            self.add_callback(CompletionRecord(self))
        if resume_from_checkpoint:
            record = read_complete(resume_from_checkpoint) or {}
            self.run_counts.update(record.get("counts", {}))
            self.restore_state(record.get("state", {}))
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def resumable_state(self) -> dict[str, Any]:
        return {}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        pass

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        restore_weights(model if model is not None else self.model, resume_from_checkpoint)


def _fingerprint(tensor) -> tuple[float, float]:
    """Sum and absolute sum in float64: any real update moves them (a float32 step of one ulp on one
    element shifts them far above float64's resolution), at no memory cost at paper scale."""
    values = tensor.detach().double()
    return float(values.sum()), float(values.abs().sum())


def trainable_snapshot(model) -> dict[str, tuple[float, float]]:
    """Fingerprints of the trainable weights, to tell afterwards whether training moved any."""
    model = getattr(model, "module", model)
    return {name: _fingerprint(p) for name, p in model.named_parameters() if p.requires_grad}


def step_of(checkpoint: str | Path | None) -> int:
    """The optimizer step a checkpoint was written at (0 for none)."""
    if checkpoint is None:
        return 0
    return int(read_complete(checkpoint)["step"])


def check_trained(trainer, start_step: int, before: Mapping[str, Any], require_change: bool = True) -> bool:
    """Whether training moved a weight; ``UntrainedModelError`` when no step ran, or (``require_change``)
    when every trainable weight is still what it was before training."""
    if trainer.state.global_step <= start_step:
        raise UntrainedModelError(
            f"no optimizer step ran (resumed at step {start_step} of {trainer.state.max_steps}); "
            "refusing to save the starting weights as a trained model")
    model = getattr(trainer.model, "module", trainer.model)
    moved = any(_fingerprint(p) != before[name] for name, p in model.named_parameters() if name in before)
    if not moved and require_change:
        raise UntrainedModelError(
            f"{trainer.state.global_step - start_step} step(s) ran but no trainable weight changed "
            "(zero learning rate, or zero gradients throughout); refusing to save the starting weights")
    return moved


def finish_run(trainer, processor, out_dir: str | Path, merge_lora: bool) -> Path:
    """Write the final model aside, mark the checkpoints finished, rename the model into place and
    delete the checkpoints: ``out_dir`` exists only when complete, and a finished run is never resumed."""
    out_dir = Path(out_dir)
    partial = out_dir.parent / f".{out_dir.name}.partial"
    model = trainer.model
    if merge_lora and hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    checkpoints = Path(trainer.args.output_dir)
    if trainer.accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)
        model.save_pretrained(partial)
        processor.save_pretrained(partial)
        checkpoints.mkdir(parents=True, exist_ok=True)
        (checkpoints / FINISHED_FILE).write_text(json.dumps({"step": trainer.state.global_step}) + "\n")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(partial, out_dir)
        shutil.rmtree(checkpoints, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return out_dir

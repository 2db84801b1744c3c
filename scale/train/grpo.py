"""GRPO from an SFT variant's model: TRL's ``GRPOTrainer`` with the paper's rewards (eqs. 5 and 6), the pieces
that fit it to this workflow's checkpoints and data (its runs: ``scale.train.driver``).

Prompts carry the image and the shared instruction; rewards are the format
reward and the exact-match accuracy reward (``scale.rewards``) with weights from
config. The format reward also logs the share of invalid completions (Table 2's
definition) through TRL's ``log_metric`` hook. With ``use_vllm`` generation runs
in vLLM colocated with training (the paper's setting; on a CPU, vLLM's CPU build,
see ``scale.vllm_cpu``); otherwise through TRL's own generation.
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from trl import GRPOTrainer

from scale.models.stored_layout import StoredNames
from scale.prompts import prompt_messages
from scale.train.checkpoints import ExactResume
from scale.train.fused_head import score_labelled_positions_only


class ScaleGRPOTrainer(ExactResume, GRPOTrainer):
    """TRL's ``GRPOTrainer`` resuming through ``scale.train.checkpoints`` (exact weights or an error), its fused
    head projecting only the completions on a CPU too (``scale.train.fused_head``), as ``ScaleSFTTrainer``'s."""

    def __init__(self, *args, **kwargs):
        score_labelled_positions_only()
        super().__init__(*args, **kwargs)


def grpo_dataset(items: list[tuple[dict, Path]]):
    """Columns TRL's GRPOTrainer takes: ``prompt`` (conversation), ``image`` (VLMs: none when no record has a
    picture, which TRL reads as a text dataset), ``solution``."""
    from scale.train.runs import load_images  # PEFT's importer: the trainer class above imports without it

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

    stored = StoredNames(trainer.model)
    strip = generation._fix_param_name_to_vllm
    generation._fix_param_name_to_vllm = lambda name, extra_prefixes=None: stored(strip(name, extra_prefixes))

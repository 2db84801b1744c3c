"""The rehearsal's stand-ins, warmed up: a hub-shaped tiny build (``scale.models.tiny.build_stand_in``) trained
briefly on the paper's response format, so that what it samples differs in reward and GRPO has something to
learn from.

A random model never writes a tag: every reward is 0, every advantage 0, and GRPO's update exactly zero. The
real checkpoints bring the format from pretraining; a stand-in gets it here, through the same SFT path the
rehearsal then runs (stock template, TRL's training copy), and stays in the hub layout.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from scale.data.synthetic import write_split
from scale.models.families import family_of
from scale.models.tiny import STAND_IN_DATA, STAND_IN_DATASETS, build_stand_in
from scale.train.driver import train_sft


def warm_up_stand_in(model_dir: str | Path, training: Mapping[str, Any], seed: int = 0) -> dict[str, Any]:
    """Train ``model_dir`` in place on synthetic responses of its modality (the traces its tokenizer learnt);
    return the run's steps, loss and samples."""
    modality = family_of(model_dir).modality
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        # the shortest traces (one round of steps, then the answer): a whole response fits a short completion budget
        files = [write_split(work / dataset, dataset, "train", STAND_IN_DATA["n"], STAND_IN_DATA["seed"],
                             STAND_IN_DATA["image_size"], think_ratio=1)
                 for dataset in STAND_IN_DATASETS[modality]]
        summary = train_sft(model_dir, files, work / "run", loss="ce", training=dict(training), seed=seed)
        for file in (work / "run" / "model").iterdir():
            shutil.copy2(file, Path(model_dir) / file.name)
    return {k: summary[k] for k in ("steps", "train_loss", "samples_trained")}


def build_warm_stand_in(family: str, out_dir: str | Path, sizes: Mapping[str, Any] | None = None, seed: int = 0,
                        warmup: Mapping[str, Any] | None = None) -> Path:
    """``build_stand_in``, then the warm-up when ``warmup`` (SFT training settings) is given, recorded in the
    build's ``tiny_build.json``."""
    out_dir = build_stand_in(family, out_dir, sizes=sizes, seed=seed)
    if warmup:
        record = json.loads((out_dir / "tiny_build.json").read_text())
        record["warmup"] = {"training": dict(warmup), **warm_up_stand_in(out_dir, warmup, seed)}
        (out_dir / "tiny_build.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return out_dir

"""The rehearsal's stand-ins, warmed up: a hub-shaped tiny build (``scale.models.tiny.build_stand_in``) trained
briefly on the paper's response format, so that what it samples differs in reward and GRPO has something to
learn from, and its greedy answers close their tags.

A random model never writes a tag: every reward is 0, every advantage 0, and GRPO's update exactly zero. The
real checkpoints bring the format from pretraining; a stand-in gets it here, through the same SFT path the
rehearsal then runs (stock template, TRL's training copy), and stays in the hub layout.

With a real vocabulary (Qwen2's 151,936 rows) scoring every row at every position costs seconds a step on a
CPU (TRL's fused head scores every position there), against a tenth of a second with a 2,000-token one. The
warm-up's data use about a thousand tokens, so the rows of the others are given one shared vector first. Rows
that are equal stay equal under training (the same logit at every position, so the same gradient), and the
softmax over ``n`` equal rows is the softmax over one class whose logit is theirs plus ``log n``. The warm-up
scores the rows its data use and that one class (``GroupedHead``): the loss of the whole vocabulary, and its
gradients (the shared row gets what each unused row would get), at the cost of a small one. An optimizer that
moves each weight by its own gradient (Adam; the warm-up clips no global norm: ``max_grad_norm: 0`` in the
rehearsals' ``stand_ins``) then moves the shared row as it would move each unused row, and the shared vector is
written back to every unused row at the end: the model full-vocabulary training would give.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F

from scale.build_cache import cached_build
from scale.data.records import read_items
from scale.data.synthetic import write_split
from scale.models.families import family_of, load_model, load_processor, tokenizer_of
from scale.models.tiny import STAND_IN_DATA, STAND_IN_DATASETS, build_cached_stand_in
from scale.prompts import training_messages
from scale.train.driver import train_sft
from scale.train.runs import load_images


class GroupedHead:
    """Per-token cross-entropy over ``used`` rows of the LM head plus one class for all the other rows, which
    must be equal: that class's logit is the first of them (``rest``) plus the log of their count. Called as
    ``per_token`` by ``ScaleSFTTrainer``: returns ``[B, T]`` CE, the target mask, and the backbone's outputs."""

    def __init__(self, used: torch.Tensor, vocab_size: int) -> None:
        self.used = torch.unique(used)
        self.index = torch.full((vocab_size,), -1, dtype=torch.long)
        self.index[self.used] = torch.arange(len(self.used))
        others = torch.ones(vocab_size, dtype=torch.bool)
        others[self.used] = False
        self.others = others.nonzero().flatten()
        if not len(self.others):
            raise ValueError("every row is used: nothing to group")
        self.rest = int(self.others[0])

    def __call__(self, model, inputs: dict):
        labels = inputs.pop("labels")
        outputs = model.base_model(**inputs)  # the backbone, as TRL's fused head runs it
        hidden, targets = outputs.last_hidden_state[:, :-1], labels[:, 1:]
        mask = targets != -100
        if (self.index[targets[mask]] < 0).any():
            raise ValueError("a target token is not among the grouped head's used rows")
        weight = model.get_output_embeddings().weight
        count = len(self.others)
        # the class stands for ``count`` rows: its logit is theirs plus log(count), and the shared row takes the
        # gradient of one of them (the class's, divided by their count), as each of them would under the full head
        rest = weight[self.rest]
        rest = rest / count + (rest - rest / count).detach()
        states = hidden[mask]
        logits = torch.cat([states @ weight[self.used].T, (states @ rest).unsqueeze(1) + math.log(count)], dim=1)
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()  # fp32 accumulation, as scale.loss.token_ce
        ce = F.cross_entropy(logits, self.index[targets[mask]].to(logits.device), reduction="none")
        per_token = ce.new_zeros(mask.shape).masked_scatter(mask, ce)
        return F.pad(per_token, (0, 1)), F.pad(mask, (0, 1), value=False), outputs

    def share_rest(self, model) -> None:
        """Give every unused row of the LM head the same vector (the ``rest`` row's)."""
        with torch.no_grad():
            weight = model.get_output_embeddings().weight
            weight[self.others] = weight[self.rest].clone()


def data_token_ids(processor, records: list[dict], images: list[list]) -> torch.Tensor:
    """Every token id the rendered training conversations hold (image tokens as the processor expands them)."""
    found: set[int] = set(tokenizer_of(processor).all_special_ids)
    for record, pictures in zip(records, images):
        text = processor.apply_chat_template(training_messages(record), tokenize=False)
        if tokenizer_of(processor) is processor:
            ids = processor(text, add_special_tokens=False)["input_ids"]
        else:
            ids = processor(text=[text], images=[pictures] if pictures else None,
                            add_special_tokens=False)["input_ids"][0]
        found.update(int(i) for i in ids)
    return torch.tensor(sorted(found))


def warm_up_stand_in(model_dir: str | Path, training: Mapping[str, Any], seed: int = 0) -> dict[str, Any]:
    """Train ``model_dir`` in place on synthetic responses of its modality (the shortest traces: one round of
    steps, then the answer, so a whole response fits a short completion budget); return what ran."""
    model_dir = Path(model_dir)
    family = family_of(model_dir)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        files = [write_split(work / dataset, dataset, "train", STAND_IN_DATA["n"], STAND_IN_DATA["seed"],
                             STAND_IN_DATA["image_size"], think_ratio=1)
                 for dataset in STAND_IN_DATASETS[family.modality]]
        head = None
        if family.real_vocabulary:  # a large real vocabulary: score the rows the data use, group the rest
            items = [item for file in files for item in read_items(file)]
            used = data_token_ids(load_processor(model_dir), [r for r, _ in items], load_images(items))
            model = load_model(model_dir)
            head = GroupedHead(used, model.get_output_embeddings().weight.shape[0])
            head.share_rest(model)
            model.save_pretrained(model_dir)
        summary = train_sft(model_dir, files, work / "run", loss="ce", training=dict(training), seed=seed,
                            per_token=head or "fused")
        for file in (work / "run" / "model").iterdir():
            shutil.copy2(file, model_dir / file.name)
    if head is not None:  # what training did to the shared row, every unused row gets
        model = load_model(model_dir)
        head.share_rest(model)
        model.save_pretrained(model_dir)
    return {"steps": summary["steps"], "train_loss": summary["train_loss"],
            "samples_trained": summary["samples_trained"], "grouped_rows": None if head is None else len(head.others)}


def model_digest(model_dir: str | Path, leave_out: tuple[str, ...] = ("fetched_from.json",)) -> str:
    """A digest of a model folder's files (names and bytes), what its warm-up starts from: the fetch rule's record
    of where it came from is left out, so that a stand-in the tests build and the one a rule fetched share it."""
    digest = hashlib.sha256()
    root = Path(model_dir)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in leave_out):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def warm_up_copy(cold_dir: str | Path, out_dir: str | Path, warmup: Mapping[str, Any], seed: int = 0) -> Path:
    """A copy of the cold stand-in in ``cold_dir``, warmed up (``warm_up_stand_in``) in ``out_dir``, what it ran
    recorded in its ``tiny_build.json``; once per machine where ``SCALE_BUILD_CACHE`` is set (``scale.build_cache``),
    keyed by the cold model's files and the warm-up's settings."""
    def build(folder: Path) -> None:
        shutil.copytree(cold_dir, folder, dirs_exist_ok=True)
        record = json.loads((folder / "tiny_build.json").read_text())
        record["warmup"] = {"training": dict(warmup), **warm_up_stand_in(folder, warmup, seed)}
        (folder / "tiny_build.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")

    # the thread count too: another count may sum in another order
    settings = {"cold": model_digest(cold_dir), "warmup": dict(warmup), "seed": seed,
                "threads": torch.get_num_threads()}
    out = cached_build("stand_in_warmup", settings, out_dir, build)
    fetched = Path(cold_dir) / "fetched_from.json"  # the fetch rule's record stays with the checkpoint
    if fetched.is_file():
        shutil.copy2(fetched, out / fetched.name)
    return out


def build_warm_stand_in(family: str, out_dir: str | Path, sizes: Mapping[str, Any] | None = None, seed: int = 0,
                        warmup: Mapping[str, Any] | None = None) -> Path:
    """What the rehearsal's two rules make of a checkpoint, in one call (for tests): ``fetch_checkpoint``'s cold
    stand-in (``scale.models.tiny.build_cached_stand_in``), then ``warm_up_stand_in``'s copy of it warmed up when
    ``warmup`` (SFT training settings) is given; the same build-cache entries as the rules'."""
    if not warmup:
        return build_cached_stand_in(family, out_dir, sizes=sizes, seed=seed)
    with tempfile.TemporaryDirectory() as work:
        cold = build_cached_stand_in(family, Path(work) / "cold", sizes=sizes, seed=seed)
        return warm_up_copy(cold, out_dir, warmup, seed)

"""The variants, each defined once: its stage, its default settings, its label and colour, and what the report
tests it against. Config merging, the schema (tied by a test), the grid, the report, the figures, the
significance tests, the claims and the command line's help read this registry, so a new variant is one entry.

Light on purpose (no torch, no pandas): the Snakefile and ``scale --help`` import it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

from scale.loss_settings import LOSSES, SEGMENTED  # noqa: F401 (the registry names the losses too)

STAGES = ("base", "sft", "grpo")


@dataclass(frozen=True)
class Variant:
    name: str
    stage: str  # which stage trains it: base (evaluated only), sft or grpo
    label: str  # how tables' captions and figures' legends name it
    colour: str
    defaults: Mapping[str, Any] = field(default_factory=dict)  # a config's `variants` entry overrides them key by key
    baseline: str | None = None  # the variant the report's claims test it against
    in_paper: bool = True  # the paper's claims are tested on the paper's variants only
    # runs only for the models whose config entry sets one of these flags (``ablation``: the FW pair, Table 3;
    # ``adaptive``: the online-weighted pair, Table 4; ``alternatives``: the other losses, Table 5); empty: for
    # every model
    model_flags: tuple[str, ...] = ()


# In the order the report shows them. Values lost from the paper's text are marked ASSUMPTION, as in the configs.
REGISTRY: tuple[Variant, ...] = (
    Variant("base", "base", "Base", "#9e9e9e"),
    Variant("sft", "sft", "SFT", "#4c72b0", {"loss": "ce"}),
    # FW: the same length-independent loss with constant weights (ASSUMPTION: w_think = w_answer = 1.0); it
    # runs for the ablation models only
    Variant("sft_fw", "sft", "SFT-FW", "#8172b3", {"loss": "fixed", "w_think": 1.0, "w_answer": 1.0},
            model_flags=("ablation", "alternatives")),
    # the paper: w_think decays to w_answer on a cosine; the start value is lost (ASSUMPTION: 2.0)
    Variant("scale_sft", "sft", "SCALe-SFT", "#dd8452",
            {"loss": "scale", "w_think": {"start": 2.0, "end": 1.0, "kind": "cosine"}, "w_answer": 1.0},
            baseline="sft"),
    # GRPO starts from the named SFT variant
    Variant("grpo", "grpo", "GRPO", "#55a868", {"init": "sft"}),
    Variant("grpo_fw", "grpo", "GRPO-FW", "#64b5cd", {"init": "sft_fw"}, model_flags=("ablation",)),
    Variant("scale_grpo", "grpo", "SCALe-GRPO", "#c44e52", {"init": "scale_sft"}, baseline="grpo"),
    # beyond the paper: SCALe's loss with its weights tuned online from the segment losses (scale.weighting:
    # Dynamic Weight Average, a window of 5 steps against per-step noise), for the adaptive models (Table 4)
    Variant("auto_sft", "sft", "Auto-SFT", "#937860",
            {"loss": "scale", "weighting": {"rule": "dwa", "temperature": 2.0, "window": 5}},
            baseline="scale_sft", in_paper=False, model_flags=("adaptive", "alternatives")),
    Variant("auto_grpo", "grpo", "Auto-GRPO", "#da8bc3", {"init": "auto_sft"},
            baseline="scale_grpo", in_paper=False, model_flags=("adaptive",)),
    # beyond the paper, the field's other answers to long traces (Table 5, SFT only): per-sample means, as
    # length-independent as SCALe but without its segments, and DFT (arXiv 2508.05629), each token's CE
    # weighted by its detached probability
    Variant("sample_sft", "sft", "Sample-mean SFT", "#8c8c3a", {"loss": "sample"},
            baseline="sft", in_paper=False, model_flags=("alternatives",)),
    Variant("dft_sft", "sft", "DFT", "#3a8c8c", {"loss": "dft"},
            baseline="sft", in_paper=False, model_flags=("alternatives",)),
)
BY_NAME: dict[str, Variant] = {v.name: v for v in REGISTRY}

SFT_VARIANTS = tuple(v.name for v in REGISTRY if v.stage == "sft")
GRPO_VARIANTS = tuple(v.name for v in REGISTRY if v.stage == "grpo")
TRAINED = SFT_VARIANTS + GRPO_VARIANTS
# Every registered variant (the paper's and ours), each with its defaults: what a config's `variants:` block
# starts from
DEFAULT_VARIANTS: dict[str, dict[str, Any]] = {name: dict(copy.deepcopy(BY_NAME[name].defaults)) for name in TRAINED}
# Tables 1 and 2 need these; a config cannot drop them
REQUIRED = ("sft", "scale_sft", "grpo", "scale_grpo")
MODEL_FLAGS = tuple(dict.fromkeys(f for v in REGISTRY for f in v.model_flags))  # ablation, alternatives, adaptive


class UnknownVariant(ValueError):
    pass


def get(name: str) -> Variant:
    if name not in BY_NAME:
        raise UnknownVariant(f"unknown variant {name!r}; known: {list(BY_NAME)}")
    return BY_NAME[name]


def stage_of(name: str) -> str:
    """``sft`` or ``grpo``: which stage trains a variant (``base`` is not trained)."""
    variant = get(name)
    if variant.stage == "base":
        raise UnknownVariant(f"{name!r} is not trained; trained variants: {list(TRAINED)}")
    return variant.stage


def merged(overrides: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The defaults with a config's ``variants`` entries over them, key by key; ``None`` drops a variant."""
    out = copy.deepcopy(DEFAULT_VARIANTS)
    for name, override in (overrides or {}).items():
        if override is None:
            out.pop(name, None)
        else:
            out[name] = {**out.get(name, {}), **override}
    return out


def runs_for(name: str, model: Mapping[str, Any], dataset: str | None = None) -> bool:
    """Whether a variant runs for a model (its config entry) on ``dataset`` (None: on any): always, or where the
    model sets one of its flags, to ``true`` (every dataset) or to a list of datasets."""
    flags = get(name).model_flags
    return not flags or any(_flag_on(model.get(flag, False), dataset) for flag in flags)


def _flag_on(value: bool | list[str], dataset: str | None) -> bool:
    if isinstance(value, bool):
        return value
    return dataset is None or dataset in value


def pair(comparison: str) -> tuple[str, str]:
    """``{treatment}_vs_{baseline}`` → (baseline, treatment), both registered variants: a paired test a table
    shows, its registry baseline's or another (Table 5 tests each loss against SFT and against SCALe-SFT)."""
    treatment, sep, baseline = comparison.partition("_vs_")
    if not sep or treatment not in BY_NAME or baseline not in BY_NAME:
        raise UnknownVariant(f"{comparison!r} is not <treatment>_vs_<baseline> of two variants; known: {list(BY_NAME)}")
    return baseline, treatment


def weighted() -> tuple[str, ...]:
    """The SFT variants whose loss weights segments, so whose runs log ``w_think`` and ``w_answer``."""
    return tuple(name for name in SFT_VARIANTS if BY_NAME[name].defaults.get("loss") in SEGMENTED)


def described(stage: str) -> str:
    """``sft, sft_fw, scale_sft``: a stage's variants, for help texts."""
    return ", ".join(v.name for v in REGISTRY if v.stage == stage)

"""SCALe's loss settings, one contract from a config file to the trainer.

``LossSettings`` names each setting once, with its default, its type for the config schema and its rules
(``check``). The same class serves every stage: ``scale.config.schema`` writes the SFT variants' keys from its
fields, config validation (``scale.settings``) calls its ``check`` and names the config key that failed,
``scale.config.sft_spec`` hands its ``spec()`` to the job as the trainer's keyword arguments, and
``scale.train.sft.ScaleSFTConfig`` inherits it, so the trainer checks what validation checked.

Light on purpose (no torch): the Snakefile imports it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from scale.schedule import WeightSchedule
from scale.weighting import weighting_from_config

# "fixed" is SCALe's loss with constant weights (the FW ablation); "sample" (per-sample means) and "dft" (Dynamic
# Fine-Tuning) are the field's other answers to long traces, beside SCALe in Table 5
LOSSES = ("ce", "scale", "fixed", "sample", "dft")
SEGMENTED = ("scale", "fixed")  # the losses that take segment weights


class LossSettingError(ValueError):
    """A loss setting the trainer would reject; ``key`` is the setting's name (and the schedule's key in it)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _weight(key: str, value: Any) -> float | dict[str, Any]:
    """A weight as config files write it (a number, kept as written, or start/end/kind as a plain mapping),
    checked by ``WeightSchedule``."""
    if isinstance(value, WeightSchedule):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        for bound in ("start", "end"):
            if bound in value and (isinstance(value[bound], bool) or not isinstance(value[bound], (int, float))):
                raise LossSettingError(f"{key}/{bound}", f"{value[bound]!r} is not a number")
    try:
        WeightSchedule.from_config(value)
    except (ValueError, TypeError) as error:
        raise LossSettingError(key, str(error)) from None
    return dict(value) if isinstance(value, Mapping) else value


@dataclass
class LossSettings:
    """Which loss SFT trains with, and its segment weights. A weight is a number (constant) or a schedule over the
    run's optimizer steps (``{"start": 2.0, "end": 1.0, "kind": "cosine"}`` or a ``WeightSchedule``)."""

    loss: str = field(default="ce", metadata={
        "help": "ce (token mean), scale (SCALe), fixed (FW ablation), sample (per-sample means) or dft (DFT)",
        "schema": {"enum": list(LOSSES)}})
    w_think: Any = field(default=1.0, metadata={
        "help": "weight of the think segment's mean CE", "schema": {"type": ["number", "object"]}})
    w_answer: Any = field(default=1.0, metadata={
        "help": "weight of the answer segment's mean CE", "schema": {"type": ["number", "object"]}})
    weighting: dict | None = field(default=None, metadata={
        "help": "weights tuned online from the segment losses instead of w_think/w_answer (scale.weighting), "
                "e.g. {'rule': 'dwa', 'temperature': 2.0}; loss 'scale' only",
        "schema": {"type": "object",
                   "description": "SCALe's weights tuned online (scale.weighting), e.g. {rule: dwa}"}})

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """The settings' rules; normalises each weight to a number or a plain mapping. Raises
        ``LossSettingError`` naming the setting."""
        if self.loss not in LOSSES:
            raise LossSettingError("loss", f"loss must be one of {LOSSES}, got {self.loss!r}")
        self.w_think, self.w_answer = _weight("w_think", self.w_think), _weight("w_answer", self.w_answer)
        if self.loss == "fixed":
            for key in ("w_think", "w_answer"):
                if WeightSchedule.from_config(getattr(self, key)).kind != "constant":
                    raise LossSettingError(key, f"the fixed-weight loss needs constant weights, got "
                                                f"{getattr(self, key)!r}; for a schedule use loss: scale")
        if self.weighting is not None:
            if self.loss != "scale":
                raise LossSettingError("weighting", f"an online weighting tunes SCALe's weights, so it needs "
                                                    f"loss: scale, not {self.loss!r}")
            self.weighting = dict(self.weighting)
            try:
                weighting_from_config(self.weighting)
            except ValueError as error:
                raise LossSettingError("weighting", str(error)) from None
        if self.loss not in SEGMENTED:
            for key in ("w_think", "w_answer"):
                schedule = WeightSchedule.from_config(getattr(self, key))
                if (schedule.start, schedule.end) != (1.0, 1.0):
                    raise LossSettingError(key, f"loss {self.loss!r} has no segments to weigh, so {key} must stay "
                                                f"1.0, got {getattr(self, key)!r}; segment weights need loss: "
                                                f"{' or '.join(SEGMENTED)}")

    @property
    def think_schedule(self) -> WeightSchedule:
        return WeightSchedule.from_config(self.w_think)

    @property
    def answer_schedule(self) -> WeightSchedule:
        return WeightSchedule.from_config(self.w_answer)

    # ``LossSettings``'s own fields, not ``cls``'s: ``ScaleSFTConfig`` inherits these and adds TRL's
    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(LossSettings))

    @classmethod
    def schema_properties(cls) -> dict[str, Any]:
        """What a config's SFT variant entry may hold for these settings, as JSON schema properties."""
        return {f.name: dict(f.metadata["schema"]) for f in dataclasses.fields(LossSettings)}

    @classmethod
    def of(cls, variant: Mapping[str, Any]) -> "LossSettings":
        """The settings a variant's entry gives (its other keys, such as ``training``, aside), checked."""
        return LossSettings(**{key: variant[key] for key in cls.names() if key in variant})

    def spec(self) -> dict[str, Any]:
        """The settings as the trainer takes them (``ScaleSFTConfig``'s keyword arguments); a setting that is
        None (no online weighting) is left out, so a run's recorded settings keep the keys they always had."""
        return {key: getattr(self, key) for key in LossSettings.names() if getattr(self, key) is not None}

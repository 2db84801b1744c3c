"""Segment weights over training: the paper's eq. 3 cosine, and a constant.

SCALe starts with a high reasoning weight and lets it decay to the answer
weight; the FW ablation keeps it fixed. Both are a ``WeightSchedule`` built
from a config mapping such as ``{"start": 2.0, "end": 1.0, "kind": "cosine"}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

KINDS = ("cosine", "constant")


def cosine(step: int, total_steps: int, start: float, end: float) -> float:
    """Eq. 3: ``end + (start - end) * (1 + cos(pi * step / total_steps)) / 2``.

    ``start`` at step 0, ``end`` at ``total_steps`` and after; ``end`` whenever
    ``total_steps <= 0`` (nothing to interpolate over). Example:
    ``cosine(50, 100, 2.0, 1.0) == 1.5``.
    """
    if total_steps <= 0 or step >= total_steps:
        return float(end)
    if step <= 0:
        return float(start)
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))


def constant(step: int, total_steps: int, start: float, end: float | None = None) -> float:
    """The fixed-weight (FW) schedule: ``start`` at every step."""
    return float(start)


@dataclass(frozen=True)
class WeightSchedule:
    start: float
    end: float
    kind: str = "cosine"

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"a segment weight is a finite number >= 0 (it scales a mean CE), got {name}={value}")
        if self.kind not in KINDS:
            raise ValueError(f"schedule kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "constant" and self.start != self.end:
            raise ValueError(
                f"a constant schedule needs start == end, got start={self.start} end={self.end}"
            )

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | float | int) -> "WeightSchedule":
        """A number means a constant weight; a mapping needs ``start``, takes ``end`` and ``kind``."""
        if isinstance(config, (int, float)) and not isinstance(config, bool):
            return cls(float(config), float(config), "constant")
        if not isinstance(config, Mapping) or "start" not in config:
            raise ValueError(f"a weight schedule needs at least a 'start' value, got {config!r}")
        unknown = set(config) - {"start", "end", "kind"}
        if unknown:
            raise ValueError(f"unknown weight schedule keys {sorted(unknown)} in {dict(config)!r}")
        start = float(config["start"])
        end = float(config.get("end", start))
        kind = str(config.get("kind", "cosine" if start != end else "constant"))
        return cls(start, end, kind)

    def __call__(self, step: int, total_steps: int) -> float:
        if self.kind == "constant":
            return constant(step, total_steps, self.start)
        return cosine(step, total_steps, self.start, self.end)

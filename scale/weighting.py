"""Segment weights tuned online from the training losses: Dynamic Weight Average (Liu et al., 2019) over the
think and answer losses, where the paper's SCALe fixes them by hand (``scale.schedule``).

Each segment's loss at a step is the mean over the global batch's samples of that segment's mean
cross-entropy (SCALe's own per-sample segment means). The rule compares how fast each loss falls: with
``L̄_k`` the mean of segment ``k``'s loss over the last ``window`` steps and ``L̄'_k`` over the ``window``
steps before those, ``r_k = L̄_k / L̄'_k``, and the weights are ``total · softmax(r / temperature)``, clipped
to ``[min_weight, total - min_weight]``. The segment whose loss falls more slowly (larger ``r``) gets more
weight. ``window: 1`` is DWA as published, on per-step losses; per-step losses of small batches are noisy, so
a window smooths them. Until ``2·window`` steps have been seen the weights are ``total / 2`` each.

Why DWA here (docs/design.md says more): it needs only the two losses the trainer already computes, no
extra backward pass (GradNorm needs one) and no learnt parameters (uncertainty weighting and FAMO add
optimizer state a LoRA or DeepSpeed run would have to carry); its weights are a pure function of a short
history of globally reduced losses, so every process and every accumulated micro-batch of a step use the
same weights, and the history, saved with each checkpoint, restores them exactly on resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

RULES = ("dwa",)


@dataclass
class DynamicWeightAverage:
    temperature: float = 2.0
    window: int = 1
    total: float = 2.0  # the weights' sum: SCALe's schedule ends at w_think = w_answer = 1
    min_weight: float = 0.1
    history: list[tuple[float, float]] = field(default_factory=list)  # (think, answer) loss per step, oldest first

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0, got {self.temperature}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1:
            raise ValueError(f"window must be a whole number of steps >= 1, got {self.window!r}")
        if not (math.isfinite(self.total) and self.total > 0):
            raise ValueError(f"total must be a finite number > 0, got {self.total}")
        if not 0 <= self.min_weight < self.total / 2:
            raise ValueError(f"min_weight must be >= 0 and below total / 2 = {self.total / 2}, got {self.min_weight}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "DynamicWeightAverage":
        """``{"rule": "dwa", "temperature": 2.0, "window": 1, "total": 2.0, "min_weight": 0.1}`` (all but
        ``rule`` optional); an unknown rule or key is a ``ValueError`` naming it."""
        if not isinstance(config, Mapping) or config.get("rule") not in RULES:
            raise ValueError(f"a weighting needs 'rule', one of {RULES}, got {config!r}")
        unknown = set(config) - {"rule", "temperature", "window", "total", "min_weight"}
        if unknown:
            raise ValueError(f"unknown weighting keys {sorted(unknown)}; known: temperature, window, total, min_weight")
        for key in ("temperature", "total", "min_weight"):
            if key in config and (isinstance(config[key], bool) or not isinstance(config[key], (int, float))):
                raise ValueError(f"weighting {key} must be a number, got {config[key]!r}")
        return cls(**{k: v for k, v in config.items() if k != "rule"})

    def update(self, think: float, answer: float) -> None:
        """Record one step's globally reduced segment losses (only the last ``2·window`` are kept)."""
        for name, value in (("think", think), ("answer", answer)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"the {name} loss must be a finite number >= 0, got {value}")
        self.history = [*self.history, (float(think), float(answer))][-2 * self.window:]

    def rates(self) -> tuple[float, float] | None:
        """``(r_think, r_answer)``, or None until ``2·window`` steps are known (or a loss was 0)."""
        if len(self.history) < 2 * self.window:
            return None
        earlier, recent = self.history[: self.window], self.history[self.window:]
        before = [sum(step[k] for step in earlier) for k in (0, 1)]
        now = [sum(step[k] for step in recent) for k in (0, 1)]
        if min(before) <= 0:
            return None
        return now[0] / before[0], now[1] / before[1]

    def weights(self) -> tuple[float, float]:
        """``(w_think, w_answer)`` for the next step."""
        rates = self.rates()
        if rates is None:
            return self.total / 2, self.total / 2
        top = max(rates)
        exp = [math.exp((r - top) / self.temperature) for r in rates]
        think = self.total * exp[0] / sum(exp)
        think = min(max(think, self.min_weight), self.total - self.min_weight)
        return think, self.total - think

    def state_dict(self) -> dict[str, Any]:
        return {"history": [list(step) for step in self.history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.history = [(float(t), float(a)) for t, a in state["history"]][-2 * self.window:]


def weighting_from_config(config: Mapping[str, Any] | None) -> DynamicWeightAverage | None:
    return None if config is None else DynamicWeightAverage.from_config(config)

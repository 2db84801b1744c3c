"""GRPO rewards (paper eqs. 5 and 6), plain and in TRL's reward-function form.

TRL calls a reward function with ``completions`` (strings, or conversations
``[{"role": "assistant", "content": …}]`` for chat data) and every other
dataset column as a keyword argument; it wants one float per completion.
"""

from __future__ import annotations

from typing import Any, Sequence

from scale.answers import extract_answer, is_valid, normalize_answer

FORMAT_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
REWARD_WEIGHTS = {"w_format": 1.0, "w_accuracy": 1.0}  # eq. 6: the paper weighs both rewards equally


def format_reward(text: str) -> float:
    """Eq. 5: 0.25 for each tag that occurs exactly once and in its place in the order.

    A tag earns its quarter when it occurs exactly once and every other
    once-occurring tag lies on the correct side of it. Text around or between
    the tags (whitespace included) is not judged. Examples:
    ``"<think>a</think><answer>B</answer>"`` → 1.0;
    ``"<think>a</think><answer>B"`` → 0.75;
    ``"<think>a</think><think>b</think><answer>B</answer>"`` → 0.5 (both think tags twice);
    ``"<answer>B</answer><think>a</think>"`` → 0.0.
    """
    if not text:
        return 0.0
    positions = {
        i: text.find(tag) for i, tag in enumerate(FORMAT_TAGS) if text.count(tag) == 1
    }
    score = 0.0
    for i, position in positions.items():
        in_order = all((j < i) == (other < position) for j, other in positions.items() if j != i)
        if in_order:
            score += 0.25
    return score


def accuracy_reward(text: str, solution: str) -> float:
    """1.0 when the extracted, normalised answer equals the normalised solution, else 0.0.

    Paid even without ``</think>``: the format reward carries the structure, and
    evaluation, which counts such an output invalid and wrong, is the stricter
    judge (docs/design.md, "Semantics the paper leaves open")."""
    predicted = normalize_answer(extract_answer(text))
    return 1.0 if predicted != "" and predicted == normalize_answer(solution) else 0.0


def combined_reward(
    text: str, solution: str, w_format: float = REWARD_WEIGHTS["w_format"],
    w_accuracy: float = REWARD_WEIGHTS["w_accuracy"],
) -> float:
    """Eq. 6: ``w_format · R_format + w_accuracy · R_accuracy``."""
    return w_format * format_reward(text) + w_accuracy * accuracy_reward(text, solution)


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string, or the last message's content (string or parts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        content = completion.get("content", "")
    elif isinstance(completion, Sequence) and completion:
        return completion_text(completion[-1])
    else:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return ""


def format_reward_func(completions: Sequence[Any], log_metric=None, **kwargs: Any) -> list[float]:
    """TRL reward function for eq. 5; also logs the batch's ``invalid_fraction`` (Table 2's definition)
    when TRL passes its ``log_metric`` hook."""
    texts = [completion_text(c) for c in completions]
    if log_metric is not None:
        log_metric("invalid_fraction", sum(not is_valid(t) for t in texts) / max(1, len(texts)))
    return [format_reward(t) for t in texts]


def accuracy_reward_func(
    completions: Sequence[Any], solution: Sequence[str], **kwargs: Any
) -> list[float]:
    """TRL reward function for exact-match accuracy against the ``solution`` column."""
    if len(solution) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(solution)} solutions")
    return [accuracy_reward(completion_text(c), str(s)) for c, s in zip(completions, solution)]

"""How imbalanced the training data is: think vs answer token counts per response (the paper's ×150)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from scale.answers import THINK_CLOSE


def token_counter(tokenizer) -> Callable[[str], int]:
    """Tokens of a piece of text as the model sees it inside a conversation (no special tokens added)."""
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def split_response(response: str) -> tuple[str, str]:
    """Think part (up to ``</think>``) and answer part (from it on), as the loss segments them."""
    close = response.index(THINK_CLOSE)
    return response[:close], response[close:]


def summary(values: list[int]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()), "median": float(np.median(array)),
            "p5": float(np.percentile(array, 5)), "p95": float(np.percentile(array, 95)),
            "min": float(array.min()), "max": float(array.max())}


def imbalance_stats(responses: Iterable[str], count_tokens: Callable[[str], int]) -> dict:
    """Think and answer token counts, and the think/answer ratio (of means, and per-response median)."""
    think, answer = [], []
    for response in responses:
        t, a = split_response(response)
        think.append(count_tokens(t))
        answer.append(count_tokens(a))
    if not think:
        raise ValueError("no responses to count")
    ratios = [t / a for t, a in zip(think, answer) if a]
    return {"n": len(think), "think_tokens": summary(think), "answer_tokens": summary(answer),
            "ratio_of_means": float(np.mean(think) / np.mean(answer)),
            "median_ratio": float(np.median(ratios)) if ratios else None}


def write_stats(train_path: str | Path, tokenizer_dir: str | Path, out_path: str | Path) -> dict:
    from transformers import AutoTokenizer

    from scale.data.records import read_records

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    records = read_records(train_path, require_response=True)
    stats = imbalance_stats((r["response"] for r in records), token_counter(tokenizer))
    stats["tokenizer"] = str(tokenizer_dir)
    Path(out_path).write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats

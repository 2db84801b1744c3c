"""One predictions format for every backend: a JSON line per test record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Iterable, Sequence

from scale.answers import THINK_CLOSE, extract_answer, is_correct, is_valid

FIELDS = ("id", "qtype", "gold", "output", "extracted", "correct", "valid",
          "n_think_tokens", "n_answer_tokens", "finish_reason", "prompt_tokens", "prompt_sha256")


def prompt_fields(prompt_ids: Sequence[int]) -> dict:
    """What a prediction records of the token ids the model was prompted with (image tokens expanded):
    their count and a digest, so two backends' prompts can be compared record by record."""
    digest = hashlib.sha256(",".join(str(int(i)) for i in prompt_ids).encode()).hexdigest()
    return {"prompt_tokens": len(prompt_ids), "prompt_sha256": digest[:16]}


def segment_token_counts(output: str, count_tokens: Callable[[str], int]) -> tuple[int, int]:
    """Tokens before ``</think>`` (think) and from it on (answer); all think when it never closes."""
    close = output.find(THINK_CLOSE)
    if close < 0:
        return count_tokens(output), 0
    return count_tokens(output[:close]), count_tokens(output[close:])


def prediction(record: dict, output: str, finish_reason: str, count_tokens: Callable[[str], int],
               prompt: dict | None = None) -> dict:
    """One predictions line; ``prompt`` is ``prompt_fields`` of the ids the model was given (every
    backend passes it; None only where no model ran, as in tests of scoring)."""
    prompt = prompt or {"prompt_tokens": None, "prompt_sha256": None}
    if finish_reason not in ("stop", "length"):
        raise ValueError(f"finish_reason must be 'stop' or 'length', got {finish_reason!r}")
    think, answer = segment_token_counts(output, count_tokens)
    return {
        "id": record["id"],
        "qtype": record["qtype"],
        "gold": record["answer"],
        "output": output,
        "extracted": extract_answer(output),
        "correct": is_correct(output, record["answer"]),
        "valid": is_valid(output),
        "n_think_tokens": think,
        "n_answer_tokens": answer,
        "finish_reason": finish_reason,
        "prompt_tokens": prompt["prompt_tokens"],
        "prompt_sha256": prompt["prompt_sha256"],
    }


def write_predictions(path: str | Path, predictions: Iterable[dict]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for p in predictions:
            out.write(json.dumps({k: p[k] for k in FIELDS}, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_predictions(path: str | Path) -> list[dict]:
    """Predictions as written; undecodable bytes in an output are replaced, never fatal."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                row = json.loads(line)
                missing = set(FIELDS) - set(row)
                if missing:
                    raise ValueError(f"{path}:{number}: prediction lacks {sorted(missing)}")
                rows.append(row)
    return rows

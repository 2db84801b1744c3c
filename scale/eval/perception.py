"""What an aligned VLM perceives: asked to describe held-out pictures (``scale.data.captions``' probe split:
test-bucket scenes alignment never saw), how often its description gets the picture's counts right.

A description is read back into (colour, shape) counts (``read_description``); four scores, each beside the
best constant answer a model blind to the picture could give on the same pictures:

* ``total``: the number of shapes named equals the picture's;
* ``colours`` / ``shapes``: every colour's (every shape's) count is right;
* ``exact``: every (colour, shape) count is right.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from scale.data.captions import read_description
from scale.data.scenes import COLOURS, SHAPES

SCORES = ("total", "colours", "shapes", "exact")


def _views(counts: Counter) -> dict[str, object]:
    """What each score compares, as a hashable value."""
    colours = tuple(sum(n for (c, _), n in counts.items() if c == colour) for colour in COLOURS)
    shapes = tuple(sum(n for (_, s), n in counts.items() if s == shape) for shape in SHAPES)
    return {"total": sum(counts.values()), "colours": colours, "shapes": shapes,
            "exact": tuple(sorted((k, n) for k, n in counts.items() if n))}


def first_line(output: str) -> str:
    """A description is one line: what a model writes after it (a model that has not learnt to stop goes on)
    is not read."""
    return output.strip().split("\n", 1)[0]


def score_descriptions(outputs: list[str], golds: list[str]) -> dict[str, dict[str, float]]:
    """Per score: the share of outputs right (their first line), and the best constant answer's share (the most
    common gold)."""
    said = [_views(read_description(first_line(o))) for o in outputs]
    truth = [_views(read_description(g)) for g in golds]
    result = {}
    for score in SCORES:
        right = sum(s[score] == t[score] for s, t in zip(said, truth))
        constant = Counter(t[score] for t in truth).most_common(1)[0][1]
        result[score] = {"model": right / len(golds), "best_constant": constant / len(golds)}
    return result


def probe(model_dir, probe_path, out_path, batch_size: int = 16, max_new_tokens: int = 48) -> dict:
    """Describe every picture of ``probe_path`` greedily (the ``hf`` backend) and write the scores, with the
    first outputs beside their golds, to ``out_path`` (JSON)."""
    from scale.data.captions import read_items
    from scale.eval.generate import hf_generate
    from scale.prompts import description_prompt

    items = read_items(probe_path)
    predictions = hf_generate(model_dir, items, batch_size=batch_size, max_new_tokens=max_new_tokens,
                              build_messages=description_prompt)
    outputs, golds = [p["output"] for p in predictions], [record["description"] for record, _ in items]
    result = {"model_dir": str(model_dir), "n": len(items), "scores": score_descriptions(outputs, golds),
              "examples": [{"gold": g, "output": o} for g, o in list(zip(golds, outputs))[:8]]}
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(result, indent=2) + "\n")
    return result

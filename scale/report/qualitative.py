"""Side-by-side examples where vanilla SFT and SCALe-SFT disagree (the paper's Figures 2–5)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from scale.data.records import read_records
from scale.eval.predictions import read_predictions
from scale.layout import parse_eval_path


def disagreements(sft: list[dict], scale_sft: list[dict], limit: int) -> list[tuple[dict, dict]]:
    """Pairs where exactly one is correct, SCALe-correct ones first, in test order."""
    by_id = {p["id"]: p for p in sft}
    pairs = [(by_id[p["id"]], p) for p in scale_sft if p["id"] in by_id and by_id[p["id"]]["correct"] != p["correct"]]
    pairs.sort(key=lambda pair: not pair[1]["correct"])
    return pairs[:limit]


def qualitative_markdown(prediction_files: Iterable[str | Path], test_files: dict[str, str | Path],
                         per_row: int = 3, max_chars: int = 1200) -> str:
    cells = {}
    for path in prediction_files:
        cell = parse_eval_path(path)
        cells[(cell["model"], cell["dataset"], cell["variant"], cell["seed"])] = path
    lines = ["# Qualitative examples: SFT vs SCALe-SFT", "",
             "Test questions where exactly one of the two is right (first seed of each row).", ""]
    for model, dataset in sorted({(m, d) for m, d, _, _ in cells}):
        seeds = sorted(s for m, d, v, s in cells if (m, d, v) == (model, dataset, "sft"))
        if not seeds or (model, dataset, "scale_sft", seeds[0]) not in cells:
            continue
        records = {r["id"]: r for r in read_records(test_files[dataset])}
        sft = read_predictions(cells[(model, dataset, "sft", seeds[0])])
        scale_sft = read_predictions(cells[(model, dataset, "scale_sft", seeds[0])])
        pairs = disagreements(sft, scale_sft, per_row)
        lines += [f"## {model} on {dataset}", ""]
        if not pairs:
            lines += ["No disagreements.", ""]
        for a, b in pairs:
            record = records[a["id"]]
            image = Path(test_files[dataset]).parent / record["image"] if record.get("image") else None
            lines += [f"**{record['id']}** ({record['qtype']}), image `{image}`", "",
                      f"> {record['question']}".replace("\n", "\n> ")]
            if record.get("choices"):
                lines.append(f"> choices: {record['choices']}")
            lines += ["", f"gold: `{record['answer']}`", ""]
            for name, p in (("SFT", a), ("SCALe-SFT", b)):
                verdict = "correct" if p["correct"] else ("wrong" if p["valid"] else "invalid")
                text = p["output"] if len(p["output"]) <= max_chars else p["output"][:max_chars] + " …"
                lines += [f"{name} ({verdict}, extracted `{p['extracted']}`):", "", "```text", text, "```", ""]
    return "\n".join(lines) + "\n"

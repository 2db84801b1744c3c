"""What real tokenisation does to the paper config's training data: token counts of the Vision-R1 and OpenR1-Math
fixtures' samples under each stand-in's tokenizer (the real Qwen2 and Mistral-7B vocabularies, Gemma 3's trained
one), against the paper configs' ``max_length`` and the rehearsal's, with what ``drop_overlong`` drops and whether
truncation would have cut into an answer segment.

    python benchmarks/bench_tokens.py        (about a minute; not part of CI)

A sample is dropped whole when it does not fit (``scale.train.runs.drop_overlong``), so no trained answer is ever
cut; ``answer_cut`` counts the samples whose answer segment truncation at ``max_length`` would have reached
(prompt and think fit, the answer does not). The fixtures' traces are synthetic and short: what the real corpora's
traces cost is measured on the cluster (each run's ``run.json`` counts ``dropped_overlong``).
"""

import tempfile
from pathlib import Path

import yaml

from scale.data.fixtures import write_openr1_fixture, write_visionr1_fixture
from scale.data.openr1 import filter_openr1, load_corpus
from scale.data.records import read_items
from scale.data.visionr1 import filter_visionr1
from scale.models.families import load_processor, tokenizer_of
from scale.models.tiny import build_stand_in
from scale.prompts import training_messages
from scale.train import runs
from scale.train.collate import render

REPO = Path(__file__).resolve().parents[1]
SIZES = {"hidden_size": 64, "intermediate_size": 128, "num_layers": 1, "num_heads": 2, "num_kv_heads": 1,
         "vision_hidden_size": 32, "vision_layers": 1, "vision_heads": 2}


def max_lengths(paper: str, overlay: str) -> tuple[int, int]:
    configs = [yaml.safe_load((REPO / "configs" / name).read_text()) for name in (paper, overlay)]
    return tuple(config["sft"]["training"]["max_length"] for config in configs)


def measure(model_dir: Path, items: list, limits: tuple[int, int]) -> dict:
    processor = load_processor(model_dir)
    records = [record for record, _ in items]
    images = runs.load_images(items)
    totals = runs.token_lengths(processor, records, images, training_messages)
    tokenizer = tokenizer_of(processor)
    responses, answer_starts = [], []
    for record, total in zip(records, totals):
        text, start = render(processor, training_messages(record))
        response = text[start:]
        before_answer = len(tokenizer(response[: response.index("</think>")], add_special_tokens=False)["input_ids"])
        responses.append(len(tokenizer(response, add_special_tokens=False)["input_ids"]))
        answer_starts.append(total - responses[-1] + before_answer)  # the first answer token's position
    row = {"samples": len(totals), "tokens_mean": round(sum(totals) / len(totals)), "tokens_max": max(totals),
           "response_mean": round(sum(responses) / len(responses))}
    for name, limit in zip(("paper", "rehearsal"), limits):
        row[f"dropped_at_{name}_{limit}"] = sum(t > limit for t in totals)
        row[f"answer_cut_at_{name}_{limit}"] = sum(a < limit < t for a, t in zip(answer_starts, totals))
    return row


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        write_visionr1_fixture(root / "visionr1", per_source=20)
        filter_visionr1(root / "visionr1", {"scienceqa": ["sqa", "ScienceQA"], "iconqa": ["IconQA", "iconqa"]},
                        image_root=root / "visionr1", out_dirs={d: root / d for d in ("scienceqa", "iconqa")})
        write_openr1_fixture(root / "openr1", rows=24)
        filter_openr1(load_corpus(root / "openr1"), "math500", root / "math500")
        vlm = max_lengths("paper.yaml", "rehearsal.yaml")
        text = max_lengths("text_paper.yaml", "text_rehearsal.yaml")
        pictured = ("scienceqa", "iconqa")
        for family, datasets, limits in (("qwen2_5_vl", pictured, vlm), ("gemma3", pictured, vlm),
                                         ("llava_next", pictured, vlm), ("qwen2_5", ("math500",), text)):
            model = build_stand_in(family, root / "models" / family, sizes=SIZES)
            for dataset in datasets:
                row = measure(model, read_items(root / dataset / "train.jsonl"), limits)
                print(f"{family} {dataset}: {row}")


if __name__ == "__main__":
    main()

"""Which counts a tiny model learns from pictures in the warm-up's budget: a count of the whole
picture, a count of one fixed colour or shape, a count of the colour or shape the question names, or
every colour's and shape's count written out in a fixed order.

    python benchmarks/bench_conditioning.py [--family qwen2_5_vl] [--steps N] [--n 8000]
    (about 2.5 minutes per task on a 2-core machine; prints probe accuracy per question type beside
     the best constant answer on the same probe)

Each task is a count-only warm-up of the default's settings (steps, batch, learning rate), trained
from the same randomly initialised model and scored on test-layout pictures it never saw:

* ``total``: how many things are in the picture (no name in the question);
* ``fixed``: how many red shapes, how many circles (always the same colour and shape);
* ``named``: ``count_colour``/``count_shape`` (any colour or shape, named), the counts the
  default's traces were first made of;
* ``survey``: the default warm-up's ``survey``, all seven counts in one answer, always in the same
  order (``red 2, green 0, blue 1, yellow 1, circle 1, square 2, triangle 1``); scored whole (all
  seven right) and per count.

If ``total`` and ``fixed`` are learnt and ``named`` stays at the constant answer, what the model
cannot learn in this budget is picking a count by a word of the question, not seeing or counting;
``survey`` asks whether the same counts are learnt when each has a fixed place in the answer
instead (it was, so the default's traces are now made of the survey).
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from scale.config import load_config
from scale.data.questions import ASK, answer_part, count_question
from scale.data.records import read_records, write_records
from scale.data.scenes import colour_counts, draw_scene, random_scene, scene_split_bucket, shape_counts
from scale.eval.generate import evaluate
from scale.eval.predictions import read_predictions
from scale.eval.score import chance_levels, score_file
from scale.models.tiny import build_tiny, tokenizer_corpus
from scale.report.traces import survey_counts
from scale.train.driver import train_sft

REPO = Path(__file__).resolve().parents[1]
TASKS = ("total", "fixed", "named", "survey")
MAX_NEW_TOKENS = 64  # a survey answer is about 40 tokens


def ask(task: str, scene, rng: random.Random, index: int) -> tuple[str, str, str]:
    """(question type, question, answer): colour and shape questions alternate."""
    if task == "total":
        return "count_total", "How many things are in the picture?", str(sum(i is not None for i in scene))
    if task == "survey":
        question, _, answer, _, _ = ASK["survey"](scene, rng)
        return "survey", question, answer
    qtype = "count_colour" if index % 2 == 0 else "count_shape"
    if task == "named":  # the default warm-up's own question
        question, _, answer, _, _ = ASK[qtype](scene, rng)
        return qtype, question, answer
    name, counts = ("red", colour_counts(scene)) if qtype == "count_colour" else ("circle", shape_counts(scene))
    return qtype, count_question(name), str(counts[name])


def write_task(out: Path, task: str, split: str, n: int, seed: int, size: int) -> Path:
    """Count-only records of one task; warm-up pictures from training layouts, probe from test layouts."""
    rng = random.Random(f"{task}/{split}/{seed}")
    bucket = "test" if split == "probe" else "train"
    (out / "images" / split).mkdir(parents=True, exist_ok=True)
    records = []
    while len(records) < n:
        scene = random_scene(rng)
        if scene_split_bucket(scene) != bucket:
            continue
        qtype, question, answer = ask(task, scene, rng, len(records))
        record = {"id": f"{task}-{split}-{len(records):05d}", "image": f"images/{split}/{len(records):05d}.png",
                  "question": question, "choices": None, "answer": answer, "source": f"bench-{task}",
                  "qtype": qtype}
        if split == "warmup":
            record["response"] = f"<think>\n{answer_part(answer)}"
        draw_scene(scene, size).save(out / record["image"])
        records.append(record)
    write_records(out / f"{split}.jsonl", records)
    return out / f"{split}.jsonl"


def constant_answer(records: list[dict]) -> dict[str, float]:
    """Per question type, what the best constant answer scores (a model blind to the picture)."""
    by_qtype: dict[str, list] = {}
    for record in records:
        by_qtype.setdefault(record["qtype"], []).append(record)
    return {qtype: chance_levels(group)["majority"] for qtype, group in by_qtype.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    config = load_config(REPO / "config.yaml")
    parser.add_argument("--family", default="qwen2_5_vl", choices=list(config["models"]))
    parser.add_argument("--steps", type=int, default=config["base"]["warmup"]["max_steps"])
    parser.add_argument("--n", type=int, default=8000,
                        help="warm-up records per task (the default warm-up has 8,000: 1.2 passes in 600 steps of 16)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    args = parser.parse_args()
    model = config["models"][args.family]
    size = config["data"]["datasets"]["scienceqa"]["image_size"]
    warmup = dict(config["base"]["warmup"], max_steps=args.steps, disable_tqdm=True)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        files = {task: {split: write_task(root / task, task, split, n, 0, size)
                        for split, n in (("warmup", args.n), ("probe", 200))} for task in args.tasks}
        corpus = tokenizer_corpus(r for task in files.values() for p in task.values() for r in read_records(p))
        init = build_tiny(model["family"], root / "init", corpus, seed=0, sizes=model["tiny"])
        for task, paths in files.items():
            start = time.perf_counter()
            train_sft(init, [paths["warmup"]], root / task / "base", loss="ce", training=warmup, seed=0)
            seconds = time.perf_counter() - start
            out = root / task / "eval"
            evaluate(root / task / "base" / "model", paths["probe"], out / "predictions.jsonl",
                     batch_size=32, max_new_tokens=MAX_NEW_TOKENS)
            metrics = score_file(out / "predictions.jsonl", out / "metrics.json", bootstrap=200)
            probe = read_records(paths["probe"])
            constant = constant_answer(probe)
            for qtype, scores in metrics["per_qtype"].items():
                rows.append((task, qtype, scores["accuracy"], constant[qtype], seconds))
            if task == "survey":
                per_name = survey_counts(read_predictions(out / "predictions.jsonl"), probe)
                print("survey, each count right:", json.dumps({k: round(v, 1) for k, v in per_name.items()}))
    print(f"{args.family}, count-only warm-up of {args.steps} steps, probe of 200 test-layout pictures per task")
    print(f"{'task':<7} {'question type':<14} {'accuracy':>9} {'constant answer':>16} {'train s':>8}")
    for task, qtype, accuracy, constant, seconds in rows:
        print(f"{task:<7} {qtype:<14} {accuracy:8.1f}% {constant:15.1f}% {seconds:8.0f}")
    print(json.dumps([dict(zip(("task", "qtype", "accuracy", "constant", "seconds"), r)) for r in rows]))


if __name__ == "__main__":
    main()

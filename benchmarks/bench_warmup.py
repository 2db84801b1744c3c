"""What the embedded default's warm-up teaches: direct-answer accuracy of each tiny family before and
after it, on the probe (the warm-up's own question types asked of test pictures) and on the test
questions it never taught, beside what guessing scores on each.

    python benchmarks/bench_warmup.py [--families qwen2_5_vl gemma3 llava_next] [--steps N]
    (target: every warmed-up family clears the probe's majority baseline by 10 points or more on
     both datasets, so it sees; its test accuracy is what Base brings to SFT untaught; about
     5 minutes per family on a 2-core machine)

The warm-up settings, dataset sizes and tiny model sizes are the default config's (``--steps``
overrides the warm-up length). A randomly initialised model writes no closed answer at all, so the
init row measures format as much as sight; the chance rows say what sight is worth.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from scale.config import load_config
from scale.data.records import read_records
from scale.data.synthetic import write_split
from scale.eval.generate import evaluate
from scale.eval.predictions import read_predictions
from scale.eval.score import chance_levels, score_file
from scale.models.tiny import build_tiny, tokenizer_corpus
from scale.report.traces import survey_counts
from scale.train.driver import train_sft

REPO = Path(__file__).resolve().parents[1]
MAX_NEW_TOKENS = 64  # a direct answer is about a dozen tokens, a survey about 40


def accuracy(model_dir: Path, test: Path, out: Path) -> dict:
    """Scores of ``test``; on a probe, also each survey count's share right (``survey``, %)."""
    evaluate(model_dir, test, out / "predictions.jsonl", batch_size=32, max_new_tokens=MAX_NEW_TOKENS)
    metrics = score_file(out / "predictions.jsonl", out / "metrics.json", bootstrap=200)
    surveys = [r for r in read_records(test) if r["qtype"] == "survey"]
    if surveys:
        predictions = [p for p in read_predictions(out / "predictions.jsonl") if p["qtype"] == "survey"]
        metrics["survey"] = survey_counts(predictions, surveys)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    config = load_config(REPO / "config.yaml")
    parser.add_argument("--families", nargs="+", default=list(config["models"]))
    parser.add_argument("--steps", type=int, default=config["base"]["warmup"]["max_steps"])
    args = parser.parse_args()
    warmup = dict(config["base"]["warmup"], max_steps=args.steps, disable_tqdm=True)
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        tests, warmups = {}, []
        for dataset, settings in config["data"]["datasets"].items():
            for split in ("train", "test", "warmup", "probe"):
                n = settings["test" if split == "probe" else split]
                write_split(root / dataset, dataset, split, n, settings["seed"],
                            settings["image_size"], settings["think_ratio"])
            tests[f"{dataset} probe"] = root / dataset / "probe.jsonl"
            tests[dataset] = root / dataset / "test.jsonl"
            warmups.append(root / dataset / "warmup.jsonl")
        records = [r for p in sorted(root.glob("*/*.jsonl")) if p.stem != "probe" for r in read_records(p)]
        corpus = tokenizer_corpus(records)
        rows = []
        for dataset, test in tests.items():
            levels = chance_levels(read_records(test))
            rows.append(("uniform guess", dataset, levels["uniform"], {}))
            rows.append(("majority answer", dataset, levels["majority"], {}))
        for name in args.families:
            model = config["models"][name]
            init = build_tiny(model["family"], root / name / "init", corpus, seed=0, sizes=model["tiny"])
            for dataset, test in tests.items():
                metrics = accuracy(init, test, root / name / "eval-init" / dataset.replace(" ", "-"))
                rows.append((f"{name} init", dataset, metrics["accuracy"], metrics["per_qtype"]))
            start = time.perf_counter()
            train_sft(init, warmups, root / name / "base", loss="ce", training=warmup, seed=0)
            seconds = time.perf_counter() - start
            for dataset, test in tests.items():
                out = root / name / "eval-base" / dataset.replace(" ", "-")
                metrics = accuracy(root / name / "base" / "model", test, out)
                rows.append((f"{name} warm-up ({args.steps} steps, {seconds:.0f} s)", dataset,
                             metrics["accuracy"], metrics["per_qtype"]))
                if "survey" in metrics:
                    print(f"{name} warm-up, {dataset}, survey: each count right (%)",
                          json.dumps({k: round(v, 1) for k, v in metrics["survey"].items()}))
    for who, dataset, acc, per_qtype in rows:
        detail = json.dumps({q: round(v["accuracy"], 1) for q, v in per_qtype.items()}) if per_qtype else ""
        print(f"{who:<42} {dataset:<16} {acc:6.1f}%  {detail}")


if __name__ == "__main__":
    main()

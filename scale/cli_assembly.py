"""``scale`` commands that build a VLM around a pretrained language model (``scale.models.assemble``): the
described pictures, the assembly, the alignment stage and the perception probe. Kept beside ``scale.cli``,
which registers them, so that module stays one screenful of commands per stage."""

from __future__ import annotations

import json


def cmd_captions(args) -> None:
    from scale.data.captions import write_split

    path = write_split(args.out, args.split, args.n, seed=args.seed, image_size=args.image_size)
    print(f"wrote {args.n} described {args.split} pictures to {path}")


def cmd_assemble(args) -> None:
    from scale.models.assemble import assemble

    record = assemble(args.language_model, args.out, vision=args.vision, seed=args.seed)
    print(json.dumps({k: record[k] for k in ("parameters", "vision_parameters", "image_tokens", "vocab_size")}))


def cmd_align(args) -> None:
    from scale.train.driver import align_vision

    summary = align_vision(args.model_dir, args.train, args.out, training=args.spec, seed=args.seed,
                           config_snapshot={"align": args.spec})
    print(json.dumps({k: summary[k] for k in ("steps", "train_loss", "wall_seconds", "trained_parameters")}))


def cmd_perception(args) -> None:
    from scale.eval.perception import probe

    result = probe(args.model_dir, args.probe, args.out, batch_size=args.batch_size,
                   max_new_tokens=args.max_new_tokens)
    print(json.dumps(result["scores"]))


def add_commands(command, as_json) -> None:
    """Register the commands through ``scale.cli``'s ``command(name, func, help)``."""
    sub = command("captions", cmd_captions, "Write described pictures: the alignment stage's data (align) or the "
                  "perception probe's held-out pictures (probe).")
    sub.add_argument("--split", required=True, choices=["align", "probe"],
                     help="align: training-bucket scenes with their descriptions; probe: test-bucket scenes")
    sub.add_argument("--n", type=int, required=True, help="number of pictures")
    sub.add_argument("--seed", type=int, default=0, help="generator seed")
    sub.add_argument("--image-size", type=int, required=True, help="picture side in pixels, a multiple of 3")
    sub.add_argument("--out", required=True, help="directory: {split}.jsonl and images/ go here")

    sub = command("assemble-vlm", cmd_assemble, "Build SmolVLM's architecture around a converted language "
                  "model: its weights unchanged, SmolVLM's image tokens, a seeded vision tower and connector.")
    sub.add_argument("--language-model", required=True, help="the converted checkpoint (rule convert_checkpoint)")
    sub.add_argument("--vision", type=as_json, default={}, help="VisionSizes as JSON (scale.models.assemble)")
    sub.add_argument("--seed", type=int, default=0, help="seed of the tower's and connector's random weights")
    sub.add_argument("--out", required=True, help="model directory to write")

    sub = command("align-vlm", cmd_align, "Train an assembled VLM's tower and connector on described pictures, "
                  "its language model frozen: the model's Base.")
    sub.add_argument("--model-dir", required=True, help="the assembled model (scale assemble-vlm --out)")
    sub.add_argument("--train", nargs="+", required=True, help="described pictures' JSONL (scale captions)")
    sub.add_argument("--spec", type=as_json, default={}, help="TRL SFTConfig settings as JSON")
    sub.add_argument("--seed", type=int, default=0, help="training seed (data order)")
    sub.add_argument("--out", required=True, help="run directory: model/, train_log.jsonl, run.json")

    sub = command("perception", cmd_perception, "Ask a VLM to describe held-out pictures; score the counts.")
    sub.add_argument("--model-dir", required=True, help="model directory")
    sub.add_argument("--probe", required=True, help="probe JSONL (scale captions --split probe)")
    sub.add_argument("--batch-size", type=int, default=16, help="pictures described together")
    sub.add_argument("--max-new-tokens", type=int, default=48, help="description budget")
    sub.add_argument("--out", required=True, help="JSON path for the scores")

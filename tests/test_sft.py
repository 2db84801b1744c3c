"""scale.train.sft: the three losses through TRL's SFTTrainer, on the tiny models."""

import json

import pytest
import torch

from scale.data.records import read_records
from scale.models.families import get_family, load_processor
from scale.prompts import training_messages
from scale.schedule import cosine
from scale.segments import Segment
from scale.train.checkpoints import COMPLETE_FILE
from scale.train.driver import train_sft

from conftest import first_records

FAST = dict(per_device_train_batch_size=4, learning_rate=3e-3, logging_steps=1, save_steps=1000,
            max_length=512, disable_tqdm=True)


@pytest.fixture(scope="module")
def four_samples(synthetic_dir, tmp_path_factory):
    """A fixed training file of 4 records (one batch)."""
    return first_records(synthetic_dir, "scienceqa", 4, tmp_path_factory.mktemp("four"))


def log_lines(run_dir):
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("family", ["qwen2_5_vl", "gemma3", "llava_next"])
def test_segments_line_up_with_labels_for_every_family(tiny_models, synthetic_dir, family):
    from scale.train.collate import SegmentCollator
    from scale.train.runs import load_images

    records = read_records(synthetic_dir / "iconqa" / "train.jsonl")[:3]
    processor = load_processor(tiny_models[family])
    collator = SegmentCollator(processor=processor, assistant_only_loss=True)
    images = load_images([(r, synthetic_dir / "iconqa") for r in records])
    batch = collator([{"messages": training_messages(r), "images": im} for r, im in zip(records, images)])
    end_of_turn = get_family(family).end_of_turn
    for row, record in enumerate(records):
        ids, labels, segments = batch["input_ids"][row], batch["labels"][row], batch["segments"][row]
        trained = labels != -100
        assert not (trained & (segments == Segment.IGNORE)).any(), "a trained token has no segment"
        think = processor.tokenizer.decode(ids[trained & (segments == Segment.THINK)])
        answer = processor.tokenizer.decode(ids[trained & (segments == Segment.ANSWER)])
        tail = f"</think>\n<answer>{record['answer']}</answer>{end_of_turn}"
        assert think + answer == record["response"] + end_of_turn
        assert answer.endswith(tail) and len(answer) - len(tail) <= 2  # BPE may pull in "." before the tag
        assert think.startswith("<think>") and record["response"].startswith(think)  # the think segment opens it


@pytest.mark.parametrize("loss, w_think", [("ce", 1.0), ("scale", {"start": 2.0, "end": 1.0}), ("fixed", 1.0)])
def test_each_variant_learns_a_fixed_batch_logs_its_curves_and_saves_a_loadable_model(
    tiny_models, four_samples, tmp_path, loss, w_think
):
    from scale.models.families import load_model

    summary = train_sft(tiny_models["qwen2_5_vl"], four_samples, tmp_path, loss=loss, w_think=w_think,
                        training=dict(FAST, max_steps=30), seed=0)
    lines = log_lines(tmp_path)
    assert [l["step"] for l in lines] == list(range(1, 31))
    assert lines[-1]["loss"] < 0.5 * lines[0]["loss"]
    for key in ("think_ce", "answer_ce", "w_think", "w_answer", "learning_rate", "seconds", "tokens_per_s"):
        assert key in lines[-1]
    assert lines[-1]["answer_ce"] < lines[0]["answer_ce"] and lines[-1]["think_ce"] < lines[0]["think_ce"]
    load_model(tmp_path / "model")
    assert summary["steps"] == 30 and summary["samples_trained"] == 4
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["versions"]["trl"] and run["loss"] == loss and run["train_tokens"] > 0
    assert run["config"] is None and run["steps"] == 30 and run["resumed_from"] is None and run["processes"] == 1


CPU = dict(output_dir="unused", report_to="none", bf16=False, use_cpu=True)


def test_the_loss_settings_are_a_config_dataclass_like_trls():
    from trl import SFTConfig

    from scale.schedule import WeightSchedule
    from scale.train.sft import ScaleSFTConfig

    args = ScaleSFTConfig(loss="scale", w_think=WeightSchedule(2.0, 1.0, "cosine"), w_answer=1, **CPU)
    assert isinstance(args, SFTConfig) and args.think_schedule == WeightSchedule(2.0, 1.0, "cosine")
    assert args.answer_schedule == WeightSchedule(1.0, 1.0, "constant")
    assert json.loads(args.to_json_string())["w_think"] == {"start": 2.0, "end": 1.0, "kind": "cosine"}
    with pytest.raises(ValueError, match="loss must be one of"):
        ScaleSFTConfig(loss="segment", **CPU)
    with pytest.raises(ValueError, match="fixed-weight loss needs constant"):
        ScaleSFTConfig(loss="fixed", w_answer={"start": 1.0, "end": 0.5}, **CPU)
    with pytest.raises(ValueError, match="finite number >= 0"):
        ScaleSFTConfig(loss="scale", w_think=-1.0, **CPU)


def test_the_trainer_takes_its_loss_only_from_a_scale_config(tiny_models):
    from trl import SFTConfig

    from scale.models.families import load_model
    from scale.train.sft import ScaleSFTTrainer

    with pytest.raises(TypeError, match="args=ScaleSFTConfig"):
        ScaleSFTTrainer(model=load_model(tiny_models["gemma3"]), args=SFTConfig(**CPU))


def test_logged_w_think_follows_the_cosine_over_the_real_total_steps(tiny_models, four_samples, tmp_path):
    train_sft(tiny_models["gemma3"], [four_samples, four_samples], tmp_path, loss="scale",
              w_think={"start": 2.0, "end": 1.0, "kind": "cosine"},
              training=dict(FAST, num_train_epochs=3, per_device_train_batch_size=2, gradient_accumulation_steps=2))
    lines = log_lines(tmp_path)
    total = 3 * 8 // 4  # 8 samples, global batch 4, three epochs
    assert lines[-1]["step"] == total
    for line in lines:  # logged at the end of a step, computed during it (global_step was step - 1)
        assert line["w_think"] == pytest.approx(cosine(line["step"] - 1, total, 2.0, 1.0))
        assert line["w_answer"] == 1.0
    assert lines[0]["w_think"] == pytest.approx(2.0)


@pytest.mark.parametrize("loss", ["ce", "scale", "sample", "dft"])
def test_two_accumulated_batches_of_two_equal_one_batch_of_four(tiny_models, four_samples, tmp_path, loss):
    from safetensors.torch import load_file

    settings = dict(FAST, max_steps=1, optim="sgd", learning_rate=1.0, max_grad_norm=0.0, lr_scheduler_type="constant")
    weights = {}
    segment_weights = {"w_think": {"start": 2.0, "end": 1.0}} if loss == "scale" else {}
    for name, batch, accumulation in (("one", 4, 1), ("two", 2, 2)):
        train_sft(tiny_models["llava_next"], four_samples, tmp_path / name, loss=loss, **segment_weights,
                  training=dict(settings, per_device_train_batch_size=batch, gradient_accumulation_steps=accumulation))
        weights[name] = load_file(tmp_path / name / "model" / "model.safetensors")
    initial = load_file(tiny_models["llava_next"] / "model.safetensors")
    moved = [k for k in initial if not torch.equal(initial[k], weights["one"][k])]
    assert moved, "the step changed no weight"
    for key in moved:
        torch.testing.assert_close(weights["two"][key], weights["one"][key], rtol=1e-4, atol=1e-6)


def test_a_fixed_seed_gives_identical_loss_curves(tiny_models, four_samples, tmp_path):
    for name in ("a", "b"):
        train_sft(tiny_models["qwen2_5_vl"], four_samples, tmp_path / name, loss="scale",
                  training=dict(FAST, max_steps=5, per_device_train_batch_size=2), seed=7)
    curves = [[(l["loss"], l["think_ce"], l["answer_ce"]) for l in log_lines(tmp_path / n)] for n in ("a", "b")]
    assert curves[0] == curves[1]


@pytest.mark.parametrize("family", ["qwen2_5_vl", "gemma3", "llava_next"])
def test_batched_token_lengths_are_the_collators_own_for_every_family(tiny_models, synthetic_dir, family):
    """drop_overlong measures in batches; each length must be what the collator builds for that record alone,
    across runs with and without pictures and pictures of other sizes (LLaVA-NeXT tiles them)."""
    from PIL import Image

    from scale.train.collate import SegmentCollator
    from scale.train.runs import load_images, token_lengths

    records = read_records(synthetic_dir / "iconqa" / "train.jsonl")[:7]
    images = load_images([(r, synthetic_dir / "iconqa") for r in records])
    images[2] = [images[2][0].resize((56, 112))]
    images[4] = images[5] = []  # text-only records in the middle of the run
    records[4] = records[5] = dict(records[4], image=None)
    processor = load_processor(tiny_models[family])
    collator = SegmentCollator(processor=processor, assistant_only_loss=True)
    alone = [collator([{"messages": training_messages(r), "images": im}])["input_ids"].shape[1]
             for r, im in zip(records, images)]
    assert token_lengths(processor, records, images, training_messages, chunk=3) == alone
    assert isinstance(images[2][0], Image.Image) and len(set(alone)) > 1


def test_samples_that_would_lose_their_answer_to_max_length_are_dropped_and_counted(
    tiny_models, synthetic_dir, tmp_path
):
    processor = load_processor(tiny_models["qwen2_5_vl"])
    items = read_records(synthetic_dir / "scienceqa" / "train.jsonl")
    lengths = []
    for record in items:
        text = processor.apply_chat_template(training_messages(record), tokenize=False)
        lengths.append(len(processor.tokenizer(text)["input_ids"]))
    limit = sorted(lengths)[len(lengths) // 2] + 8  # image tokens push the longer half over
    summary = train_sft(tiny_models["qwen2_5_vl"], synthetic_dir / "scienceqa" / "train.jsonl", tmp_path,
                        training=dict(FAST, max_steps=1, max_length=limit))
    assert 0 < summary["dropped_overlong"] < len(items)
    assert summary["samples_trained"] + summary["dropped_overlong"] == len(items)
    assert json.loads((tmp_path / "run.json").read_text())["dropped_overlong"] == summary["dropped_overlong"]


def test_a_run_with_other_settings_never_resumes_from_an_earlier_runs_checkpoints(tiny_models, four_samples, tmp_path):
    training = dict(FAST, max_steps=4, save_steps=2, save_total_limit=10)
    first = train_sft(tiny_models["gemma3"], four_samples, tmp_path / "run", loss="ce", training=training)
    assert first["resumed_from"] is None
    assert not (tmp_path / "run.checkpoints").exists()  # a finished run leaves none to resume from
    second = train_sft(tiny_models["gemma3"], four_samples, tmp_path / "run", loss="ce",
                       training=dict(training, learning_rate=1e-3))
    assert second["resumed_from"] is None and second["steps"] == 4
    assert [l["step"] for l in log_lines(tmp_path / "run")] == [1, 2, 3, 4]


def test_run_key_changes_with_settings_and_with_rewritten_inputs(tmp_path):
    from scale.train.checkpoints import run_key

    model, data = tmp_path / "model", tmp_path / "train.jsonl"
    model.mkdir()
    (model / "config.json").write_text("{}")
    data.write_text("a\n")
    key = run_key([model, data], {"lr": 1})
    assert run_key([model, data], {"lr": 1}) == key
    assert run_key([model, data], {"lr": 2}) != key
    assert run_key(["org/hub-model", data], {"lr": 1}) != key
    data.write_text("ab\n")  # an upstream rule rewrote the data
    assert run_key([model, data], {"lr": 1}) != key
    key = run_key([model, data], {"lr": 1})
    (model / "config.json").write_text("{}")  # the model was rebuilt, same bytes, new file
    import os
    os.utime(model / "config.json", ns=(1, 1))
    assert run_key([model, data], {"lr": 1}) != key


def test_stale_checkpoints_are_discarded_and_the_new_key_recorded(tmp_path, capsys):
    from scale.train.checkpoints import discard_stale_checkpoints, last_complete_checkpoint

    directory = tmp_path / "run.checkpoints"
    directory.mkdir()
    assert discard_stale_checkpoints(directory, "run-0") == 0  # the empty folder a fresh Trainer makes
    assert capsys.readouterr().out == ""
    (directory / "checkpoint-5").mkdir(parents=True)
    (directory / "checkpoint-5" / COMPLETE_FILE).write_text("{}")
    assert discard_stale_checkpoints(directory, "run-a") == 1  # no key: written before keys existed
    assert "discarding 1 checkpoint(s)" in capsys.readouterr().out
    (directory / "checkpoint-5").mkdir()
    (directory / "checkpoint-5" / COMPLETE_FILE).write_text("{}")
    assert discard_stale_checkpoints(directory, "run-a") == 0  # the same run: kept for resuming
    assert last_complete_checkpoint(directory) == str(directory / "checkpoint-5")
    assert discard_stale_checkpoints(directory, "run-b") == 1
    assert last_complete_checkpoint(directory) is None
    assert json.loads((directory / "run_key.json").read_text()) == {"key": "run-b"}


def test_resume_skips_a_checkpoint_left_half_written_by_a_kill(tmp_path):
    from scale.train.checkpoints import last_complete_checkpoint

    for step in (5, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / COMPLETE_FILE).write_text('{"step": %d}' % step)
    (tmp_path / "checkpoint-15").mkdir()  # killed before every process had written its part
    (tmp_path / "checkpoint-15" / "model.safetensors").write_bytes(b"partial")
    (tmp_path / "checkpoint-15" / "trainer_state.json").write_text('{"global_step": 15}')
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    (tmp_path / "checkpoint-10" / COMPLETE_FILE).write_text('{"ste')  # torn write
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-5")
    assert last_complete_checkpoint(tmp_path / "absent") is None


def test_lora_with_gradient_checkpointing_trains_adapters_and_saves_a_merged_model(tiny_models, four_samples, tmp_path):
    from safetensors.torch import load_file

    from scale.models.families import load_model

    train_sft(tiny_models["gemma3"], four_samples, tmp_path, loss="scale", w_think={"start": 2.0, "end": 1.0},
              training=dict(FAST, max_steps=3, gradient_checkpointing=True, learning_rate=1e-2),
              lora={"r": 4, "alpha": 8, "dropout": 0.0})
    merged = load_file(tmp_path / "model" / "model.safetensors")
    assert not any("lora" in key for key in merged), "adapters must be merged into the saved weights"
    initial = load_file(tiny_models["gemma3"] / "model.safetensors")
    changed = {k for k in initial if not torch.equal(initial[k], merged[k])}
    assert changed and all("language_model" in k and "proj" in k for k in changed), sorted(changed)[:5]
    load_model(tmp_path / "model")


def test_training_files_given_as_a_generator_are_all_recorded(tiny_models, four_samples, tmp_path):
    summary = train_sft(tiny_models["gemma3"], (p for p in [four_samples]), tmp_path / "run", loss="ce",
                        training=dict(FAST, max_steps=1))
    assert summary["train_paths"] == [str(four_samples)] and summary["samples"] == 4

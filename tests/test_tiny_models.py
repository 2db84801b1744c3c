"""scale.models: tiny builds of the three families reload offline, see images, generate and train."""

import hashlib
import json

import pytest
import torch
from PIL import Image

from scale.models.families import VLM_FAMILIES, family_of, get_family, load_model, load_processor
from scale.models.tiny import CONFIG_BUILDERS as TINY_BUILDS
from scale.models.tiny import TinySizes, build_tiny
from scale.prompts import prompt_messages, training_messages

# the VLM families with a tiny build (text families: tests/test_text_models.py; SmolVLM: tests/test_smolvlm.py)
FAMILY_NAMES = sorted(set(VLM_FAMILIES) & set(TINY_BUILDS))


@pytest.fixture(scope="module")
def sample(synthetic_dir):
    from scale.data.records import read_records

    record = read_records(synthetic_dir / "scienceqa" / "train.jsonl")[0]
    return record, Image.open(synthetic_dir / "scienceqa" / record["image"]).convert("RGB")


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_reloads_offline_with_the_auto_classes(tiny_models, family):
    processor = load_processor(tiny_models[family], local_files_only=True)
    model = load_model(tiny_models[family], local_files_only=True)
    assert type(model).__name__ == get_family(family).model_class
    assert type(processor).__name__ == get_family(family).processor_class
    assert family_of(tiny_models[family]).name == family
    parameters = sum(p.numel() for p in model.parameters())
    assert 100_000 < parameters < 10_000_000


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_special_token_ids_lie_inside_the_vocabulary(tiny_models, family):
    model = load_model(tiny_models[family], local_files_only=True)
    processor = load_processor(tiny_models[family], local_files_only=True)
    vocab = model.config.get_text_config().vocab_size
    assert len(processor.tokenizer) <= vocab
    config = model.config.to_dict()
    ids = [config.get(k) for k in ("image_token_id", "image_token_index", "boi_token_index", "eoi_token_index")]
    eos = model.generation_config.eos_token_id
    ids += eos if isinstance(eos, list) else [eos]
    ids += [model.generation_config.pad_token_id]
    assert all(0 <= i < vocab for i in ids if i is not None)
    end_of_turn = processor.tokenizer.convert_tokens_to_ids(get_family(family).end_of_turn)
    assert end_of_turn in (eos if isinstance(eos, list) else [eos])


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_forward_with_an_image_gives_a_finite_loss_and_generation_returns_tokens(tiny_models, family, sample):
    record, image = sample
    processor = load_processor(tiny_models[family], local_files_only=True)
    model = load_model(tiny_models[family], local_files_only=True)
    text = processor.apply_chat_template(training_messages(record), tokenize=False)
    inputs = processor(text=[text], images=[[image]], return_tensors="pt", add_special_tokens=False)
    assert torch.isfinite(model(**inputs, labels=inputs["input_ids"]).loss)
    prompt = processor.apply_chat_template(prompt_messages(record), tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[prompt], images=[[image]], return_tensors="pt", add_special_tokens=False)
    out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_template_puts_the_image_in_the_user_turn_and_marks_the_assistant_for_training(tiny_models, family, sample):
    record, _ = sample
    processor = load_processor(tiny_models[family], local_files_only=True)
    spec = get_family(family)
    text = processor.apply_chat_template(training_messages(record), tokenize=False)
    assert text.count(spec.image_markup) == 1
    assert text.index(spec.image_markup) < text.index(record["response"])
    assert "{% generation %}" in processor.chat_template
    assert text.split(record["response"])[1].startswith(spec.end_of_turn)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_one_trl_sft_step_on_a_conversational_image_sample(tiny_models, family, synthetic_dir, tmp_path):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from scale.data.records import read_records

    records = read_records(synthetic_dir / "scienceqa" / "train.jsonl")[:2]
    images = [[Image.open(synthetic_dir / "scienceqa" / r["image"]).convert("RGB")] for r in records]
    dataset = Dataset.from_dict({"messages": [training_messages(r) for r in records], "images": images})
    processor = load_processor(tiny_models[family], local_files_only=True)
    model = load_model(tiny_models[family], local_files_only=True)
    args = SFTConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, report_to="none",
                     assistant_only_loss=True, use_cpu=True, save_strategy="no", disable_tqdm=True)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=processor)
    result = trainer.train()
    assert result.global_step == 1 and torch.isfinite(torch.tensor(result.training_loss))


def test_build_is_deterministic_for_a_seed(tmp_path, corpus):
    def digests(path):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}

    sizes = {"hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "vision_layers": 1}
    first = build_tiny("gemma3", tmp_path / "a", corpus, seed=1, sizes=sizes)
    second = build_tiny("gemma3", tmp_path / "b", corpus, seed=1, sizes=sizes)
    other = build_tiny("gemma3", tmp_path / "c", corpus, seed=2, sizes=sizes)
    assert digests(first) == digests(second)
    assert digests(first)["model.safetensors"] != digests(other)["model.safetensors"]
    assert json.loads((first / "tiny_build.json").read_text())["seed"] == 1


def test_unknown_sizes_and_families_are_rejected():
    with pytest.raises(ValueError, match="hiden_size"):
        TinySizes.from_config({"hiden_size": 3})
    with pytest.raises(ValueError, match="unknown model family"):
        get_family("llama")

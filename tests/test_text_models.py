"""A text-only family (Qwen2.5) through the same stages as the VLMs: its tiny build, SFT with the SCALe loss
on TRL's text path, GRPO and evaluation, on the synthetic text benchmarks."""

import json

import pytest
import torch

from scale.data.records import read_records
from scale.models.families import get_family, load_model, load_processor
from scale.prompts import training_messages
from scale.segments import Segment

from conftest import model_tensors

FAST = dict(per_device_train_batch_size=4, learning_rate=3e-3, logging_steps=1, save_steps=1000,
            max_length=512, disable_tqdm=True)


@pytest.fixture(scope="session")
def tiny_text_model(tmp_path_factory, text_dir):
    from scale.models.tiny import build_tiny, tokenizer_corpus

    records = [r for path in sorted(text_dir.glob("*/*.jsonl")) for r in read_records(path)]
    return build_tiny("qwen2_5", tmp_path_factory.mktemp("text_model") / "qwen2_5", tokenizer_corpus(records), seed=0)


def test_the_tiny_build_is_qwen2_5_s_own_classes_and_stops_on_its_end_of_turn(tiny_text_model):
    from transformers import GenerationConfig

    family = get_family("qwen2_5")
    model, tokenizer = load_model(tiny_text_model), load_processor(tiny_text_model)
    assert type(model).__name__ == family.model_class and type(tokenizer).__name__ == family.processor_class
    assert model.config.model_type == family.model_type and family.is_text
    stop = GenerationConfig.from_pretrained(tiny_text_model).eos_token_id
    assert stop == tokenizer.convert_tokens_to_ids(family.end_of_turn)


def test_text_records_become_plain_string_turns_and_pictured_ones_keep_their_parts():
    text = {"question": "What is 1 + 1?", "answer": "2", "response": "<think>x</think><answer>2</answer>"}
    assert training_messages(text) == [
        {"role": "user", "content": "What is 1 + 1?\n" + training_messages(text)[0]["content"].split("\n", 1)[1]},
        {"role": "assistant", "content": text["response"]},
    ]
    pictured = {**text, "image": "images/train/00000.png"}
    assert training_messages(pictured)[0]["content"][0] == {"type": "image"}


def test_text_examples_label_exactly_the_assistant_turn_and_segment_it(tiny_text_model, text_dir):
    from scale.train.collate import TextSegmentCollator, text_example

    tokenizer = load_processor(tiny_text_model)
    records = read_records(text_dir / "gsm8k" / "train.jsonl")[:3]
    examples = [text_example(tokenizer, training_messages(r)) for r in records]
    batch = TextSegmentCollator(pad_token_id=tokenizer.pad_token_id)(examples)
    end_of_turn = get_family("qwen2_5").end_of_turn
    for row, record in enumerate(records):
        ids, labels, segments = batch["input_ids"][row], batch["labels"][row], batch["segments"][row]
        trained = labels != -100
        assert tokenizer.decode(ids[trained]) == record["response"] + end_of_turn
        assert not (trained & (segments == Segment.IGNORE)).any()
        think = tokenizer.decode(ids[trained & (segments == Segment.THINK)])
        answer = tokenizer.decode(ids[trained & (segments == Segment.ANSWER)])
        assert think.startswith("<think>") and answer.endswith(f"<answer>{record['answer']}</answer>{end_of_turn}")
        assert (segments[batch["attention_mask"][row] == 0] == Segment.IGNORE).all()  # padding has no segment


def test_text_examples_carry_the_ids_and_labels_trl_s_own_text_preparation_gives(tiny_text_model, text_dir, tmp_path):
    """Our tokenising is TRL's: SFTTrainer's own preparation of the same conversations (assistant-only loss)
    yields the same ids and labels."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from scale.train.collate import text_example

    tokenizer = load_processor(tiny_text_model)
    records = read_records(text_dir / "aqua" / "train.jsonl")[:4]
    conversations = [training_messages(r) for r in records]
    trainer = SFTTrainer(model=load_model(tiny_text_model), processing_class=tokenizer,
                         train_dataset=Dataset.from_dict({"messages": conversations}),
                         args=SFTConfig(output_dir=str(tmp_path), assistant_only_loss=True, report_to="none",
                                        use_cpu=True, bf16=False, max_length=None))
    prepared = trainer.train_dataset
    for row, messages in enumerate(conversations):
        ours = text_example(tokenizer, messages)
        assert prepared[row]["input_ids"] == ours["input_ids"]
        assert prepared[row]["labels"] == ours["labels"]


def test_sft_with_the_scale_loss_trains_a_text_model_and_saves_it_whole(tiny_text_model, text_dir, tmp_path):
    from scale.train.driver import train_sft

    summary = train_sft(tiny_text_model, text_dir / "gsm8k" / "train.jsonl", tmp_path, loss="scale",
                        w_think={"start": 2.0, "end": 1.0, "kind": "cosine"}, training=dict(FAST, max_steps=20), seed=0)
    lines = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert lines[-1]["think_ce"] < lines[0]["think_ce"] and lines[-1]["answer_ce"] < lines[0]["answer_ce"]
    assert lines[0]["w_think"] == pytest.approx(2.0) and summary["samples_trained"] == 24
    before, after = model_tensors(tiny_text_model), model_tensors(tmp_path / "model")
    assert before.keys() == after.keys()  # the stored names stay the checkpoint's (tied head: no lm_head)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert summary["family"] == "qwen2_5" and summary["target_tokens"] < summary["train_tokens"]


def test_fused_and_full_logits_per_token_ce_agree_on_a_text_model(tiny_text_model, text_dir, tmp_path):
    from scale.train.collate import TextSegmentCollator, text_example
    from scale.train.sft import per_token_ce

    tokenizer = load_processor(tiny_text_model)
    records = read_records(text_dir / "aqua" / "train.jsonl")[:2]
    batch = TextSegmentCollator(pad_token_id=tokenizer.pad_token_id)(
        [text_example(tokenizer, training_messages(r)) for r in records])
    batch.pop("segments")
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer  # SFTTrainer patches the fused head onto the model

    model = load_model(tiny_text_model)
    SFTTrainer(model=model, processing_class=tokenizer, train_dataset=Dataset.from_dict({"text": ["x"]}),
               args=SFTConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False))
    with torch.no_grad():
        fused, mask_fused, _ = per_token_ce(model, dict(batch), "fused")
        full, mask_full, _ = per_token_ce(model, dict(batch), "full_logits")
    assert torch.equal(mask_fused, mask_full)
    assert torch.allclose(fused, full, atol=1e-4)


def test_grpo_runs_on_text_prompts_without_a_picture_column(tiny_text_model, text_dir, tmp_path):
    from scale.data.records import read_items
    from scale.train.driver import train_grpo
    from scale.train.grpo import grpo_dataset

    items = read_items(text_dir / "gsm8k" / "train.jsonl")
    dataset = grpo_dataset(items)
    assert dataset.column_names == ["prompt", "solution"] and isinstance(dataset[0]["prompt"][0]["content"], str)
    summary = train_grpo(tiny_text_model, text_dir / "gsm8k" / "train.jsonl", tmp_path, seed=0,
                         training=dict(max_steps=2, per_device_train_batch_size=4, num_generations=2,
                                       max_completion_length=8, logging_steps=1, save_steps=100, disable_tqdm=True))
    assert summary["steps"] == 2 and summary["family"] == "qwen2_5" and summary["train_tokens"] > 0
    assert model_tensors(tmp_path / "model").keys() == model_tensors(tiny_text_model).keys()


def test_evaluation_feeds_the_text_model_its_rendered_prompt_and_scores_the_output(tiny_text_model, text_dir):
    from scale.data.records import read_items
    from scale.eval.generate import hf_generate, prompt_texts

    items = read_items(text_dir / "aqua" / "test.jsonl")[:4]
    tokenizer = load_processor(tiny_text_model)
    rows = hf_generate(tiny_text_model, items, batch_size=2, max_new_tokens=8, progress=False)
    for row, text in zip(rows, prompt_texts(tokenizer, items)):
        assert row["prompt_tokens"] == len(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert row["valid"] is False or row["extracted"] is not None


def test_a_text_model_on_pictured_datasets_is_a_config_error():
    from pathlib import Path

    from scale.config import ConfigError, load_config, validate_config

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "ci.yaml")
    config["models"]["text"] = {"family": "qwen2_5", "tiny": {}}
    with pytest.raises(ConfigError, match="models/text: qwen2_5 is a text-only model"):
        validate_config(config)

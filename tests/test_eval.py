"""scale.eval: batched greedy generation, the predictions format, scoring and paired comparison."""

import json

import pytest

from scale.data.records import read_items
from scale.eval.generate import evaluate, hf_generate, prompt_texts, vllm_prompts
from scale.eval.predictions import FIELDS, prediction, read_predictions, write_predictions
from scale.eval.score import (
    bootstrap_interval,
    chance_levels,
    mcnemar_exact,
    paired_comparison,
    score,
    score_file,
)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "gemma3", "llava_next"])
def test_each_family_evaluates_end_to_end_with_the_hf_backend(tiny_models, synthetic_dir, tmp_path, family):
    out = evaluate(tiny_models[family], synthetic_dir / "scienceqa" / "test.jsonl", tmp_path / "p.jsonl",
                   batch_size=4, max_new_tokens=8)
    rows = read_predictions(out)
    assert len(rows) == 8 and all(set(FIELDS) <= set(r) for r in rows)
    assert all(r["finish_reason"] in ("stop", "length") for r in rows)
    metrics = score_file(out, tmp_path / "metrics.json", bootstrap=100)
    assert metrics["n"] == 8 and 0 <= metrics["accuracy"] <= 100


def test_predictions_are_identical_between_batch_size_1_and_8(tiny_models, synthetic_dir, tmp_path):
    from scale.train.driver import train_sft

    # a briefly trained model, so outputs are not one repeated token
    train_sft(tiny_models["qwen2_5_vl"], synthetic_dir / "iconqa" / "train.jsonl", tmp_path,
              training=dict(max_steps=15, per_device_train_batch_size=8, learning_rate=3e-3, logging_steps=5,
                            save_steps=1000, disable_tqdm=True))
    items = read_items(synthetic_dir / "iconqa" / "test.jsonl")
    single = hf_generate(tmp_path / "model", items, batch_size=1, max_new_tokens=40, progress=False)
    batched = hf_generate(tmp_path / "model", items, batch_size=8, max_new_tokens=40, progress=False)
    assert [p["output"] for p in single] == [p["output"] for p in batched]
    assert len({p["output"] for p in single}) > 1 or single[0]["output"]


def row(id, gold, output, qtype="q", reason="stop"):
    return prediction({"id": id, "qtype": qtype, "answer": gold}, output, reason, lambda t: len(t.split()))


FIXTURE = [
    row("1", "B", "<think>two reds</think>\n<answer>B</answer>", "mc"),
    row("2", "A", "<think>one two three</think>\n<answer>C</answer>", "mc"),
    row("3", "3", "<think>count</think><answer>3.0</answer>", "num"),
    row("4", "3", "<think>loop loop loop loop", "num", reason="length"),  # invalid, cut
]


def test_scoring_matches_hand_computed_metrics(tmp_path):
    write_predictions(tmp_path / "p.jsonl", FIXTURE)
    metrics = score_file(tmp_path / "p.jsonl", tmp_path / "m.json", bootstrap=200)
    assert metrics["n"] == 4
    assert metrics["accuracy"] == pytest.approx(50.0)
    assert metrics["invalid_rate"] == pytest.approx(25.0)
    assert metrics["per_qtype"] == {"mc": {"n": 2, "accuracy": 50.0}, "num": {"n": 2, "accuracy": 50.0}}
    # think tokens (words before </think>): 2, 3, 1, 4 -> 2.5
    # answer tokens (words from </think> on): "</think>" "<answer>B</answer>" = 2, 2, 1, none -> 1.25
    assert metrics["mean_think_tokens"] == pytest.approx(2.5)
    assert metrics["mean_answer_tokens"] == pytest.approx(1.25)
    assert metrics["cut_by_max_new_tokens"] == pytest.approx(25.0)
    low, high = metrics["accuracy_ci95"]
    assert 0 <= low <= 50 <= high <= 100
    assert json.loads((tmp_path / "m.json").read_text()) == metrics


@pytest.mark.parametrize(
    "output",
    ["", "no tags at all", "<think>unclosed", "<answer>A</answer><answer>B</answer>", "<think>" + "x " * 100_000,
     "<think>\udcff bad bytes</think><answer>\x00</answer>"],
)
def test_bad_outputs_are_scored_never_crash(output):
    p = row("x", "B", output)
    assert p["correct"] is False
    assert score([p], bootstrap=10)["n"] == 1


def test_undecodable_bytes_in_a_predictions_file_are_replaced(tmp_path):
    path = tmp_path / "p.jsonl"
    write_predictions(path, FIXTURE[:1])
    path.write_bytes(path.read_bytes().replace(b"two reds", b"two \xff reds"))
    assert "\ufffd" in read_predictions(path)[0]["output"]


def test_chance_levels_by_hand():
    records = [
        {"qtype": "mc", "answer": "A", "choices": ["x", "y"]},
        {"qtype": "mc", "answer": "A", "choices": ["x", "y", "z", "w"]},
        {"qtype": "count", "answer": "3", "choices": None},
        {"qtype": "count", "answer": "5", "choices": None},
    ]
    levels = chance_levels(records)
    assert levels["uniform"] == pytest.approx(100 * (1 / 2 + 1 / 4 + 1 / 2 + 1 / 2) / 4)
    assert levels["majority"] == pytest.approx(100 * (2 + 1) / 4)
    with pytest.raises(ValueError):
        chance_levels([])


def test_mcnemar_exact_p_values_by_hand():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # two-sided binomial, all 5 discordant one way
    assert mcnemar_exact(1, 5) == pytest.approx(2 * (1 + 6) / 64)
    assert mcnemar_exact(3, 3) == 1.0


def test_paired_comparison_counts_discordant_pairs():
    a = [row(str(i), "A", "<think>t</think><answer>A</answer>" if i < 5 else "<think>t") for i in range(10)]
    b = [row(str(i), "A", "<think>t</think><answer>A</answer>" if i < 8 else "<think>t") for i in range(10)]
    result = paired_comparison(a, b, bootstrap=500)
    assert (result["only_a_correct"], result["only_b_correct"]) == (0, 3)
    assert result["difference"] == pytest.approx(30.0)
    assert result["mcnemar_p"] == pytest.approx(0.25)
    assert result["difference_ci95"][0] <= 30.0 <= result["difference_ci95"][1]
    with pytest.raises(ValueError, match="same test records"):
        paired_comparison(a, b[:5])


def test_bootstrap_interval_is_deterministic_and_brackets_the_mean():
    values = [0, 100] * 50
    assert bootstrap_interval(values, 500, seed=1) == bootstrap_interval(values, 500, seed=1)
    low, high = bootstrap_interval(values, 500)
    assert low < 50 < high


@pytest.mark.parametrize("family", ["qwen2_5_vl", "gemma3", "llava_next"])
def test_vllm_is_handed_the_hf_prompt_text_as_ids_with_its_picture_and_hf_records_what_it_fed(
    tiny_models, synthetic_dir, family
):
    from scale.data.records import load_image
    from scale.eval.predictions import prompt_fields
    from scale.models.families import load_processor

    processor = load_processor(tiny_models[family])
    items = read_items(synthetic_dir / "scienceqa" / "test.jsonl")[:2]
    texts = prompt_texts(processor, items)
    rows = hf_generate(tiny_models[family], items, batch_size=2, max_new_tokens=2, progress=False)
    for (record, data_dir), request, text, row in zip(items, vllm_prompts(processor, items), texts, rows):
        ids = request["prompt_token_ids"]
        assert ids == processor.tokenizer(text, add_special_tokens=False)["input_ids"]  # BOS once: the template's
        assert request["multi_modal_data"]["image"].size == load_image(record, data_dir).size
        fed = processor(text=[text], images=[[load_image(record, data_dir)]], add_special_tokens=False)["input_ids"][0]
        assert row["prompt_tokens"] == len(fed) > len(ids)  # the image placeholders expanded, no padding
        assert {k: row[k] for k in ("prompt_tokens", "prompt_sha256")} == prompt_fields(list(fed))

"""scale.train.grpo: TRL's GRPOTrainer from an SFT model, with the paper's rewards."""

import json

import pytest

from scale.rewards import accuracy_reward_func, format_reward_func
from scale.train.driver import train_grpo


def test_reward_functions_take_trl_conversational_completions_and_log_the_invalid_share():
    logged = {}
    completions = [
        [{"role": "assistant", "content": "<think>a</think>\n<answer>3</answer>"}],
        [{"role": "assistant", "content": "<think>a <answer>3</answer>"}],
    ]
    assert format_reward_func(completions, log_metric=logged.__setitem__) == [1.0, 0.75]
    assert logged == {"invalid_fraction": 0.5}
    # accuracy judges the extracted answer only; the missing </think> costs format reward
    assert accuracy_reward_func(completions, solution=["3", "4"], image=[None, None]) == [1.0, 0.0]


def test_grpo_runs_from_a_model_logs_both_rewards_in_range_and_saves_a_loadable_model(
    tiny_models, synthetic_dir, tmp_path
):
    from scale.models.families import load_model

    training = dict(max_steps=2, per_device_train_batch_size=4, num_generations=4, max_completion_length=12,
                    learning_rate=1e-4, beta=0.04, logging_steps=1, save_steps=1000, disable_tqdm=True)
    summary = train_grpo(tiny_models["gemma3"], synthetic_dir / "iconqa" / "train.jsonl", tmp_path,
                         training=training, rewards={"w_format": 1.0, "w_accuracy": 1.0}, seed=0)
    lines = [json.loads(l) for l in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [1, 2]
    for line in lines:
        for key in ("rewards/format_reward_func/mean", "rewards/accuracy_reward_func/mean", "invalid_fraction"):
            assert 0.0 <= line[key] <= 1.0, key
        assert "completions/mean_length" in line and "kl" in line
    load_model(tmp_path / "model")
    assert summary["steps"] == 2 and json.loads((tmp_path / "run.json").read_text())["kind"] == "grpo"


def test_reward_weights_come_from_the_config(tmp_path):
    from scale.train.driver import grpo_config

    args = grpo_config(tmp_path, {"max_steps": 1}, {"w_format": 0.5, "w_accuracy": 2.0}, seed=0, use_vllm=False)
    assert args.reward_weights == [0.5, 2.0] and not args.use_vllm
    vllm_args = grpo_config(tmp_path, {"max_steps": 1}, {}, seed=0, use_vllm=True)
    assert vllm_args.use_vllm and vllm_args.vllm_mode == "colocate"
    with pytest.raises(ValueError, match="bad GRPOConfig training setting"):
        grpo_config(tmp_path, {"num_generation": 4}, {}, seed=0, use_vllm=False)


def test_trl_still_names_every_weight_it_syncs_to_vllm_through_the_one_method_scale_wraps():
    """send_stored_names wraps VLLMGeneration._fix_param_name_to_vllm, TRL's private renaming step: if a TRL
    release renames it or stops calling it for some weights, the stored-name fix would silently not apply."""
    import inspect

    from trl.generation.vllm_generation import VLLMGeneration

    assert callable(VLLMGeneration._fix_param_name_to_vllm)
    source = inspect.getsource(VLLMGeneration._iter_named_params)
    yields = source.count("yield name") + source.count("yield full_name")
    assert yields and source.count("_fix_param_name_to_vllm(") >= 2  # the PEFT and the plain paths

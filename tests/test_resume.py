"""scale.train.checkpoints: a resumed run ends with the weights of a run never interrupted, a finished
run is never resumed, and a run that trained nothing writes no model."""

import json

import pytest
import torch
from transformers import TrainerCallback

from scale.train.checkpoints import CheckpointMismatchError, UntrainedModelError, restore_weights
from scale.train.driver import train_sft

from conftest import assert_same_weights, first_records, model_tensors

FAST = dict(per_device_train_batch_size=2, learning_rate=3e-3, logging_steps=1, max_length=512,
            disable_tqdm=True, max_steps=4, save_steps=2, save_total_limit=10)


class Crash(RuntimeError):
    pass


class CrashAfter(TrainerCallback):
    """Stands in for a kill: aborts training once step ``step`` is done (its checkpoint, if any, written)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step + 1:
            raise Crash(f"killed at step {state.global_step}")


@pytest.fixture(scope="module")
def eight_samples(synthetic_dir, tmp_path_factory):
    return first_records(synthetic_dir, "iconqa", 8, tmp_path_factory.mktemp("eight"))


def logged(run_dir, key):
    return [json.loads(line)[key] for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def steps_logged(run_dir):
    return [json.loads(line)["step"] for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


CASES = [("qwen2_5_vl", None), ("gemma3", None), ("llava_next", None),
         ("gemma3", {"r": 4, "alpha": 8, "dropout": 0.0})]


@pytest.mark.parametrize("family,lora", CASES, ids=["qwen2_5_vl", "gemma3", "llava_next", "gemma3-lora"])
def test_a_run_killed_after_a_checkpoint_resumes_to_the_weights_of_an_uninterrupted_run(
    tiny_models, eight_samples, tmp_path, family, lora
):
    settings = dict(loss="scale", w_think={"start": 2.0, "end": 1.0}, training=FAST, lora=lora, seed=3)
    uninterrupted = train_sft(tiny_models[family], eight_samples, tmp_path / "straight", **settings)
    with pytest.raises(Crash):
        train_sft(tiny_models[family], eight_samples, tmp_path / "killed", callbacks=[CrashAfter(2)], **settings)
    assert (tmp_path / "killed.checkpoints" / "checkpoint-2").is_dir()
    assert not (tmp_path / "killed" / "model").exists()
    resumed = train_sft(tiny_models[family], eight_samples, tmp_path / "killed", **settings)
    assert resumed["resumed_from"].endswith("checkpoint-2") and resumed["steps"] == 4
    assert steps_logged(tmp_path / "killed") == [1, 2, 3, 4]
    # the tokens of the steps before the resume count too: in run.json (cost.csv) and in the log
    for count in ("train_tokens", "target_tokens"):
        assert resumed[count] == uninterrupted[count] > 0, count
    assert logged(tmp_path / "killed", "num_tokens") == logged(tmp_path / "straight", "num_tokens")
    final, straight = model_tensors(tmp_path / "killed" / "model"), model_tensors(tmp_path / "straight" / "model")
    assert_same_weights(final, straight)
    base = model_tensors(tiny_models[family])
    assert any(not torch.equal(final[k], base[k]) for k in base), "training moved no weight"


def test_a_forced_rerun_of_a_finished_run_trains_afresh(tiny_models, eight_samples, tmp_path):
    settings = dict(loss="ce", training=FAST, seed=0)
    first = train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "run", **settings)
    assert not (tmp_path / "run.checkpoints").exists()  # a finished run leaves nothing to resume
    again = train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "run", **settings)
    assert again["resumed_from"] is None and again["steps"] == 4 and steps_logged(tmp_path / "run") == [1, 2, 3, 4]
    assert again["train_loss"] == pytest.approx(first["train_loss"])
    trained, base = model_tensors(tmp_path / "run" / "model"), model_tensors(tiny_models["gemma3"])
    assert any(not torch.equal(trained[k], base[k]) for k in base)


def test_checkpoints_marked_finished_are_not_resumed_even_if_left_behind(tiny_models, eight_samples, tmp_path):
    """A job killed between writing its model and deleting its checkpoints must not resume them."""
    from scale.train.checkpoints import FINISHED_FILE

    settings = dict(loss="ce", training=FAST, seed=0)
    with pytest.raises(Crash):
        train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "run", callbacks=[CrashAfter(2)], **settings)
    (tmp_path / "run.checkpoints" / FINISHED_FILE).write_text("{}")
    again = train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "run", **settings)
    assert again["resumed_from"] is None and steps_logged(tmp_path / "run") == [1, 2, 3, 4]


def test_a_run_that_moves_no_weight_writes_no_model(tiny_models, eight_samples, tmp_path):
    with pytest.raises(UntrainedModelError, match="no trainable weight changed"):
        train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "run", loss="ce",
                  training=dict(FAST, learning_rate=0.0))
    assert not (tmp_path / "run" / "model").exists()


def test_weights_that_do_not_fit_stop_the_resume_naming_them(tiny_models, tmp_path):
    import shutil

    from safetensors.torch import save_file

    from scale.models.families import load_model

    model = load_model(tiny_models["gemma3"])
    restore_weights(model, tiny_models["gemma3"])  # its own layout: every weight found by name
    checkpoint = tmp_path / "checkpoint-2"
    shutil.copytree(tiny_models["gemma3"], checkpoint)
    tensors = model_tensors(tiny_models["gemma3"])
    dropped = sorted(tensors)[0]
    tensors["not.a.weight"] = tensors.pop(dropped)
    save_file(tensors, checkpoint / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointMismatchError, match=r"weight\(s\) missing.*1 unexpected.*not\.a\.weight"):
        restore_weights(model, checkpoint)


def test_grpo_resumes_to_the_weights_of_an_uninterrupted_run(tiny_models, eight_samples, tmp_path, monkeypatch):
    from scale.rewards import completion_text
    from scale.train import driver

    def length_reward(completions, **kwargs):  # a random policy never earns the paper's rewards: vary them
        return [float(len(completion_text(c)) % 5) for c in completions]

    monkeypatch.setattr(driver, "format_reward_func", length_reward)
    training = dict(max_steps=3, per_device_train_batch_size=4, num_generations=4, max_completion_length=8,
                    learning_rate=1e-2, logging_steps=1, save_steps=1, disable_tqdm=True)
    settings = dict(training=training, rewards={"w_format": 1.0, "w_accuracy": 1.0}, seed=0)
    straight = driver.train_grpo(tiny_models["llava_next"], eight_samples, tmp_path / "straight", **settings)
    assert straight["weights_moved"]
    with pytest.raises(Crash):
        driver.train_grpo(tiny_models["llava_next"], eight_samples, tmp_path / "killed", callbacks=[CrashAfter(2)],
                        **settings)
    resumed = driver.train_grpo(tiny_models["llava_next"], eight_samples, tmp_path / "killed", **settings)
    assert resumed["resumed_from"].endswith("checkpoint-2")
    assert_same_weights(model_tensors(tmp_path / "killed" / "model"), model_tensors(tmp_path / "straight" / "model"))

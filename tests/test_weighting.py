"""scale.weighting: SCALe's weights tuned online (Dynamic Weight Average over the segment losses), in the
trainer: the same weights under gradient accumulation, and after a resume."""

import json
import math

import pytest

from scale.weighting import DynamicWeightAverage


def dwa_by_hand(rates, temperature=2.0, total=2.0):
    exp = [math.exp(r / temperature) for r in rates]
    return total * exp[0] / sum(exp), total * exp[1] / sum(exp)


def test_equal_weights_until_two_windows_of_losses_are_known():
    rule = DynamicWeightAverage(window=2)
    for think, answer in [(2.0, 1.0), (1.9, 0.5), (1.8, 0.3)]:
        assert rule.weights() == (1.0, 1.0)
        rule.update(think, answer)
    rule.update(1.7, 0.2)
    assert rule.weights() != (1.0, 1.0)


def test_the_segment_whose_loss_falls_more_slowly_gets_more_weight_by_the_formula():
    rule = DynamicWeightAverage()
    rule.update(2.0, 1.0)
    rule.update(1.9, 0.5)  # think fell 5%, answer 50%: think lags
    w_think, w_answer = rule.weights()
    assert (w_think, w_answer) == pytest.approx(dwa_by_hand((1.9 / 2.0, 0.5 / 1.0)))
    assert w_think > 1.0 > w_answer and w_think + w_answer == pytest.approx(2.0)
    rule.update(1.9, 0.5)
    rule.update(1.0, 0.5)  # now the answer lags
    assert rule.weights()[1] > 1.0


def test_a_window_compares_mean_losses_of_consecutive_windows():
    rule = DynamicWeightAverage(window=2, temperature=0.5)
    for step in [(4.0, 2.0), (2.0, 2.0), (1.0, 1.0), (2.0, 2.0)]:
        rule.update(*step)
    assert rule.rates() == pytest.approx((3.0 / 6.0, 3.0 / 4.0))
    assert rule.weights() == pytest.approx(dwa_by_hand((0.5, 0.75), temperature=0.5))
    assert len(rule.history) == 4


def test_weights_stay_within_their_bounds_however_far_the_rates_part():
    rule = DynamicWeightAverage(temperature=0.01, min_weight=0.2)
    rule.update(1.0, 1.0)
    rule.update(1.0, 0.01)
    assert rule.weights() == pytest.approx((1.8, 0.2))
    rule = DynamicWeightAverage(temperature=0.01, min_weight=0.2, total=3.0)
    rule.update(1.0, 1.0)
    rule.update(0.01, 1.0)
    assert rule.weights() == pytest.approx((0.2, 2.8))


def test_its_state_restores_the_same_weights():
    rule = DynamicWeightAverage(window=2)
    for step in [(3.0, 2.0), (2.5, 1.0), (2.4, 0.9), (2.0, 0.2), (1.9, 0.2)]:
        rule.update(*step)
    copy = DynamicWeightAverage(window=2)
    copy.load_state_dict(json.loads(json.dumps(rule.state_dict())))
    assert copy.weights() == rule.weights() and copy.history == rule.history


@pytest.mark.parametrize("config, message", [
    ({"rule": "gradnorm"}, "needs 'rule'"),
    ({"rule": "dwa", "temprature": 2.0}, r"unknown weighting keys \['temprature'\]"),
    ({"rule": "dwa", "temperature": 0.0}, "temperature must be a finite number > 0"),
    ({"rule": "dwa", "window": 0}, "window must be a whole number"),
    ({"rule": "dwa", "window": 1.5}, "window must be a whole number"),
    ({"rule": "dwa", "min_weight": 1.0}, "min_weight must be >= 0 and below total / 2"),
    ({"rule": "dwa", "total": "2"}, "total must be a number"),
])
def test_a_bad_setting_is_named(config, message):
    with pytest.raises(ValueError, match=message):
        DynamicWeightAverage.from_config(config)


def test_a_loss_that_is_not_finite_is_refused():
    with pytest.raises(ValueError, match="think loss must be a finite number"):
        DynamicWeightAverage().update(float("nan"), 1.0)


# --- in the trainer --------------------------------------------------------------------------------------

DWA = {"rule": "dwa", "temperature": 0.05}  # a low temperature, so that the weights move visibly in a few steps
FAST = dict(learning_rate=3e-3, logging_steps=1, max_length=512, disable_tqdm=True, save_steps=2, save_total_limit=10)


def log_of(run_dir):
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def eight_samples(synthetic_dir, tmp_path_factory):
    from conftest import first_records

    return first_records(synthetic_dir, "iconqa", 8, tmp_path_factory.mktemp("eight"))


def test_the_trainer_weights_each_step_by_the_rule_on_the_previous_steps_reduced_losses(
    tiny_models, eight_samples, tmp_path
):
    from scale.train.driver import train_sft

    summary = train_sft(tiny_models["gemma3"], eight_samples, tmp_path, loss="scale", weighting=DWA,
                        training=dict(FAST, max_steps=6, per_device_train_batch_size=4), seed=0)
    lines = log_of(tmp_path)
    assert [line["w_think"] for line in lines[:2]] == [1.0, 1.0]
    for before, last, line in zip(lines, lines[1:], lines[2:]):
        rates = tuple(last[f"rule_{k}_loss"] / before[f"rule_{k}_loss"] for k in ("think", "answer"))
        expected = min(max(dwa_by_hand(rates, temperature=0.05)[0], 0.1), 1.9)
        assert line["w_think"] == pytest.approx(expected, rel=1e-6)
        assert line["w_think"] + line["w_answer"] == pytest.approx(2.0)
    assert any(abs(line["w_think"] - 1.0) > 0.05 for line in lines[2:]), "the weights never moved"
    assert summary["weighting"] == DWA


def test_accumulated_micro_batches_give_the_weights_of_one_batch(tiny_models, eight_samples, tmp_path):
    from scale.train.driver import train_sft

    for name, batch, accumulation in (("one", 4, 1), ("two", 2, 2)):
        train_sft(tiny_models["llava_next"], eight_samples, tmp_path / name, loss="scale", weighting=DWA, seed=0,
                  training=dict(FAST, max_steps=5, per_device_train_batch_size=batch,
                                gradient_accumulation_steps=accumulation))
    one, two = log_of(tmp_path / "one"), log_of(tmp_path / "two")
    for key in ("rule_think_loss", "rule_answer_loss", "w_think"):
        assert [line[key] for line in two] == pytest.approx([line[key] for line in one], rel=1e-5, abs=1e-6), key


def test_a_resumed_run_carries_on_with_the_weights_of_an_uninterrupted_one(tiny_models, eight_samples, tmp_path):
    from transformers import TrainerCallback

    from scale.train.checkpoints import read_complete
    from scale.train.driver import train_sft

    class Crash(RuntimeError):
        pass

    class CrashAfter(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise Crash("killed")

    settings = dict(loss="scale", weighting=DWA, seed=0,
                    training=dict(FAST, max_steps=6, per_device_train_batch_size=2))
    train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "straight", **settings)
    with pytest.raises(Crash):
        train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "killed", callbacks=[CrashAfter()], **settings)
    saved = read_complete(tmp_path / "killed.checkpoints" / "checkpoint-2")
    assert len(saved["state"]["weighting"]["history"]) == 2
    resumed = train_sft(tiny_models["gemma3"], eight_samples, tmp_path / "killed", **settings)
    assert resumed["resumed_from"].endswith("checkpoint-2")
    straight, killed = log_of(tmp_path / "straight"), log_of(tmp_path / "killed")
    assert [line["step"] for line in killed] == [1, 2, 3, 4, 5, 6]
    assert [line["w_think"] for line in killed] == pytest.approx([line["w_think"] for line in straight], abs=1e-6)
    assert any(abs(line["w_think"] - 1.0) > 0.05 for line in straight[3:])


@pytest.mark.parametrize("variant, message", [
    ({"weighting": {"rule": "dwa", "temperature": -1.0}}, "variants/scale_sft/weighting: temperature must be"),
    ({"weighting": {"rule": "famo"}}, "variants/scale_sft/weighting: a weighting needs 'rule'"),
    ({"loss": "ce", "weighting": {"rule": "dwa"}}, "variants/scale_sft/weighting: .* needs loss: scale"),
])
def test_a_bad_weighting_in_a_config_stops_validation_naming_it(variant, message):
    from pathlib import Path

    import yaml

    from scale.config import ConfigError, validate_config

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "ci.yaml").read_text())
    config["variants"] = {"scale_sft": variant}
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


def test_a_configs_weighting_reaches_the_run_and_only_then_its_spec():
    from scale.config import sft_spec

    config = {"sft": {"training": {}}, "variants": {"scale_sft": {"weighting": {"rule": "dwa", "window": 2}}}}
    assert sft_spec(config, "scale_sft")["weighting"] == {"rule": "dwa", "window": 2}
    assert "weighting" not in sft_spec({"sft": {"training": {}}}, "scale_sft")  # the paper's runs keep their keys


"""scale.schedule: eq. 3 cosine and the fixed-weight schedule."""

import math

import pytest

from scale.schedule import WeightSchedule, constant, cosine


def test_cosine_starts_at_start_ends_at_end_and_is_halfway_at_midpoint():
    assert cosine(0, 100, 2.0, 1.0) == 2.0
    assert cosine(50, 100, 2.0, 1.0) == pytest.approx(1.5)
    assert cosine(100, 100, 2.0, 1.0) == 1.0
    assert cosine(250, 100, 2.0, 1.0) == 1.0


def test_cosine_follows_the_formula_between_endpoints():
    step, total = 25, 100
    expected = 1.0 + (2.0 - 1.0) * 0.5 * (1 + math.cos(math.pi * step / total))
    assert cosine(step, total, 2.0, 1.0) == pytest.approx(expected)
    assert cosine(25, 100, 1.0, 3.0) < cosine(75, 100, 1.0, 3.0)  # increasing schedules too


def test_cosine_with_no_steps_returns_end():
    assert cosine(0, 0, 2.0, 1.0) == 1.0
    assert cosine(3, -1, 2.0, 1.0) == 1.0


def test_constant_ignores_the_step():
    assert constant(0, 10, 1.0) == constant(7, 10, 1.0) == 1.0


def test_weight_schedule_from_config():
    decay = WeightSchedule.from_config({"start": 2.0, "end": 1.0, "kind": "cosine"})
    assert decay(0, 10) == 2.0 and decay(10, 10) == 1.0
    fixed = WeightSchedule.from_config(1.0)
    assert fixed(0, 10) == fixed(10, 10) == 1.0
    assert WeightSchedule.from_config({"start": 1.5}).kind == "constant"


@pytest.mark.parametrize(
    "config, message",
    [
        ({"start": 2.0, "end": 1.0, "kind": "linear"}, "kind"),
        ({"start": 2.0, "end": 1.0, "kind": "constant"}, "start == end"),
        ({"end": 1.0}, "start"),
        ({"start": 1.0, "ende": 1.0}, "ende"),
    ],
)
def test_bad_schedule_config_is_rejected_with_a_message(config, message):
    with pytest.raises(ValueError, match=message):
        WeightSchedule.from_config(config)

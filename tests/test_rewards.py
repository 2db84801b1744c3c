"""scale.rewards: eq. 5 format reward, accuracy reward, eq. 6, and the TRL wrappers."""

import pytest

from scale.rewards import (
    accuracy_reward,
    accuracy_reward_func,
    combined_reward,
    format_reward,
    format_reward_func,
)

GOOD = "<think>Count: 3.</think>\n<answer>3</answer>"


@pytest.mark.parametrize(
    "text, reward",
    [
        (GOOD, 1.0),
        ("  \n" + GOOD + "\n  ", 1.0),
        ("<think>a</think><answer>B", 0.75),
        ("<think>a <answer>B</answer>", 0.75),
        ("<think>a</think><think>b</think><answer>B</answer>", 0.5),
        ("<answer>B</answer><think>a</think>", 0.0),
        ("<think>a</think><answer>x<answer>B</answer>", 0.75),  # <answer> twice earns nothing
        ("no tags at all", 0.0),
        ("", 0.0),
    ],
)
def test_format_reward_quarter_per_tag_once_and_in_order(text, reward):
    assert format_reward(text) == reward


def test_accuracy_reward_is_exact_match_on_normalised_answers():
    assert accuracy_reward(GOOD, "3") == 1.0
    assert accuracy_reward(GOOD, "3.0") == 1.0
    assert accuracy_reward(GOOD, "4") == 0.0
    assert accuracy_reward("<think>x</think>", "3") == 0.0
    assert accuracy_reward("<think>x</think><answer></answer>", "") == 0.0


def test_combined_reward_is_the_weighted_sum():
    assert combined_reward(GOOD, "3") == 2.0
    assert combined_reward("<think>a</think><answer>4</answer>", "3", 0.5, 2.0) == 0.5
    assert combined_reward(GOOD, "3", w_format=0.0) == 1.0


def test_trl_wrappers_accept_strings_and_conversations():
    completions = [
        GOOD,
        [{"role": "assistant", "content": GOOD}],
        [{"role": "assistant", "content": [{"type": "text", "text": "<think>a</think>"}]}],
    ]
    assert format_reward_func(completions) == [1.0, 1.0, 0.5]
    assert accuracy_reward_func(completions, solution=["3", "3", "3"], image=None) == [1.0, 1.0, 0.0]


def test_accuracy_wrapper_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="solutions"):
        accuracy_reward_func([GOOD, GOOD], solution=["3"])

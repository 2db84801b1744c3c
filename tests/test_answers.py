"""scale.answers: extraction, normalisation, validity and correctness."""

import pytest

from scale.answers import extract_answer, is_correct, is_valid, normalize_answer

GOOD = "<think>Two red, one blue.</think>\n<answer>B</answer>"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<answer>B</answer>", "B"),
        ("<answer>A</answer> then <answer> C </answer>", " C "),
        ("<answer>x <answer>y</answer>", "y"),
        ("<answer>B", None),
        ("B</answer>", None),
        ("<answer></answer>", ""),
        ("", None),
        (None, None),
    ],
)
def test_extract_answer_takes_the_last_closed_block(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "raw, normal",
    [
        ("(B)", "B"),
        ("B.", "B"),
        ("B) nitrogen", "B"),
        ("(b) nitrogen", "B"),
        ("(B).", "B"),
        ("B: nitrogen", "B"),
        ("Option B", "B"),
        ("b", "B"),
        (" Final Answer: B. ", "B"),
        ("answer: (c)", "C"),
        ("12.0", "12"),
        ("1,000", "1000"),
        ("-3.50", "-3.5"),
        (".5", "0.5"),
        ("12.", "12"),
        ('"nitrogen".', "nitrogen"),
        ("[cat]", "cat"),
        ("Gas   Giant", "gas giant"),
        ("3:00", "3:00"),
        ("a cat", "a cat"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_answer(raw, normal):
    assert normalize_answer(raw) == normal


@pytest.mark.parametrize(
    "text, valid",
    [
        (GOOD, True),
        ("<think>loop loop loop", False),
        ("<think>x <answer>B</answer>", False),  # reasoning never closed
        ("<think>x</think> and nothing else", False),
        ("<think>x</think><answer>B", False),  # answer never closed
        ("<answer>B</answer><think>x</think>", False),  # answer before the reasoning ends
        ("<think>x</think><answer></answer>", True),  # empty, but well formed
        ("", False),
        (None, False),
    ],
)
def test_is_valid_needs_think_close_then_a_closed_answer(text, valid):
    assert is_valid(text) is valid


def test_is_correct_compares_normalised_answers_and_counts_invalid_as_wrong():
    assert is_correct(GOOD, "B")
    assert is_correct("<think>t</think><answer> (b) nitrogen </answer>", "B")
    assert is_correct("<think>t</think><answer>Final Answer: 12.0</answer>", "12")
    assert not is_correct(GOOD, "A")
    assert not is_correct("<think>t <answer>B</answer>", "B")  # right letter, invalid output
    assert not is_correct("<think>t</think><answer> </answer>", "")  # empty never matches


def test_two_answer_blocks_are_judged_by_the_last_one():
    text = "<think>t</think><answer>A</answer><answer>B</answer>"
    assert is_correct(text, "B") and not is_correct(text, "A")


def test_gigantic_output_is_handled():
    text = "<think>" + "and again " * 200_000 + "</think><answer>7</answer>"
    assert is_correct(text, "7")
    assert not is_valid("<think>" + "<answer>" * 100_000)


# --- math answers (the text benchmarks): compared as the field compares them


@pytest.mark.parametrize("written, gold", [
    (r"\boxed{42}", "42"), ("$42$", "42"), ("$1,000", "1000"), (r"\dfrac{6}{4}", "3/2"), (r"\frac12", "1/2"),
    ("0.5", "1/2"), (r"\boxed{\frac{1}{2}}", "0.5"), ("4/2", "2"),
    (r"\left( 3, \frac{\pi}{2} \right)", r"(3, \frac{\pi}{2})"),
    (r"-\frac{1}{3}", "-1/3"), ("Answer: 1,234.0", "1234"), (r"\boxed{1} then \boxed{7}", "7"),
])
def test_math_answers_match_their_gold(written, gold):
    from scale.answers import answers_match

    assert answers_match(normalize_answer(written), normalize_answer(gold))
    assert is_correct(f"<think>work</think>\n<answer>{written}</answer>", gold)


@pytest.mark.parametrize("output, gold", [
    (r"<think>\boxed{7}</think>", "7"),  # the box sits in the think block only: nothing closes after </think>
    (r"<think>x</think><answer>\boxed{7</answer>", "7"),  # an unclosed box is not a number
    (r"<think>x</think><answer>\boxed{}</answer>", "7"),  # an empty box
    (r"<think>x</think><answer>\boxed{7} \boxed{8}</answer>", "7"),  # the last box counts
    ("<think>x</think><answer>7 apples</answer>", "7"),  # units are not stripped
    ("<think>x</think><answer>1/0</answer>", "7"),
    ("<think>x</think><answer>7", "7"),  # an answer never closed
    ("<answer>7</answer>", "7"),  # no think block at all
])
def test_adversarial_math_outputs_are_wrong(output, gold):
    assert not is_correct(output, gold)


def test_numbers_compare_by_exact_value_never_by_rounding():
    from scale.answers import answers_match

    assert not answers_match("0.333", "1/3") and answers_match("2/6", "1/3") and not answers_match("", "")

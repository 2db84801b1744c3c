"""scale.data.arithmetic: the synthetic text benchmarks, their traces, and what the warm-up teaches."""

import re

import pytest

from scale.answers import extract_answer, normalize_answer
from scale.data.arithmetic import DATASETS, generate, split_bucket
from scale.data.records import LETTERS, validate_record

CALCULATION = re.compile(r"(\d+) ([+-]) (\d+) = (\d+)")
START = re.compile(r"^\w+ has (\d+) \w+\.")
CHANGE = re.compile(r"(finds|buys|gets|gives away|loses|sells) (\d+)")


def records(dataset, split, n=300, seed=0):
    return list(generate(dataset, split, n, seed, think_ratio=20))


def worked_out(question: str) -> int:
    """The problem's answer worked out again from its text alone."""
    total = int(START.match(question).group(1))
    for verb, number in CHANGE.findall(question):
        total += int(number) if verb in ("finds", "buys", "gets") else -int(number)
    return total


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("split", ["train", "test", "warmup"])
def test_every_record_follows_the_schema_and_has_no_picture(dataset, split):
    for record in records(dataset, split):
        validate_record(record, require_response=split != "test")
        assert record["image"] is None and ("response" in record) == (split != "test")


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_gold_answer_follows_from_the_question(dataset):
    for record in records(dataset, "test") + records(dataset, "train"):
        value = str(worked_out(record["question"]))
        if dataset == "aqua":
            assert record["choices"][LETTERS.index(record["answer"])] == value
            assert len(set(record["choices"])) == 4
        else:
            assert record["answer"] == value


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_trace_calculation_is_right_and_the_answer_follows_from_the_last(dataset):
    for record in records(dataset, "train"):
        think = record["response"].split("</think>")[0]
        steps = CALCULATION.findall(think)
        assert len(steps) >= 2
        for a, op, b, result in steps:
            assert (int(a) + int(b) if op == "+" else int(a) - int(b)) == int(result)
        changes = len(CHANGE.findall(record["question"]))
        final = int(steps[changes - 1][3])  # the written-out steps come first, in order, then the checks
        assert final == worked_out(record["question"])
        gold = extract_answer(record["response"])
        assert normalize_answer(gold) == record["answer"]


def test_traces_are_long_against_their_answers():
    for record in records("gsm8k", "train"):
        think, answer = record["response"].split("</think>")
        assert len(think) > 10 * len(answer)


@pytest.mark.parametrize("dataset", DATASETS)
def test_no_test_problem_is_a_training_problem(dataset):
    def problem(record):
        start = int(START.match(record["question"]).group(1))
        signed = [int(n) if v in ("finds", "buys", "gets") else -int(n) for v, n in CHANGE.findall(record["question"])]
        return start, tuple(signed)

    train = {problem(r) for r in records(dataset, "train", 1000)}
    test = {problem(r) for r in records(dataset, "test", 300)}
    assert train and test and not train & test
    for record in records(dataset, "test", 300):
        start = int(START.match(record["question"]).group(1))
        changes = [int(n) if v in ("finds", "buys", "gets") else -int(n) for v, n in CHANGE.findall(record["question"])]
        assert split_bucket(start, changes) == "test"


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_warmup_teaches_single_steps_and_facts_never_a_problem_of_several_steps(dataset):
    warmup = records(dataset, "warmup", 400)
    test = records(dataset, "test", 100)
    assert not {r["qtype"] for r in warmup} & {r["qtype"] for r in test}
    assert {r["qtype"] for r in warmup} == {"calculation", "fact", "fact_choice"}
    for record in warmup:
        assert len(CHANGE.findall(record["question"])) <= 1
        assert "now?" not in record["question"]
        assert record["response"].startswith("<think>\n</think>")  # a direct answer, no trace
    calculations = [r for r in warmup if r["qtype"] == "calculation"]
    for record in calculations:  # the calculation the one sentence needs
        a, op, b = record["answer"].split()
        start, (verb, number) = int(START.match(record["question"]).group(1)), CHANGE.findall(record["question"])[0]
        assert (int(a), int(b)) == (start, int(number)) and (op == "+") == (verb in ("finds", "buys", "gets"))


def test_splits_are_deterministic_for_a_seed_and_differ_across_seeds():
    assert records("aqua", "train", 50, seed=3) == records("aqua", "train", 50, seed=3)
    assert records("aqua", "train", 50, seed=3) != records("aqua", "train", 50, seed=4)


def test_unknown_dataset_or_split_is_refused():
    with pytest.raises(ValueError, match="unknown text dataset"):
        list(generate("scienceqa", "train", 1, 0))
    with pytest.raises(ValueError, match="unknown split"):
        list(generate("gsm8k", "probe", 1, 0))


def test_calculation_steps_checks_the_arithmetic_and_the_chain_against_the_problem(tmp_path):
    from scale.data.arithmetic import calculation, problem_of, running_totals
    from scale.data.records import write_records
    from scale.eval.predictions import prediction, prompt_fields, write_predictions
    from scale.report.traces import calculation_steps

    tests = records("gsm8k", "test", 3)
    write_records(tmp_path / "test.jsonl", tests)

    def chain(record, wrong_last=False):
        start, changes = problem_of(record["question"])
        totals = running_totals(start, changes)
        befores = [start] + totals[:-1]
        results = totals[:-1] + [totals[-1] + (1 if wrong_last else 0)]
        steps = " ".join(f"{calculation(b, c)} = {t}." for b, c, t in zip(befores, changes, results))
        return f"<think>{steps} Check 1: 1 + 1 = 3.</think>\n<answer>{results[-1]}</answer>"

    outputs = [chain(tests[0]), chain(tests[1], wrong_last=True), "<think>no steps</think>\n<answer>3</answer>"]
    path = tmp_path / "eval" / "m" / "gsm8k" / "sft" / "seed0" / "predictions.jsonl"
    path.parent.mkdir(parents=True)
    write_predictions(path, [prediction(r, o, "stop", len, prompt_fields([1])) for r, o in zip(tests, outputs)])
    row = calculation_steps([path], {"gsm8k": tmp_path / "test.jsonl"}).iloc[0]
    steps = sum(len(problem_of(r["question"])[1]) for r in tests[:2])
    assert row["outputs"] == 3 and row["with_steps"] == 2 and row["steps"] == steps  # "Check 1" onwards not read
    assert row["steps_right"] == round(100 * (steps - 1) / steps, 1)  # one wrong result
    assert row["chain_right"] == 100.0  # both chains follow the problem, the wrong sum included
    assert row["accuracy"] == round(100 / 3, 1) and row["right_follow"] == 100.0

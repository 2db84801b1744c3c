"""scale.report.claims: the paper's claims as paired tests pooled over seeds, Base beside every seed."""

import pytest

from scale.eval.predictions import prediction, write_predictions
from scale.report.claims import ALL_ROWS, claims_table


def predictions_file(root, model, dataset, variant, seed, correct_ids, invalid_ids=(), n=10):
    def output(i):
        if i in invalid_ids:
            return "<think>never closed"
        return "<think>t</think><answer>A</answer>" if i in correct_ids else "<think>t</think><answer>B</answer>"

    rows = [prediction({"id": str(i), "qtype": "q", "answer": "A"}, output(i), "stop", len) for i in range(n)]
    cell = root / "eval" / model / dataset / variant
    path = (cell if seed is None else cell / f"seed{seed}") / "predictions.jsonl"
    write_predictions(path, rows)
    return path


def claim(frame, name, model="m"):
    return frame[(frame["claim"] == name) & (frame["model"] == model)].iloc[0]


def test_base_is_paired_with_every_seed_and_the_counts_match_hand_values(tmp_path):
    files = [predictions_file(tmp_path, "m", "d", "base", None, {0, 1}),
             predictions_file(tmp_path, "m", "d", "sft", 0, {0, 1, 2, 3}),
             predictions_file(tmp_path, "m", "d", "sft", 1, {0, 2, 3, 4, 5})]
    row = claim(claims_table(files), "sft_over_base")
    # seed 0: SFT alone right on 2, 3; seed 1: SFT alone on 2, 3, 4, 5, Base alone on 1
    assert row["n_pairs"] == 20
    assert (row["only_baseline"], row["only_treatment"]) == (1, 6)
    assert row["difference"] == pytest.approx(25.0)
    assert row["baseline_correct"] == pytest.approx(20.0) and row["treatment_correct"] == pytest.approx(45.0)
    assert row["mcnemar_p"] == pytest.approx(2 * (1 + 7) / 2**7)  # two-sided binomial tail, k ≤ 1 of 7
    assert not row["holds"]  # the right direction, but p = 0.125


def test_fewer_invalid_outputs_is_a_claim_about_validity_and_expects_a_fall(tmp_path):
    files = [predictions_file(tmp_path, "m", "d", "sft", 0, set(), invalid_ids=set(range(8))),
             predictions_file(tmp_path, "m", "d", "scale_sft", 0, set())]
    row = claim(claims_table(files), "scale_sft_fewer_invalid")
    assert (row["only_baseline"], row["only_treatment"]) == (8, 0)
    assert row["difference"] == pytest.approx(-80.0)
    assert row["mcnemar_p"] == pytest.approx(2 / 2**8)
    assert row["holds"]
    accuracy = claim(claims_table(files), "scale_sft_over_sft")
    assert (accuracy["only_baseline"], accuracy["only_treatment"]) == (0, 0) and not accuracy["holds"]


def test_all_rows_pool_every_rows_pairs(tmp_path):
    files = []
    for model in ("m", "n"):
        files += [predictions_file(tmp_path, model, "d", "grpo", 0, set()),
                  predictions_file(tmp_path, model, "d", "scale_grpo", 0, set(range(5)))]
    frame = claims_table(files)
    pooled = claim(frame, "scale_grpo_over_grpo", model=ALL_ROWS)
    assert pooled["n_pairs"] == 20 and pooled["only_treatment"] == 10 and pooled["holds"]
    assert set(frame["claim"]) == {"scale_grpo_over_grpo", "scale_grpo_fewer_invalid"}


def test_mismatched_test_sets_are_an_error(tmp_path):
    files = [predictions_file(tmp_path, "m", "d", "sft", 0, set()),
             predictions_file(tmp_path, "m", "d", "scale_sft", 0, set(), n=9)]
    with pytest.raises(ValueError, match="same test records"):
        claims_table(files)

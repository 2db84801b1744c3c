"""The text paper config (configs/text_paper.yaml), rehearsed: its overlay's allow-list, its grid, its inputs'
real formats with the rows each filter drops, and the whole paper path run on stand-ins. Its launcher and
LoRA alpha/r are checked with the VLM overlay's in tests/test_rehearsal.py."""

import fnmatch
import json
from pathlib import Path

import pytest
import test_rehearsal
import yaml
from test_rehearsal import check_rehearsal_outputs, leaf_keys, on_one_dataset

from scale.config import load_config

REPO = Path(__file__).resolve().parents[1]
PAPER, OVERLAY = REPO / "configs" / "text_paper.yaml", REPO / "configs" / "text_rehearsal.yaml"

# Every key the overlay may set: the VLM rehearsal's reasons hold, with the corpus fixture's folder.
ALLOWED = {
    "results_dir", "numerics/cpu_code_path", "stand_ins", "data/openr1/root", "sft/launcher", "grpo/launcher",
    "grpo/use_vllm",
    "*/training/max_steps", "*/training/per_device_train_batch_size", "*/training/gradient_accumulation_steps",
    "*/training/max_length", "*/training/num_generations", "*/training/max_completion_length",
    "*/training/logging_steps", "*/training/save_steps", "*/training/bf16", "*/lora/r", "*/lora/alpha",
    "eval/backend", "eval/batch_size", "eval/max_new_tokens", "eval/bootstrap",
}


def merged_config() -> dict:
    return test_rehearsal.merged_config(PAPER, OVERLAY)


def test_the_overlay_sets_only_allowed_keys():
    touched = list(leaf_keys(yaml.safe_load(OVERLAY.read_text())))
    assert touched
    for key in touched:
        assert any(fnmatch.fnmatchcase(key, pattern) for pattern in ALLOWED), f"{key} is not on the allow-list"
        # the same reasons as the VLM rehearsal's, one list of what this machine cannot have
        assert key == "data/openr1/root" or any(fnmatch.fnmatchcase(key, p) for p in test_rehearsal.ALLOWED), key


def test_the_merged_config_is_valid_and_keeps_the_paper_grid(tmp_path):
    merged = merged_config()
    path = tmp_path / "merged.yaml"
    path.write_text(yaml.safe_dump(merged))
    load_config(path)
    paper = load_config(PAPER)
    assert merged["models"].keys() == paper["models"].keys()
    assert merged["data"]["datasets"] == paper["data"]["datasets"]
    assert merged["sft"]["training"]["gradient_checkpointing"] is True


def test_every_assumption_of_the_text_paper_config_is_marked():
    """A value the paper does not fix is written ASSUMPTION, as in configs/paper.yaml."""
    text = PAPER.read_text()
    for key in ("root: data/openr1_math", "qwen2.5_3b_instruct", "max_length: 16384", "max_completion_length: 4096",
                "max_new_tokens: 8192", "min_kept_share: 0.5  #"):
        line = next(line for line in text.splitlines() if key in line)
        assert "ASSUMPTION" in line or "ASSUMPTION" in text.split(line)[0].splitlines()[-1], line


def test_the_text_paper_dry_run_plans_the_grid_with_its_downloads():
    from test_workflow import job_counts, snakemake

    counts = job_counts(snakemake("-n", "--configfile", str(PAPER)).stdout)
    assert counts["download_openr1"] == 1 and counts["fetch_checkpoint"] == 1
    assert counts["fetch_test_set"] == counts["prepare_train_set"] == counts["prepare_test_set"] == 2
    assert counts["train_sft"] == 3 * 2 and counts["train_grpo"] == 3 * 2  # FW pair too: ablation is on


def test_the_corpus_filter_keeps_each_good_row_and_counts_every_drop_by_reason(tmp_path):
    from scale.data.fixtures import OPENR1_DROP_KINDS, write_openr1_fixture
    from scale.data.openr1 import TooFewKeptError, filter_openr1, load_corpus
    from scale.data.records import read_records

    written = write_openr1_fixture(tmp_path / "corpus", rows=24)
    corpus = load_corpus(tmp_path / "corpus")
    assert {"problem", "answer", "generations", "correctness_math_verify", "correctness_llama",
            "is_reasoning_complete", "finish_reasons", "source", "uuid", "messages"} <= set(corpus.column_names)
    report = filter_openr1(corpus, "math500", tmp_path / "out")
    assert report["kept"] == written["kept"] == 24 and report["candidates"] == 24 + len(OPENR1_DROP_KINDS)
    assert report["dropped"] == {"no_correct_trace": 2, "no_think_close": 1, "no_final_answer": 1,
                                 "boxed_answer_differs": 1, "no_answer": 1}  # a cut trace is not a correct one
    assert report["think_open_added"] > 0
    records = read_records(tmp_path / "out" / "train.jsonl")
    for record, row in zip(records, corpus):
        assert record["response"].startswith("<think>") and record["response"].endswith("</answer>")
        assert record["image"] is None and record["question"] == row["problem"]
    assert len({r["answer"] for r in records}) > 1
    sources = filter_openr1(corpus, "gsm8k", tmp_path / "some", sources=["olympiads"])
    assert sources["other_sources"] > 0 and sources["kept"] == 8
    with pytest.raises(TooFewKeptError, match="min_kept_share"):
        filter_openr1(corpus, "gsm8k", tmp_path / "strict", min_kept_share=0.95)


def test_the_text_test_sets_convert_from_their_real_columns(tmp_path):
    from scale.data.fixtures import write_test_set_fixture
    from scale.data.records import read_records
    from scale.data.test_sets import convert_test_set, load_rows

    for dataset in ("gsm8k", "math500"):
        write_test_set_fixture(dataset, tmp_path / dataset, rows=6)
        report = convert_test_set(dataset, load_rows(tmp_path / dataset), tmp_path / f"{dataset}_out")
        records = read_records(tmp_path / f"{dataset}_out" / "test.jsonl")
        assert all(r["image"] is None for r in records)
        if dataset == "gsm8k":  # the number after ####, commas dropped; a row without it is counted
            assert report["skipped"] == {"no_final_number": 1} and records[-1]["answer"] == "1000"
        else:  # LaTeX golds normalised: \frac{2n}{2} is n
            assert report["kept"] == 6 and all(r["answer"].isdigit() for r in records)


# The dataset the end-to-end run keeps: its corpus filter and LaTeX golds are the harder of the two; GSM8K's
# paths differ only in the test-set converter and the filter's source list, both tested above. One dataset
# halves the run's training and evaluation (CI time).
REHEARSED_DATASET = "math500"


def without_the_ablation(config: dict) -> dict:
    """``config`` without Table 3's FW pair: its runs take the SCALe pair's path with constant weights, which the VLM
    rehearsal runs (CI time: two training runs and their evaluations fewer)."""
    return {**config, "models": {name: {**entry, "ablation": False} for name, entry in config["models"].items()}}


@pytest.mark.slow
def test_the_text_paper_config_runs_here_on_stand_ins_through_every_table(tmp_path):
    from scale.models.families import get_family, load_processor
    from scale.models.tiny import stock_chat_template

    from test_workflow import snakemake

    merged = without_the_ablation(on_one_dataset(merged_config(), REHEARSED_DATASET))  # the files, merged
    one_dataset = tmp_path / "text_rehearsal_one_dataset.yaml"
    one_dataset.write_text(yaml.safe_dump(merged))
    snakemake("--cores", "2", "--directory", str(tmp_path), "--configfile", str(one_dataset))
    results = tmp_path / merged["results_dir"]
    check_rehearsal_outputs(tmp_path, results, runs=4, tables=("table1", "table2"))
    assert not (results / "table3.csv").exists()
    assert sorted(p.name for p in (results / "eval" / "qwen2.5_3b_instruct").iterdir()) == [REHEARSED_DATASET]
    stand_in = results / "hub" / "checkpoints" / "qwen2.5_3b_instruct"  # its stored layout: checked run by run above
    assert load_processor(stand_in).chat_template == stock_chat_template(get_family("qwen2_5"))  # the hub's own
    report = json.loads((results / "data" / REHEARSED_DATASET / "filter_report.json").read_text())
    assert report["kept"] == 24 and sum(report["dropped"].values()) == 6

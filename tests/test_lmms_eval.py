"""The paper's harness for real: lmms-eval runs our tasks with our model class, offline on CPU, and
gives the hf backend's predictions and metrics; cells never mix; a failed run stops with its reason."""

import threading
from pathlib import Path

import pytest

from scale.eval.generate import evaluate
from scale.eval.lmms import LmmsEvalError
from scale.eval.score import score_file

SETTINGS = dict(batch_size=4, max_new_tokens=12)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="module")
def test_file(synthetic_dir):
    return synthetic_dir / "iconqa" / "test.jsonl"


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    from scale.models.tiny import build_stand_in

    return build_stand_in("qwen2_5_vl", tmp_path_factory.mktemp("stand_in") / "qwen2_5_vl",
                         sizes={"hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "num_heads": 2,
                                "num_kv_heads": 1, "vision_hidden_size": 32, "vision_layers": 1, "vision_heads": 2})


def cell(root: Path, name: str) -> Path:
    return root / "eval" / name / "iconqa" / "sft" / "seed0" / "predictions.jsonl"


@pytest.mark.parametrize("family", ["gemma3", "llava_next", "qwen2_5_vl stand-in"])
def test_lmms_eval_gives_the_hf_backends_predictions_and_metrics(tiny_models, stand_in, test_file, tmp_path, family):
    model = stand_in if family.endswith("stand-in") else tiny_models[family]
    paths = {}
    for backend in ("hf", "lmms_eval"):
        paths[backend] = evaluate(model, test_file, cell(tmp_path / backend, "m"), backend=backend, **SETTINGS)
        score_file(paths[backend], paths[backend].parent / "metrics.json", bootstrap=100)
    assert paths["lmms_eval"].read_text() == paths["hf"].read_text()
    assert (paths["lmms_eval"].parent / "metrics.json").read_text() == (paths["hf"].parent / "metrics.json").read_text()
    samples = list((paths["lmms_eval"].parent / "lmms_eval" / "out").rglob("*samples_scale_iconqa.jsonl"))
    assert len(samples) == 1  # lmms-eval itself ran our task and logged every record


def test_two_models_evaluated_at_once_never_mix_their_outputs(tiny_models, test_file, tmp_path):
    expected = {name: evaluate(tiny_models[name], test_file, cell(tmp_path / "hf", name), backend="hf",
                               **SETTINGS).read_text() for name in ("gemma3", "llava_next")}
    assert expected["gemma3"] != expected["llava_next"]
    errors = []

    def run(name):
        try:
            evaluate(tiny_models[name], test_file, cell(tmp_path, name), backend="lmms_eval", **SETTINGS)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("gemma3", "llava_next")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for name in ("gemma3", "llava_next"):
        assert cell(tmp_path, name).read_text() == expected[name], name
    # and in sequence, over the first cell's finished folder: it is emptied, never reused
    evaluate(tiny_models["llava_next"], test_file, cell(tmp_path, "gemma3"), backend="lmms_eval", **SETTINGS)
    assert cell(tmp_path, "gemma3").read_text() == expected["llava_next"]


def test_a_failing_lmms_eval_run_stops_with_its_reason(test_file, tmp_path):
    with pytest.raises(LmmsEvalError, match="lmms-eval") as failure:
        evaluate(tmp_path / "no-such-model", test_file, cell(tmp_path, "missing"), backend="lmms_eval", **SETTINGS)
    assert "no-such-model" in str(failure.value)
    assert not cell(tmp_path, "missing").exists()

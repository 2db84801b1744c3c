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


def assert_lmms_eval_is_the_hf_backend(hf: Path, lmms_eval: Path) -> None:
    """The two backends' predictions of one cell, byte for byte, and their metrics; lmms-eval itself ran our task
    and logged every record."""
    for predictions in (hf, lmms_eval):
        score_file(predictions, predictions.parent / "metrics.json", bootstrap=100)
    assert lmms_eval.read_text() == hf.read_text()
    assert (lmms_eval.parent / "metrics.json").read_text() == (hf.parent / "metrics.json").read_text()
    samples = list((lmms_eval.parent / "lmms_eval" / "out").rglob("*samples_scale_iconqa.jsonl"))
    assert len(samples) == 1


def test_lmms_eval_gives_the_hf_backends_predictions_and_metrics_on_a_real_vocabulary(stand_in, test_file, tmp_path):
    """Qwen2.5-VL's hub-shaped stand-in (Qwen2's real vocabulary); the tiny Gemma 3 and LLaVA-NeXT, below."""
    paths = {backend: evaluate(stand_in, test_file, cell(tmp_path / backend, "m"), backend=backend, **SETTINGS)
             for backend in ("hf", "lmms_eval")}
    assert_lmms_eval_is_the_hf_backend(paths["hf"], paths["lmms_eval"])


def test_two_models_evaluated_at_once_never_mix_their_outputs_and_each_gives_the_hf_backends(
    tiny_models, test_file, tmp_path
):
    names = ("gemma3", "llava_next")
    expected = {name: evaluate(tiny_models[name], test_file, cell(tmp_path / "hf", name), backend="hf", **SETTINGS)
                for name in names}
    assert expected["gemma3"].read_text() != expected["llava_next"].read_text()
    errors = []

    def run(name):
        try:
            evaluate(tiny_models[name], test_file, cell(tmp_path, name), backend="lmms_eval", **SETTINGS)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for name in names:  # each family's own outputs and metrics, the hf backend's
        assert_lmms_eval_is_the_hf_backend(expected[name], cell(tmp_path, name))
    # and in sequence, over the first cell's finished folder: it is emptied, never reused
    evaluate(tiny_models["llava_next"], test_file, cell(tmp_path, "gemma3"), backend="lmms_eval", **SETTINGS)
    assert cell(tmp_path, "gemma3").read_text() == expected["llava_next"].read_text()


def test_a_failing_lmms_eval_run_stops_with_its_reason(test_file, tmp_path):
    with pytest.raises(LmmsEvalError, match="lmms-eval") as failure:
        evaluate(tmp_path / "no-such-model", test_file, cell(tmp_path, "missing"), backend="lmms_eval", **SETTINGS)
    assert "no-such-model" in str(failure.value)
    assert not cell(tmp_path, "missing").exists()

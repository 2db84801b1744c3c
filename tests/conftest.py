"""Shared, session-scoped builds: importing transformers and building models costs seconds, so tests share them."""

import os
import re
from pathlib import Path

import pytest

from scale import numerics

# Each test process computes as a workflow job does, before anything imports torch: one thread, and the job's
# numeric code path (scale.numerics). Two pytest-xdist workers on two cores with torch's default of a thread a
# core ran four OpenMP threads on two cores, spinning while they waited for each other: the unit tests took
# 4.7 times as long, 6 times the CPU (benchmarks in docs/benchmarks.md). Jobs the tests start inherit both, and
# a stand-in a test builds is then the stand-in a rehearsal's job builds (one build-cache entry, built once).
# The path is the test configs' (configs/ci.yaml and the others the tests run): avx2, not the default portable,
# since the tests compare runs on one machine and MKL's AVX2 branch takes two thirds of COMPATIBLE's time.
CPU_CODE_PATH = "avx2"
os.environ.setdefault("OMP_NUM_THREADS", "1")
for name, value in numerics.pinned_environment(CPU_CODE_PATH)[0].items():
    os.environ.setdefault(name, value)

FAMILIES = ("qwen2_5_vl", "gemma3", "llava_next")
FORMAT_AND_LINT = ("test_lint_reports_nothing", "test_ruff_check_passes", "test_snakefmt_check_passes")


# The longest end-to-end module: it starts first, on one of pytest-xdist's two workers, while the other takes the
# lint and the unit tests and then the other end-to-end runs, so that the two end closer together.
LONGEST = "test_rehearsal.py"


def pytest_collection_modifyitems(config, items):
    """The fast checks first: lint and format, then the unit tests, then the end-to-end runs (``slow``), so a
    broken commit fails in seconds rather than after the rehearsal. Under pytest-xdist (``-n 2 --dist
    loadscope --no-loadscope-reorder``, pyproject.toml) each module runs on one worker, so a module fixture is
    built once, and modules start in the order their first test appears here: the rehearsal's first."""
    two_workers = bool(os.environ.get("PYTEST_XDIST_WORKER"))  # in one process (-n 0), lint stays first

    def order(item):
        if two_workers and item.path.name == LONGEST:
            return 0
        if item.originalname in FORMAT_AND_LINT:
            return 1
        return 3 if item.get_closest_marker("slow") else 2

    items.sort(key=order)


@pytest.fixture(scope="session", autouse=True)
def build_cache(tmp_path_factory):
    """One build cache for the session (``scale.build_cache``), in this process and every job it starts: a
    stand-in two tests or a test and a rehearsal ask for with the same settings is built and warmed up once.
    A cache the caller set is kept."""
    from scale.build_cache import ENVIRONMENT

    if os.environ.get(ENVIRONMENT):
        yield Path(os.environ[ENVIRONMENT])
        return
    # under pytest-xdist, one folder for all workers: beside their own temporary folders
    root = tmp_path_factory.getbasetemp()
    shared = root.parent / "build_cache" if os.environ.get("PYTEST_XDIST_WORKER") else root / "build_cache"
    shared.mkdir(exist_ok=True)
    os.environ[ENVIRONMENT] = str(shared)
    yield Path(os.environ[ENVIRONMENT])
    del os.environ[ENVIRONMENT]


def write_small_splits(root: Path, datasets: tuple[str, ...], think_ratio: float) -> Path:
    """24 training, 8 test and 16 warm-up records of each synthetic dataset, seed 0, under ``root/{dataset}``."""
    from scale.data.synthetic import write_split

    for dataset in datasets:
        for split, n in (("train", 24), ("test", 8), ("warmup", 16)):
            write_split(root / dataset, dataset, split, n, seed=0, think_ratio=think_ratio)
    return root


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """Small synthetic ScienceQA/IconQA datasets: {root}/{dataset}/{split}.jsonl + images/."""
    return write_small_splits(tmp_path_factory.mktemp("data"), ("scienceqa", "iconqa"), think_ratio=8)


@pytest.fixture(scope="session")
def text_dir(tmp_path_factory) -> Path:
    """Small synthetic text datasets (GSM8K- and AQuA-shaped, no pictures): {root}/{dataset}/{split}.jsonl."""
    return write_small_splits(tmp_path_factory.mktemp("text_data"), ("gsm8k", "aqua"), think_ratio=4)


@pytest.fixture(scope="session")
def text_stand_in(tmp_path_factory) -> Path:
    """A hub-shaped Qwen2.5 stand-in at the text rehearsal's sizes, warmed up as the rehearsal's is."""
    import yaml

    from scale.train.stand_in import build_warm_stand_in

    overlay = Path(__file__).resolve().parents[1] / "configs" / "text_rehearsal.yaml"
    settings = yaml.safe_load(overlay.read_text())["stand_ins"]["models"]
    return build_warm_stand_in("qwen2_5", tmp_path_factory.mktemp("text_stand_in") / "qwen2_5",
                               sizes=settings["sizes"], warmup=settings["warmup"])


@pytest.fixture(scope="session")
def text_vocabulary_stand_in(tmp_path_factory) -> Path:
    """A hub-shaped Qwen2.5 stand-in with Qwen2's real vocabulary (151,936 rows), one small layer, not warmed up."""
    from scale.models.tiny import build_stand_in

    sizes = {"hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "num_heads": 1, "num_kv_heads": 1}
    return build_stand_in("qwen2_5", tmp_path_factory.mktemp("vocabulary_stand_in") / "qwen2_5", sizes=sizes)


def first_records(synthetic_dir: Path, dataset: str, n: int, directory: Path) -> Path:
    """A training file of the first ``n`` records of a synthetic dataset, its pictures linked beside it."""
    path = directory / "train.jsonl"
    lines = (synthetic_dir / dataset / "train.jsonl").read_text().splitlines()[:n]
    path.write_text("\n".join(lines) + "\n")
    (directory / "images").symlink_to(synthetic_dir / dataset / "images")
    return path


def model_tensors(model_dir: Path) -> dict:
    """Every tensor a saved model holds, by its saved name (all safetensors shards)."""
    from safetensors.torch import load_file

    found = {}
    for file in sorted(Path(model_dir).glob("*.safetensors")):
        found.update(load_file(file))
    return found


# One thread on CPU: a resumed run, or two processes against one, is bitwise equal here, but the tests allow
# float32 rounding (atol 1e-6) so that a BLAS with other reduction orders passes too.
WEIGHT_ATOL = 1e-6


def assert_same_weights(a: dict, b: dict) -> None:
    """Two saved models' tensors (``model_tensors``) hold the same names and values, to float32 rounding."""
    import torch

    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=WEIGHT_ATOL, msg=key)


def weight_groups(names) -> set[str]:
    """Stored weight names as groups: a layer or block index and all after it become ``N``."""
    return {re.sub(r"\.\d+\..*", ".N", name) for name in names}


def hub_layout(family: str) -> set[str]:
    """The weight groups the family's real checkpoint stores (``fixtures/hub_layouts.json``, with its sources)."""
    import json

    return set(json.loads((Path(__file__).parent / "fixtures" / "hub_layouts.json").read_text())[family]["groups"])


def stand_in_sizes() -> dict:
    """The rehearsal's stand-in sizes: the one place they are set is its overlay."""
    import yaml

    overlay = Path(__file__).resolve().parents[1] / "configs" / "rehearsal.yaml"
    return yaml.safe_load(overlay.read_text())["stand_ins"]["models"]["sizes"]


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory) -> dict[str, Path]:
    """One hub-shaped stand-in per family, at the rehearsal's sizes."""
    from scale.models.tiny import build_stand_in

    root = tmp_path_factory.mktemp("stand_ins")
    return {family: build_stand_in(family, root / family, sizes=stand_in_sizes()) for family in FAMILIES}


@pytest.fixture(scope="session")
def corpus(synthetic_dir) -> list[str]:
    from scale.data.records import read_records
    from scale.models.tiny import tokenizer_corpus

    return tokenizer_corpus(r for p in sorted(synthetic_dir.glob("*/*.jsonl")) for r in read_records(p))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, corpus) -> dict[str, Path]:
    """One tiny model per family, default sizes, seed 0."""
    from scale.models.tiny import build_tiny

    root = tmp_path_factory.mktemp("models")
    return {family: build_tiny(family, root / family, corpus, seed=0) for family in FAMILIES}


def wording(question: str) -> str:
    """A question's wording: its last line (after ScienceQA's shared context line), with every colour,
    shape and number replaced by a placeholder."""
    from scale.data.scenes import COLOURS, SHAPES

    text = question.splitlines()[-1]
    text = re.sub(r"\b(" + "|".join(COLOURS) + r")\b", "<colour>", text)
    text = re.sub(r"\b(" + "|".join(SHAPES) + r")s?\b", "<shape>", text)
    return re.sub(r"\d+", "<n>", text)


def assert_base_never_sees_a_test_question(data_dir):
    """No warm-up record of any dataset there has a test question type or a test question's wording."""
    from scale.data.records import read_records

    datasets = sorted(p.parent for p in Path(data_dir).glob("*/warmup.jsonl"))
    warmup = [r for d in datasets for r in read_records(d / "warmup.jsonl")]
    test = [r for d in datasets for r in read_records(d / "test.jsonl")]
    assert warmup and test
    assert not {r["qtype"] for r in warmup} & {r["qtype"] for r in test}
    assert not {wording(r["question"]) for r in warmup} & {wording(r["question"]) for r in test}
    assert not {r["question"] for r in warmup} & {r["question"] for r in test}

"""Shared, session-scoped builds: importing transformers and building models costs seconds, so tests share them."""

from pathlib import Path

import pytest

FAMILIES = ("qwen2_5_vl", "gemma3", "llava_next")


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """Small synthetic ScienceQA/IconQA datasets: {root}/{dataset}/{split}.jsonl + images/."""
    from scale.data.synthetic import write_split

    root = tmp_path_factory.mktemp("data")
    for dataset in ("scienceqa", "iconqa"):
        for split, n in (("train", 24), ("test", 8), ("warmup", 16)):
            write_split(root / dataset, dataset, split, n, seed=0, think_ratio=8)
    return root


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

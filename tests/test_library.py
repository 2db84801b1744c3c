"""The loss as a library: what a researcher imports to put SCALe into their own TRL training needs only the
package's own dependencies (pyproject's ``dependencies``), none of the workflow's (Snakemake, pandas,
matplotlib, lmms-eval, ...)."""

import importlib.metadata as metadata
import subprocess
import sys
import sysconfig
from pathlib import Path

import tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ["scale.loss", "scale.schedule", "scale.segments", "scale.train.sft", "scale.train.collate"]


def own_dependencies() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def closure(requirements: list[str]) -> set[str]:
    """Every installed distribution the requirements pull in, extras and unmet markers aside."""
    environment = dict(default_environment(), extra="")
    found, pending = set(), [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found or (requirement.marker and not requirement.marker.evaluate(environment)):
            continue
        found.add(name)
        pending += [Requirement(r) for r in metadata.requires(name) or []]
    return found


def site_with_only(distributions: set[str], folder: Path) -> Path:
    """A folder that holds, as links into this environment's site-packages, the given distributions only."""
    site = Path(sysconfig.get_paths()["purelib"])
    folder.mkdir()
    for name in distributions:
        for file in metadata.distribution(name).files or []:
            top = Path(file).parts[0]
            if top not in ("..",) and not (folder / top).exists() and (site / top).exists():
                (folder / top).symlink_to(site / top)
    return folder


def test_the_scale_loss_and_trainer_import_with_the_packages_own_dependencies_alone(tmp_path):
    allowed = closure(own_dependencies())
    assert not {"snakemake", "pandas", "matplotlib", "lmms-eval", "scipy"} & allowed - closure(["trl"]), allowed
    site = site_with_only(allowed, tmp_path / "site")
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in LIBRARY) + (
        "from scale.train.sft import ScaleSFTTrainer\n"
        "from scale.train.grpo import ScaleGRPOTrainer\n"
        "import sys\n"
        "print(sorted({name.split('.')[0] for name in sys.modules}))\n")
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": f"{site}:{REPO}", "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(eval(result.stdout.strip().splitlines()[-1]))
    assert "scale" in loaded and not {"snakemake", "matplotlib", "lmms_eval"} & loaded


def test_the_fetch_rules_and_the_model_builders_import_nothing_of_training():
    """scale.hub runs on a cluster's login node (the fetch rules: fetch or build, never train), and scale.models
    builds what training starts from: neither pulls in scale.train (the stand-in warm-up is its own rule's)."""
    code = ("import sys, scale.hub, scale.models.tiny, scale.models.families\n"
            "print(sorted(m for m in sys.modules if m.startswith('scale.train')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"

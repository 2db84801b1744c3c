"""The README's code snippets run as written."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_scale_loss_snippet_in_readme_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    snippet = next(b for b in blocks if "scale_loss" in b)
    result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert re.match(r"SCALe \d+\.\d+  vanilla \d+\.\d+", result.stdout)

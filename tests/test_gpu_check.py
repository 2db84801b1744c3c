"""benchmarks/gpu_check.py, the prepared check for a GPU machine, runs here at toy sizes."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_gpu_check_runs_on_cpu_at_toy_sizes_and_reports_every_case():
    result = subprocess.run([sys.executable, str(SCRIPT), "--tiny"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"tokens"')]
    assert {(r["tokens"], r["loss"], r["path"]) for r in rows} == {
        (t, loss, path) for t in (64, 128) for loss in ("ce", "scale") for path in ("fused", "full_logits")}
    for row in rows:
        assert row["steps_per_s"] > 0 and row["loss_value"] > 0
    for fused in (r for r in rows if r["path"] == "fused"):  # the two paths train the same loss
        full = next(r for r in rows if (r["tokens"], r["loss"], r["path"]) == (fused["tokens"], fused["loss"],
                                                                                 "full_logits"))
        assert abs(fused["loss_value"] - full["loss_value"]) < 0.05 * full["loss_value"]
    assert '"tokens_per_s"' in result.stdout and "done in" in result.stdout

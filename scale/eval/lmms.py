"""The ``lmms_eval`` backend: run lmms-eval on the package's tasks and convert its samples to predictions.

lmms-eval exits 0 even when evaluation fails, so success is judged by its
sample log, never its exit code. It does not report why generation stopped;
converted predictions say ``stop`` unless the output reached the token limit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from scale.eval.predictions import prediction

TASK_DIR = Path(__file__).parent / "lmms_tasks"
MODEL_NAMES = {"qwen2_5_vl": "qwen2_5_vl", "gemma3": "gemma3", "llava_next": "llava_hf"}


def task_yaml(task: str, docs_path: Path, max_new_tokens: int) -> str:
    return "\n".join([
        f"task: {task}",
        "dataset_path: json",
        f"dataset_kwargs: {{data_files: {{test: {json.dumps(str(docs_path))}}}}}",
        "test_split: test",
        "output_type: generate_until",
        "doc_to_visual: !function scale_tasks.doc_to_visual",
        "doc_to_text: !function scale_tasks.doc_to_text",
        "doc_to_target: !function scale_tasks.doc_to_target",
        "process_results: !function scale_tasks.process_results",
        "generation_kwargs:",
        f"  max_new_tokens: {max_new_tokens}",
        "  temperature: 0",
        "  do_sample: false",
        "metric_list:",
        "  - metric: accuracy",
        "    aggregation: !function scale_tasks.mean",
        "    higher_is_better: true",
        "  - metric: invalid_rate",
        "    aggregation: !function scale_tasks.mean",
        "    higher_is_better: false",
        "",
    ])


def write_task(test_path: str | Path, out_dir: str | Path, task: str, max_new_tokens: int) -> Path:
    """An include directory for ``lmms-eval --include_path``: the task YAML, its functions, the docs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(test_path).resolve().parent
    docs = out_dir / f"{task}.jsonl"
    with open(test_path) as src, open(docs, "w") as dst:
        for line in src:
            if line.strip():
                record = json.loads(line)
                record["image_path"] = str(data_dir / record["image"]) if record.get("image") else None
                dst.write(json.dumps(record) + "\n")
    shutil.copyfile(TASK_DIR / "scale_tasks.py", out_dir / "scale_tasks.py")
    (out_dir / f"{task}.yaml").write_text(task_yaml(task, docs, max_new_tokens))
    return out_dir


def predictions_from_samples(samples_path: str | Path, count_tokens, max_new_tokens: int) -> list[dict]:
    """Our predictions from an lmms-eval ``*_samples_*.jsonl`` log (fields ``doc``, ``filtered_resps``/``resps``)."""
    rows = []
    for line in Path(samples_path).read_text().splitlines():
        if not line.strip():
            continue
        sample = json.loads(line)
        output = sample.get("filtered_resps") or sample.get("resps") or [""]
        while isinstance(output, list):
            output = output[0] if output else ""
        reason = "length" if count_tokens(output) >= max_new_tokens else "stop"
        rows.append(prediction(sample["doc"], output, reason, count_tokens))
    return rows


def lmms_generate(model_dir, test_path, items, max_new_tokens: int) -> list[dict]:
    from transformers import AutoTokenizer

    from scale.data.stats import token_counter
    from scale.models.families import family_of

    family = family_of(model_dir)
    work = Path(test_path).resolve().parent / ".lmms_eval"
    task = f"scale_{Path(test_path).resolve().parent.name}"
    write_task(test_path, work / "tasks", task, max_new_tokens)
    command = [sys.executable, "-m", "lmms_eval", "--model", MODEL_NAMES[family.name],
               "--model_args", f"pretrained={model_dir}", "--tasks", task, "--include_path", str(work / "tasks"),
               "--batch_size", "1", "--log_samples", "--output_path", str(work / "out")]
    subprocess.run(command, check=False)
    logs = sorted((work / "out").rglob(f"*samples_{task}*.jsonl"))
    if not logs:
        raise RuntimeError(f"lmms-eval wrote no samples for {task} (it exits 0 on failure); see its output above")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    rows = predictions_from_samples(logs[-1], token_counter(tokenizer), max_new_tokens)
    order = {record["id"]: i for i, (record, _) in enumerate(items)}
    return sorted((r for r in rows if r["id"] in order), key=lambda r: order[r["id"]])

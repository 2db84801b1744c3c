"""The ``lmms_eval`` backend: lmms-eval runs our tasks with our model class, one folder per cell.

Each evaluation (model, dataset, variant, seed) gets a folder of its own beside
its ``predictions.jsonl`` (``…/lmms_eval/``, emptied first): the task
definition, lmms-eval's logs and samples, and what the model class records of each generation.
Only that folder is read back, so two cells evaluated at once, or one after
another, never see each other's outputs, and a failed run never reuses a
stale log. lmms-eval can exit 0 after a failure, so success is judged by what
it wrote: exactly one samples file holding every test record once.

Task names (``scale_scienceqa_img``, ``scale_iconqa``) cannot clash with
lmms-eval's built-ins, which win a clash against ``--include_path``. The model
is ``scale_vlm`` (``scale.eval.lmms_model``): the ``hf`` backend's prompt, image
pipeline and generation, so both routes give the same outputs. Scoring is
``scale.answers`` on both sides: the tasks' ``process_results`` for lmms-eval's
own table, ``scale.eval.score`` for ``metrics.json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from scale.eval.predictions import prediction

PROMPT_KEYS = ("prompt_tokens", "prompt_sha256")

TASK_DIR = Path(__file__).parent / "lmms_tasks"
TASK_NAMES = {"scienceqa": "scale_scienceqa_img", "iconqa": "scale_iconqa"}
MODEL_NAME = "scale_vlm"


class LmmsEvalError(RuntimeError):
    """lmms-eval failed, or wrote no usable samples for the cell."""


def task_name(test_path: str | Path) -> str:
    """Our task for a test file (``…/data/{dataset}/test.jsonl``); never a built-in name."""
    dataset = Path(test_path).resolve().parent.name
    return TASK_NAMES.get(dataset, f"scale_{dataset}")


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
    """An include directory for ``--include_path``: the task YAML, its functions, and the docs (our test
    records with the folder their image paths are relative to, and the absolute image path)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(test_path).resolve().parent
    docs = out_dir / f"{task}.jsonl"
    with open(test_path) as src, open(docs, "w") as dst:
        for line in src:
            if line.strip():
                record = json.loads(line)
                record["data_dir"] = str(data_dir)
                record["image_path"] = str(data_dir / record["image"]) if record.get("image") else None
                dst.write(json.dumps(record) + "\n")
    shutil.copyfile(TASK_DIR / "scale_tasks.py", out_dir / "scale_tasks.py")
    (out_dir / f"{task}.yaml").write_text(task_yaml(task, docs, max_new_tokens))
    return out_dir


def sample_output(sample: dict) -> str:
    """The model's raw output: ``resps``, not ``filtered_resps`` (lmms-eval's filter strips whitespace)."""
    output = sample.get("resps", sample.get("filtered_resps", [""]))
    while isinstance(output, list):
        output = output[0] if output else ""
    return output


def predictions_from_samples(samples_path: str | Path, items, generated: dict[str, dict], count_tokens) -> list[dict]:
    """Our predictions, in the test file's order, from lmms-eval's samples log: ``doc_id`` is the row of
    the test file; every row exactly once, its ``target`` the row's gold answer (else the log is not ours).
    ``generated`` holds, per record id, what lmms-eval does not keep: why generation stopped and the
    prompt's fields (``scale.eval.predictions.prompt_fields``)."""
    samples: dict[int, dict] = {}
    for line in Path(samples_path).read_text().splitlines():
        if line.strip():
            sample = json.loads(line)
            if sample["doc_id"] in samples:
                raise LmmsEvalError(f"{samples_path}: doc {sample['doc_id']} appears twice")
            samples[sample["doc_id"]] = sample
    missing = [i for i in range(len(items)) if i not in samples]
    extra = sorted(set(samples) - set(range(len(items))))
    if missing or extra:
        raise LmmsEvalError(f"{samples_path}: {len(missing)} test record(s) missing (e.g. rows {missing[:3]}), "
                            f"{len(extra)} not in the test file (e.g. rows {extra[:3]})")
    rows = []
    for i, (record, _) in enumerate(items):
        sample = samples[i]
        if "target" in sample and str(sample["target"]) != record["answer"]:
            raise LmmsEvalError(f"{samples_path}: row {i} has target {sample['target']!r}, but record "
                                f"{record['id']!r} has gold {record['answer']!r}")
        known = generated.get(record["id"], {})
        prompt = {k: known[k] for k in PROMPT_KEYS} if all(k in known for k in PROMPT_KEYS) else None
        rows.append(prediction(record, sample_output(sample), known.get("finish_reason", "stop"), count_tokens, prompt))
    return rows


def lmms_generate(model_dir, test_path, items, out_path, batch_size: int = 16,
                  max_new_tokens: int = 1024) -> list[dict]:
    """Run lmms-eval on ``test_path`` with ``scale_vlm`` in the cell's own folder; our predictions."""
    import torch
    from transformers import AutoTokenizer

    from scale.data.stats import token_counter

    work = Path(out_path).resolve().parent / "lmms_eval"
    shutil.rmtree(work, ignore_errors=True)
    task = task_name(test_path)
    tasks_dir = write_task(test_path, work / "tasks", task, max_new_tokens)
    generated_file = work / "generation.jsonl"
    model_args = f"pretrained={Path(model_dir).resolve()},max_new_tokens={max_new_tokens},generation={generated_file}"
    command = [sys.executable, "-m", "scale.eval.lmms_run", "--model", MODEL_NAME, "--model_args", model_args,
               "--tasks", task, "--include_path", str(tasks_dir), "--batch_size", str(batch_size), "--log_samples",
               "--output_path", str(work / "out"), "--device", "cuda" if torch.cuda.is_available() else "cpu"]
    with open(work / "lmms_eval.log", "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    tail = (work / "lmms_eval.log").read_text()[-3000:]
    if result.returncode != 0:
        raise LmmsEvalError(f"lmms-eval exited with {result.returncode}; the end of {work / 'lmms_eval.log'}:\n{tail}")
    logs = sorted((work / "out").rglob(f"*samples_{task}*.jsonl"))
    if len(logs) != 1:
        raise LmmsEvalError(f"lmms-eval wrote {len(logs)} samples files for {task} (it can exit 0 after a failure); "
                            f"the end of {work / 'lmms_eval.log'}:\n{tail}")
    generated = {}
    if generated_file.exists():
        generated = {row["id"]: row for row in map(json.loads, generated_file.read_text().splitlines())}
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return predictions_from_samples(logs[0], items, generated, token_counter(tokenizer))

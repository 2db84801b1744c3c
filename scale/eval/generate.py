"""Generation backends behind one interface, each writing ``predictions.jsonl``.

* ``hf``: batched greedy generation with left padding and the KV cache, prompts
  sorted by length so batches waste little padding. Tiny models on CPU, any model on GPU.
* ``vllm``: the same prompts through vLLM at temperature 0 (imported only when chosen).
* ``lmms_eval``: lmms-eval with our tasks and our model class, which runs
  ``hf_generate`` (see ``scale.eval.lmms``): the paper's harness, same outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from scale.data.records import load_image, read_items
from scale.data.stats import token_counter
from scale.eval.predictions import prediction, write_predictions
from scale.prompts import prompt_messages

BACKENDS = ("hf", "vllm", "lmms_eval")


def hf_generate(model_dir, items: list[tuple[dict, Path]], batch_size: int = 16, max_new_tokens: int = 1024,
                device: str | None = None, progress: bool = True) -> list[dict]:
    """Greedy predictions for ``items``, in the items' order."""
    import torch
    from tqdm.auto import tqdm

    from scale.models.families import load_model, load_processor

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    processor = load_processor(model_dir)
    model = load_model(model_dir, dtype=torch.bfloat16 if device == "cuda" else torch.float32).to(device).eval()
    tokenizer = processor.tokenizer
    prompts = [
        processor.apply_chat_template(prompt_messages(r), tokenize=False, add_generation_prompt=True)
        for r, _ in items
    ]
    count_tokens = token_counter(tokenizer)
    lengths = [count_tokens(p) for p in prompts]
    order = sorted(range(len(items)), key=lambda i: (lengths[i], i))
    stop_ids = model.generation_config.eos_token_id
    stop_ids = set(stop_ids if isinstance(stop_ids, list) else [stop_ids])
    results: dict[int, dict] = {}
    bar = tqdm(total=len(items), desc="generate", unit="sample", disable=not progress)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        images = [load_image(*items[i]) for i in batch]
        inputs = processor(
            text=[prompts[i] for i in batch],
            # one list per sample (Gemma 3 insists); a text-only batch passes none
            images=[[im] if im is not None else [] for im in images] if any(images) else None,
            padding=True, padding_side="left", return_tensors="pt", add_special_tokens=False,
        ).to(device)
        with torch.inference_mode():
            generated = model.generate(
                **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        new_tokens = generated[:, inputs["input_ids"].shape[1]:].tolist()
        for i, tokens in zip(batch, new_tokens):
            ended = next((k for k, t in enumerate(tokens) if t in stop_ids), None)
            kept = tokens if ended is None else tokens[:ended]
            output = tokenizer.decode(kept, skip_special_tokens=True)
            reason = "stop" if ended is not None else "length"
            results[i] = prediction(items[i][0], output, reason, count_tokens)
        bar.update(len(batch))
    bar.close()
    return [results[i] for i in range(len(items))]


def vllm_request(prompt: str, image, max_new_tokens: int) -> tuple[dict, dict]:
    """The prompt dict and sampling settings handed to vLLM (greedy, as in the paper)."""
    request = {"prompt": prompt}
    if image is not None:
        request["multi_modal_data"] = {"image": image}
    return request, {"temperature": 0.0, "max_tokens": max_new_tokens}


def vllm_generate(model_dir, items, max_new_tokens: int = 1024, **llm_kwargs) -> list[dict]:
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams  # the vllm conda env only

    from scale.models.families import load_processor

    processor = load_processor(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    requests, sampling = [], None
    for record, data_dir in items:
        prompt = processor.apply_chat_template(prompt_messages(record), tokenize=False, add_generation_prompt=True)
        request, sampling = vllm_request(prompt, load_image(record, data_dir), max_new_tokens)
        requests.append(request)
    llm = LLM(model=str(model_dir), **llm_kwargs)
    outputs = llm.generate(requests, SamplingParams(**(sampling or {"temperature": 0.0})))
    count_tokens = token_counter(tokenizer)
    return [
        prediction(record, out.outputs[0].text, "length" if out.outputs[0].finish_reason == "length" else "stop",
                   count_tokens)
        for (record, _), out in zip(items, outputs)
    ]


def evaluate(model_dir, test_path, out_path, backend: str = "hf", batch_size: int = 16,
             max_new_tokens: int = 1024, limit: int | None = None) -> Path:
    """Generate for every record of ``test_path`` and write ``out_path`` (predictions.jsonl)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
    items = read_items(test_path)[:limit]
    if backend == "hf":
        rows: Iterable[dict] = hf_generate(model_dir, items, batch_size, max_new_tokens)
    elif backend == "vllm":
        rows = vllm_generate(model_dir, items, max_new_tokens)
    else:
        from scale.eval.lmms import lmms_generate

        rows = lmms_generate(model_dir, test_path, items, out_path, batch_size, max_new_tokens)
    write_predictions(out_path, rows)
    return Path(out_path)

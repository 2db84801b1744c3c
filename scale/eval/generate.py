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

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig

from scale.data.records import load_image, read_items
from scale.data.stats import token_counter
from scale.eval.predictions import prediction, prompt_fields, write_predictions
from scale.models.families import load_model, load_processor, tokenizer_of
from scale.prompts import prompt_messages

BACKENDS = ("hf", "vllm", "lmms_eval")


def stop_ids_of(model_dir) -> set[int]:
    """The token ids that end a response: the generation config's end-of-turn ids (what both backends stop on)."""
    stop = GenerationConfig.from_pretrained(str(model_dir)).eos_token_id
    return set(stop if isinstance(stop, list) else [stop])


def decode_completion(tokens: list[int], stop_ids: set[int], tokenizer) -> tuple[str, str]:
    """(text, finish reason) of generated ``tokens``: cut at the first stop id, decoded whole without
    special tokens; ``"length"`` when no stop id came. Every backend decodes this one way."""
    ended = next((k for k, t in enumerate(tokens) if t in stop_ids), None)
    kept = tokens if ended is None else tokens[:ended]
    return tokenizer.decode(kept, skip_special_tokens=True), "stop" if ended is not None else "length"


def prompt_texts(processor, items: list[tuple[dict, Path]], build_messages=prompt_messages) -> list[str]:
    """The chat-rendered prompt of every record (the paper's instruction, unless ``build_messages`` asks
    otherwise; the template writes BOS)."""
    return [processor.apply_chat_template(build_messages(r), tokenize=False, add_generation_prompt=True)
            for r, _ in items]


def hf_generate(model_dir, items: list[tuple[dict, Path]], batch_size: int = 16, max_new_tokens: int = 1024,
                device: str | None = None, progress: bool = True, build_messages=prompt_messages) -> list[dict]:
    """Greedy predictions for ``items``, in the items' order (prompts from ``build_messages``)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    processor = load_processor(model_dir)
    model = load_model(model_dir, dtype=torch.bfloat16 if device == "cuda" else torch.float32).to(device).eval()
    tokenizer = tokenizer_of(processor)
    prompts = prompt_texts(processor, items, build_messages)
    count_tokens = token_counter(tokenizer)
    lengths = [count_tokens(p) for p in prompts]
    order = sorted(range(len(items)), key=lambda i: (lengths[i], i))
    stop_ids = stop_ids_of(model_dir)
    results: dict[int, dict] = {}
    bar = tqdm(total=len(items), desc="generate", unit="sample", disable=not progress)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        images = [load_image(*items[i]) for i in batch]
        # one list per sample (Gemma 3 insists); a text-only batch passes none, and a text model takes no images
        pictures = {"images": [[im] if im is not None else [] for im in images] if any(images) else None}
        inputs = processor(
            text=[prompts[i] for i in batch], **(pictures if processor is not tokenizer else {}),
            padding=True, padding_side="left", return_tensors="pt", add_special_tokens=False,
        ).to(device)
        with torch.inference_mode():
            generated = model.generate(
                **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        new_tokens = generated[:, inputs["input_ids"].shape[1]:].tolist()
        for row, (i, tokens) in enumerate(zip(batch, new_tokens)):
            output, reason = decode_completion(tokens, stop_ids, tokenizer)
            prompt_ids = inputs["input_ids"][row][inputs["attention_mask"][row].bool()].tolist()  # no padding
            results[i] = prediction(items[i][0], output, reason, count_tokens, prompt_fields(prompt_ids))
        bar.update(len(batch))
    bar.close()
    return [results[i] for i in range(len(items))]


def vllm_prompts(processor, items: list[tuple[dict, Path]]) -> list[dict]:
    """What vLLM is handed per record: the prompt's token ids as the ``hf`` backend tokenizes its text (no
    special tokens added: the chat template already wrote BOS), each image placeholder unexpanded, and the
    picture; vLLM expands the placeholders as the family's processor does."""
    requests = []
    for (record, data_dir), text in zip(items, prompt_texts(processor, items)):
        request = {"prompt_token_ids": tokenizer_of(processor)(text, add_special_tokens=False)["input_ids"]}
        image = load_image(record, data_dir)
        if image is not None:
            request["multi_modal_data"] = {"image": image}
        requests.append(request)
    return requests


def vllm_generate(model_dir, items: list[tuple[dict, Path]], batch_size: int = 16,
                  max_new_tokens: int = 1024) -> list[dict]:
    """Greedy predictions for ``items`` through vLLM (its CUDA platform on the cluster, its CPU build in the
    rehearsal): the ``hf`` backend's prompts, stop ids and decoding, in the items' order."""
    from scale import vllm_cpu

    vllm_cpu.prepare()
    from vllm import LLM, SamplingParams  # the vLLM envs only

    processor = load_processor(model_dir)
    tokenizer = tokenizer_of(processor)
    stop_ids = stop_ids_of(model_dir)
    pictures = {} if processor is tokenizer else {"limit_mm_per_prompt": {"image": 1}}
    llm = LLM(model=str(model_dir), max_num_seqs=batch_size, seed=0, **pictures, **vllm_cpu.engine_kwargs())
    sampling = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop_token_ids=sorted(stop_ids),
                              detokenize=False)  # decoded below, as the hf backend decodes
    outputs = llm.generate(vllm_prompts(processor, items), sampling)
    count_tokens = token_counter(tokenizer)
    rows = []
    for (record, _), out in zip(items, outputs):
        output, reason = decode_completion(list(out.outputs[0].token_ids), stop_ids, tokenizer)
        rows.append(prediction(record, output, reason, count_tokens, prompt_fields(out.prompt_token_ids)))
    return rows


def evaluate(model_dir, test_path, out_path, backend: str = "hf", batch_size: int = 16,
             max_new_tokens: int = 1024, limit: int | None = None) -> Path:
    """Generate for every record of ``test_path`` and write ``out_path`` (predictions.jsonl)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
    items = read_items(test_path)[:limit]
    if backend == "hf":
        rows: Iterable[dict] = hf_generate(model_dir, items, batch_size, max_new_tokens)
    elif backend == "vllm":
        rows = vllm_generate(model_dir, items, batch_size, max_new_tokens)
    else:
        from scale.eval.lmms import lmms_generate

        rows = lmms_generate(model_dir, test_path, items, out_path, batch_size, max_new_tokens)
    write_predictions(out_path, rows)
    return Path(out_path)

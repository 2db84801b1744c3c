"""Our model class for lmms-eval: the ``hf`` backend's generation behind lmms-eval's model interface.

lmms-eval's own classes build their own prompts (its Gemma 3 class adds a
system message, its Qwen2.5-VL class caps image pixels, stop strings differ),
so a model trained with ``scale.prompts`` would be tested on another prompt and
another picture. ``ScaleVLM`` takes every request's doc (our test record),
orders them as the test file does, and runs ``scale.eval.generate.hf_generate``
on all of them at once: the same prompt, image pipeline, batches and greedy
decoding as the ``hf`` backend, so both routes give the same outputs. lmms-eval
does not keep why generation stopped or what the prompt was, so the class writes
each record's ``finish_reason`` and prompt fields to the ``generation`` file named
in its model arguments.

Registered by ``scale.eval.lmms_run`` (and the ``lmms_eval.models`` entry point
of an installed ``scale-sft``) under the name ``scale_vlm``.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmms_eval.api.model import lmms

RECORD_FIELDS = ("id", "image", "question", "choices", "answer", "source", "qtype")


class ScaleVLM(lmms):
    is_simple = True

    def __init__(self, pretrained: str, batch_size: int | str = 16, max_new_tokens: int | str = 1024,
                 generation: str | None = None, **kwargs) -> None:
        super().__init__()
        self.pretrained = pretrained
        self.generation_batch_size = int(batch_size)
        self.max_new_tokens = int(max_new_tokens)
        self.generation = Path(generation) if generation else None

    def generate_until(self, requests) -> list[str]:
        from scale.eval.generate import hf_generate

        # args: (context, gen_kwargs, doc_to_visual, doc_id, task, split); doc_id is the test file's row
        order = sorted(range(len(requests)), key=lambda i: (requests[i].args[4], requests[i].args[3]))
        items = []
        for i in order:
            _, _, _, doc_id, task, split = requests[i].args
            doc = self.task_dict[task][split][doc_id]
            items.append(({k: doc[k] for k in RECORD_FIELDS}, Path(doc["data_dir"])))
        rows = hf_generate(self.pretrained, items, self.generation_batch_size, self.max_new_tokens)
        if self.generation is not None:
            with open(self.generation, "a") as out:
                for row in rows:
                    kept = ("id", "finish_reason", "prompt_tokens", "prompt_sha256")
                    out.write(json.dumps({k: row[k] for k in kept}) + "\n")
        outputs = [""] * len(requests)
        for i, row in zip(order, rows):
            outputs[i] = row["output"]
        return outputs

    def loglikelihood(self, requests):
        raise NotImplementedError("scale_vlm answers generation tasks only")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("scale_vlm answers single-turn generation tasks only")


def manifest():
    """The ``lmms_eval.models`` entry point's payload."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id="scale_vlm", simple_class_path="scale.eval.lmms_model.ScaleVLM")

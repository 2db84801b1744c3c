"""Run by ``tests/test_vllm.py`` with the vLLM environment's Python, once a session: every check there that needs
vLLM's engine, in one process (each process that imports vLLM, TRL and torch costs about 20 s here).

* ``sync``: GRPO with vLLM colocated, then every weight vLLM holds one to one is read back and compared with the
  trained policy's;
* ``evaluate``: the ``vllm`` backend's predictions (``scale.eval.generate.evaluate``, what ``scale evaluate``
  runs), written to ``out``;
* ``shim``: what ``scale.vllm_cpu`` patches on a CPU and off one.

    python tests/vllm_checks.py JOBS_JSON   → one JSON line per job on stdout, in order

JOBS_JSON: a list of ``{"check": "sync", "model", "train", "out", "max_completion_length"}`` and
``{"check": "evaluate", "model", "test", "out", "batch_size", "max_new_tokens"}`` and ``{"check": "shim"}``
(``scale.vllm_cpu`` on and off a CPU; first), each with an optional
``name`` that only the caller reads.
"""

import gc
import json
import sys


def sync(model: str, train: str, out: str, max_completion_length: int = 8) -> dict:
    import torch

    from scale.models.families import load_model
    from scale.models.stored_layout import StoredNames
    from scale.rewards import completion_text
    from scale.train import driver

    # a stand-in's completions barely differ in the paper's rewards: reward their lengths, so weights move
    driver.format_reward_func = lambda completions, **kw: [float(len(completion_text(c)) % 5) for c in completions]
    trainers = []
    trainer_class = driver.ScaleGRPOTrainer

    class Recording(trainer_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            trainers.append(self)

    driver.ScaleGRPOTrainer = Recording
    training = {"max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 4,
                "max_completion_length": int(max_completion_length),
                "learning_rate": 1e-2, "logging_steps": 1, "save_steps": 1000, "disable_tqdm": True, "bf16": False}
    try:
        summary = driver.train_grpo(model, train, out, training=training, use_vllm=True, seed=0)
    finally:
        driver.ScaleGRPOTrainer = trainer_class
    trainer = trainers[0]
    trainer.vllm_generation.sync_weights()  # what every step's generation starts with: the policy as it is now
    engine_model = trainer.vllm_generation.llm.llm_engine.model_executor.driver_worker.model_runner.model
    held = dict(engine_model.named_parameters())
    stored, start = StoredNames(trainer.model), dict(load_model(model).named_parameters())
    compared, moved, different = [], [], []
    mapper = getattr(engine_model, "hf_to_vllm_mapper", None)  # VLMs rename; a text model's names are vLLM's
    for name, weight in trainer.model.named_parameters():
        engine_name = mapper._map_name(stored(name)) if mapper is not None else stored(name)
        if engine_name not in held:
            continue  # fused in vLLM (q/k/v, gate/up): no one-to-one counterpart
        engine_weight = held[engine_name].detach()
        padded_vocabulary = ("embed_tokens" in engine_name or "lm_head" in engine_name) and (
            engine_weight.shape[1:] == weight.shape[1:] and engine_weight.shape[0] > weight.shape[0])
        if padded_vocabulary:  # vLLM pads an embedding's rows to a multiple of its tile
            engine_weight = engine_weight[: weight.shape[0]]
        if engine_weight.shape != weight.shape:
            continue
        compared.append(engine_name)
        # vLLM holds them in its own dtype (bf16 on a CPU: TRL leaves vLLM's choice): the policy's, cast
        if not torch.equal(engine_weight, weight.detach().to(engine_weight.dtype)):
            gap = (engine_weight.float() - weight.detach().float()).abs().max().item()
            different.append(f"{engine_name} ({held[engine_name].dtype}, max difference {gap:.3g})")
        if not torch.equal(start[name], weight.detach()):
            moved.append(engine_name)
    return {"weights_moved": summary["weights_moved"], "compared": compared, "moved": moved, "different": different}


def evaluate(model: str, test: str, out: str, batch_size: int, max_new_tokens: int) -> dict:
    """Also returns the processes this one had started when vLLM began generating (its engine core and
    worker, were they processes of their own; Python's resource tracker aside)."""
    import psutil
    from vllm import LLM

    from scale.eval.generate import evaluate

    started, generate = [], LLM.generate

    def recording(self, *args, **kwargs):
        started.extend(" ".join(child.cmdline())[:160] for child in psutil.Process().children(recursive=True)
                       if "resource_tracker" not in " ".join(child.cmdline()))
        return generate(self, *args, **kwargs)

    LLM.generate = recording
    try:
        evaluate(model, test, out, backend="vllm", batch_size=batch_size, max_new_tokens=max_new_tokens)
    finally:
        LLM.generate = generate
    return {"out": out, "engine_processes": started}


def shim() -> dict:
    """``scale.vllm_cpu`` patches vLLM only where vLLM runs on a CPU: told it is not on one, it patches nothing and
    asks for no engine settings; told it is, it patches the CPU matmul dispatch and asks for float32. Run first,
    before any check has prepared vLLM; both are put back after."""
    from vllm.model_executor.layers import utils
    from vllm.platforms import current_platform

    from scale import vllm_cpu

    original, is_cpu = utils.dispatch_cpu_unquantized_gemm, current_platform.is_cpu
    try:
        current_platform.is_cpu = lambda: False
        off = {"prepared": vllm_cpu.prepare(), "patched": utils.dispatch_cpu_unquantized_gemm is not original,
               "engine_kwargs": vllm_cpu.engine_kwargs()}
        current_platform.is_cpu = lambda: True
        on = {"prepared": vllm_cpu.prepare(), "patched": utils.dispatch_cpu_unquantized_gemm is not original,
              "engine_kwargs": vllm_cpu.engine_kwargs()}
    finally:
        current_platform.is_cpu, utils.dispatch_cpu_unquantized_gemm = is_cpu, original
    return {"off_a_cpu": off, "on_a_cpu": on}


CHECKS = {"sync": sync, "evaluate": evaluate, "shim": shim}


def main(jobs: str) -> None:
    for job in json.loads(jobs):
        settings = {key: value for key, value in job.items() if key not in ("check", "name")}
        print(json.dumps({"check": job["check"], **CHECKS[job["check"]](**settings)}), flush=True)
        gc.collect()  # the job's engine and its KV cache go before the next one starts


if __name__ == "__main__":
    main(sys.argv[1])

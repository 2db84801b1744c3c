"""TRL's fused LM head scores only the labelled positions on a CPU too, as it does on a GPU.

TRL 1.16's ``add_fused_lm_head`` projects only the positions whose label is not -100 where its Triton kernels
run; on any other device it projects every position (the prompt, a VLM's image tokens, the padding) and zeroes
the masked ones afterwards, so that a compiling backend (Neuron) sees one tile shape per batch size. A CPU
compiles nothing, and there the masked positions are most of the head's cost: on one thread, a 151,936-row
head's forward and backward over four 300-token prompts and their 128-token completions took 6.6x as long as
over the completions alone (``benchmarks/bench_fused_head.py``). The labelled positions' outputs agree to float
rounding, not bit for bit: the BLAS blocks a matrix product by its row count, so the default's warm-ups, and so
its Table 1, moved with this change. TRL picks the compact path through ``trl.trainer.utils._use_triton``, which
alone is widened here, not the kernel choice (``trl.kernels.chunked_logprob`` keeps its own)."""

from __future__ import annotations

import torch
from trl.trainer import utils as trl_utils

_TRL_CHOICE = trl_utils._use_triton


def _compact(device: torch.device) -> bool:
    return device.type == "cpu" or _TRL_CHOICE(device)


def score_labelled_positions_only() -> None:
    """From now on, TRL's fused head projects only labelled positions on a CPU too (idempotent)."""
    trl_utils._use_triton = _compact

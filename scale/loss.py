"""Vanilla token-mean cross-entropy and the SCALe loss (paper eqs. 1, 2 and 4), and beside them the field's
other answers to long traces: per-sample means (length-normalised SFT) and DFT (Dynamic Fine-Tuning).

Conventions, as in Hugging Face causal LMs:

* ``logits``: ``[B, T, V]``, any float dtype; cross-entropy is computed in fp32.
* ``labels``: ``[B, T]`` aligned with ``input_ids``; ``-100`` means "no loss".
  The functions shift by one internally (position ``t`` predicts ``t + 1``).
* ``segments``: ``[B, T]`` aligned like ``labels``, values of ``scale.segments.Segment``.

Both losses share one ``cross_entropy(reduction="none")`` pass; SCALe then sums
per (sample, segment) with one ``scatter_add``. No Python loop over samples or
tokens, and no copy of the logits beyond the fp32 upcast vanilla HF also does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scale.segments import Segment

IGNORE_INDEX = -100


def _shift_left(tensor: torch.Tensor, fill: int) -> torch.Tensor:
    """``tensor[:, 1:]`` padded back to length T, so logits need no slicing (slicing copies them)."""
    return F.pad(tensor, (0, 1), value=fill)[:, 1:]


def token_ce(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token cross-entropy (at least fp32) ``[B, T]`` (0 where ignored) and the target mask ``[B, T]``."""
    batch, length, vocab = logits.shape
    targets = _shift_left(labels, IGNORE_INDEX)
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # fp32 accumulation; float32/float64 stay as they are
    ce = F.cross_entropy(
        logits.reshape(batch * length, vocab),
        targets.reshape(-1).to(logits.device),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(batch, length)
    return ce, targets != IGNORE_INDEX


def _zero_like_graph(logits: torch.Tensor) -> torch.Tensor:
    """A zero loss still attached to the graph, so backward() works on an all-ignored batch."""
    return logits.sum().float() * 0.0


def vanilla_ce(
    logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. 1: mean CE over every non-ignored target token of the batch.

    With ``num_items_in_batch`` (the target-token count of the whole accumulated
    batch, as HF's Trainer passes it) the sum is divided by that instead.
    """
    ce, target_mask = token_ce(logits, labels)
    if num_items_in_batch is None and not target_mask.any():
        return _zero_like_graph(logits)
    return vanilla_ce_from_token_ce(ce, target_mask, num_items_in_batch)


def vanilla_ce_from_token_ce(
    ce: torch.Tensor, target_mask: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. 1 from a precomputed ``token_ce``: its sum over the batch's (or ``num_items_in_batch``) target tokens."""
    count = target_mask.sum() if num_items_in_batch is None else num_items_in_batch
    return ce.sum() / (count.clamp(min=1) if isinstance(count, torch.Tensor) else max(count, 1))


def sample_mean_from_token_ce(
    ce: torch.Tensor, target_mask: torch.Tensor, num_samples: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Per-sample means: each sample's mean CE over its own target tokens, averaged over the samples that have
    one. As length-independent as SCALe, with no segments: beside SCALe it separates length independence from
    the think/answer balance. ``num_samples`` (the global batch's samples with a target token) as in
    ``scale_loss``."""
    counts = target_mask.sum(dim=1)
    per_sample = ce.sum(dim=1) / counts.clamp(min=1)
    if num_samples is None:
        num_samples = (counts > 0).sum()
        if int(num_samples) == 0:
            return ce.sum() * 0.0
    return per_sample.sum() / num_samples


def dft_from_token_ce(
    ce: torch.Tensor, target_mask: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """DFT (Dynamic Fine-Tuning, arXiv 2508.05629): each token's CE times its own probability, detached, in one
    token mean (eq. 1's normalisation). A token the model finds unlikely weighs little: the gradient of
    ``p·(−log p)`` with p held constant."""
    return vanilla_ce_from_token_ce(ce * torch.exp(-ce.detach()), target_mask, num_items_in_batch)


def segment_sums(
    ce: torch.Tensor, target_mask: torch.Tensor, segments: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample CE sums and token counts by segment, each ``[B, 3]`` indexed by ``Segment``.

    ``segments`` is aligned with labels (unshifted); non-target tokens fall into IGNORE.
    """
    shifted = _shift_left(segments.to(ce.device).long(), int(Segment.IGNORE))
    index = torch.where(target_mask, shifted, torch.zeros_like(shifted))
    sums = ce.new_zeros(ce.shape[0], len(Segment)).scatter_add_(1, index, ce)
    counts = ce.new_zeros(ce.shape[0], len(Segment)).scatter_add_(1, index, target_mask.to(ce.dtype))
    return sums, counts


def scale_loss_from_token_ce(
    ce: torch.Tensor,
    target_mask: torch.Tensor,
    segments: torch.Tensor,
    w_think: float,
    w_answer: float,
    num_samples: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """The SCALe loss from a precomputed ``token_ce`` (lets a trainer log and train from one pass)."""
    sums, counts = segment_sums(ce, target_mask, segments)
    means = sums / counts.clamp(min=1.0)  # an empty segment has sum 0, so its mean is 0
    think, answer = int(Segment.THINK), int(Segment.ANSWER)
    per_sample = w_think * means[:, think] + w_answer * means[:, answer]
    if num_samples is None:
        has_target = (counts[:, think] + counts[:, answer]) > 0
        num_samples = has_target.sum()
        if int(num_samples) == 0:
            return ce.sum() * 0.0
    return per_sample.sum() / num_samples


def scale_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    segments: torch.Tensor,
    w_think: float,
    w_answer: float,
    num_samples: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Eqs. 2 and 4: per sample ``w_think·mean_CE(THINK) + w_answer·mean_CE(ANSWER)``, averaged.

    Each segment's CE is a mean over its own tokens, so a long reasoning trace
    does not drown the short answer. A segment with no target tokens in a sample
    contributes 0 for that sample. The result is the mean over samples that have
    at least one THINK or ANSWER target token (0, attached to the graph, if none).

    With gradient accumulation or several processes, pass ``num_samples``, the
    number of such samples in the *global* batch: the sum over this micro-batch
    is divided by it, so accumulated micro-batches add up to the global mean.
    """
    ce, target_mask = token_ce(logits, labels)
    return scale_loss_from_token_ce(ce, target_mask, segments, w_think, w_answer, num_samples)


def segment_means_from_token_ce(
    ce: torch.Tensor, target_mask: torch.Tensor, segments: torch.Tensor
) -> dict[str, float | int | None]:
    """Token-mean CE of each segment over the batch (detached), and the token counts."""
    with torch.no_grad():
        sums, counts = segment_sums(ce.detach(), target_mask, segments)
        sums, counts = sums.sum(0), counts.sum(0)
    result: dict[str, float | int | None] = {}
    for segment in (Segment.THINK, Segment.ANSWER):
        name = segment.name.lower()
        n = int(counts[segment].item())
        result[f"{name}_ce"] = float(sums[segment].item()) / n if n else None
        result[f"{name}_tokens"] = n
    return result


def segment_means(
    logits: torch.Tensor, labels: torch.Tensor, segments: torch.Tensor
) -> dict[str, float | int | None]:
    """``{"think_ce", "answer_ce", "think_tokens", "answer_tokens"}`` for logging.

    Any run (vanilla or SCALe) can log both curves. A segment with no tokens in
    the batch has CE ``None`` rather than NaN, so it serialises to JSON ``null``.
    """
    with torch.no_grad():
        ce, target_mask = token_ce(logits.detach(), labels)
    return segment_means_from_token_ce(ce, target_mask, segments)

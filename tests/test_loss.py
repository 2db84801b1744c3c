"""scale.loss: vanilla token-mean CE, the SCALe loss, per-sample means and DFT, against hand values and a slow
reference."""

import math

import pytest
import torch

from scale.loss import dft_from_token_ce, sample_mean_from_token_ce, scale_loss, segment_means, token_ce, vanilla_ce
from scale.segments import Segment

I, T, A = int(Segment.IGNORE), int(Segment.THINK), int(Segment.ANSWER)
V = 5


def logits_giving(ces: list[list[float]], labels: torch.Tensor) -> torch.Tensor:
    """Logits whose CE at the position predicting labels[b, t+1] is ces[b][t] (HF shift)."""
    batch, length = labels.shape
    logits = torch.zeros(batch, length, V, dtype=torch.float64)
    for b in range(batch):
        for t in range(length - 1):
            target = int(labels[b, t + 1])
            ce = ces[b][t]
            if target < 0 or ce is None:
                continue
            # target logit 0, others y: ce = log(1 + (V-1) e^y)
            other = math.log((math.exp(ce) - 1.0) / (V - 1))
            logits[b, t] = other
            logits[b, t, target] = 0.0
    return logits


# Sample 0: think CEs 1,1,1,3 (mean 1.5), answer CE 2. Sample 1: think CEs 0.5, 1.5 (mean 1),
# no answer tokens. Sample 2: only padding. Position 0 of each row is the prompt (ignored).
LABELS = torch.tensor(
    [
        [-100, 1, 2, 3, 4, 0],
        [-100, 1, 2, -100, -100, -100],
        [-100, -100, -100, -100, -100, -100],
    ]
)
SEGMENTS = torch.tensor(
    [
        [I, T, T, T, T, A],
        [I, T, T, A, A, A],  # segment values under -100 labels must not matter
        [I, I, I, I, I, I],
    ]
)
CES = [[1.0, 1.0, 1.0, 3.0, 2.0], [0.5, 1.5, None, None, None], [None] * 5]
LOGITS = logits_giving(CES, LABELS)


def test_token_ce_reproduces_the_constructed_values():
    ce, mask = token_ce(LOGITS, LABELS)
    assert mask.sum() == 7
    assert ce[0, :5].tolist() == pytest.approx([1.0, 1.0, 1.0, 3.0, 2.0])
    assert ce[1, :2].tolist() == pytest.approx([0.5, 1.5])


def test_the_sample_loss_is_the_mean_over_samples_of_each_samples_token_mean():
    ce, mask = token_ce(LOGITS, LABELS)
    # sample 0: (1+1+1+3+2)/5 = 1.6; sample 1: (0.5+1.5)/2 = 1; sample 2 has no target and does not count
    assert sample_mean_from_token_ce(ce, mask).item() == pytest.approx((1.6 + 1.0) / 2)
    # with the global batch's sample count (here 4: two more samples in another micro-batch) it divides by that
    assert sample_mean_from_token_ce(ce, mask, torch.tensor(4)).item() == pytest.approx((1.6 + 1.0) / 4)
    empty = LOGITS[2:].clone().requires_grad_(True)
    zero = sample_mean_from_token_ce(*token_ce(empty, LABELS[2:]))
    zero.backward()
    assert zero.item() == 0.0 and empty.grad is not None


def test_dft_weights_each_tokens_ce_by_its_probability_without_differentiating_through_it():
    ces = [1.0, 1.0, 1.0, 3.0, 2.0, 0.5, 1.5]
    logits = LOGITS.clone().requires_grad_(True)
    ce, mask = token_ce(logits, LABELS)
    loss = dft_from_token_ce(ce, mask)
    assert loss.item() == pytest.approx(sum(c * math.exp(-c) for c in ces) / 7)
    loss.backward()
    # the gradient: the token mean's, each token's scaled by its probability e^-ce, a constant (from the hand values)
    expected = LOGITS.clone().requires_grad_(True)
    ce2, _ = token_ce(expected, LABELS)
    weights = torch.zeros_like(ce2)
    weights[0, :5] = torch.tensor([math.exp(-c) for c in ces[:5]], dtype=weights.dtype)
    weights[1, :2] = torch.tensor([math.exp(-c) for c in ces[5:]], dtype=weights.dtype)
    (ce2 * weights).sum().div(7).backward()
    assert torch.allclose(logits.grad, expected.grad)


def test_vanilla_ce_is_the_mean_over_all_target_tokens_of_the_batch():
    expected = (1 + 1 + 1 + 3 + 2 + 0.5 + 1.5) / 7
    assert vanilla_ce(LOGITS, LABELS).item() == pytest.approx(expected)


def test_vanilla_ce_divides_by_num_items_in_batch_when_given():
    assert vanilla_ce(LOGITS, LABELS, num_items_in_batch=10).item() == pytest.approx(10 / 10)


def test_scale_loss_hand_computed_with_a_sample_missing_its_answer():
    # sample 0: 2.0 * 1.5 + 1.0 * 2.0 = 5; sample 1: 2.0 * 1.0 + 0 = 2; sample 2 has no targets
    loss = scale_loss(LOGITS, LABELS, SEGMENTS, w_think=2.0, w_answer=1.0)
    assert loss.item() == pytest.approx((5.0 + 2.0) / 2)


def test_scale_loss_with_equal_weights_differs_from_vanilla_because_it_is_length_independent():
    fixed = scale_loss(LOGITS, LABELS, SEGMENTS, w_think=1.0, w_answer=1.0).item()
    assert fixed == pytest.approx(((1.5 + 2.0) + 1.0) / 2)
    assert fixed != pytest.approx(vanilla_ce(LOGITS, LABELS).item())


@pytest.mark.parametrize(
    "segments",
    [
        torch.full_like(LABELS, I),  # every target token unassigned
        torch.full_like(LABELS, T),
        torch.full_like(LABELS, A),
    ],
)
def test_scale_loss_is_finite_for_any_mix_of_empty_segments(segments):
    logits = LOGITS.clone().requires_grad_(True)
    loss = scale_loss(logits, LABELS, segments, 2.0, 1.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_all_ignored_batch_gives_zero_and_a_working_backward():
    logits = torch.randn(2, 4, V, requires_grad=True)
    labels = torch.full((2, 4), -100)
    for loss in (vanilla_ce(logits, labels), scale_loss(logits, labels, torch.zeros_like(labels), 2, 1)):
        loss.backward()
        assert loss.item() == 0.0
        assert torch.isfinite(logits.grad).all()


def slow_scale_loss(logits, labels, segments, w_think, w_answer):
    """Reference: loops over samples and tokens, written from eqs. 2 and 4."""
    per_sample = []
    for b in range(logits.shape[0]):
        sums = {T: [], A: []}
        for t in range(logits.shape[1] - 1):
            target = int(labels[b, t + 1])
            segment = int(segments[b, t + 1])
            if target == -100 or segment not in sums:
                continue
            sums[segment].append(-torch.log_softmax(logits[b, t].double(), -1)[target])
        if not sums[T] and not sums[A]:
            continue
        think = torch.stack(sums[T]).mean() if sums[T] else torch.zeros((), dtype=torch.float64)
        answer = torch.stack(sums[A]).mean() if sums[A] else torch.zeros((), dtype=torch.float64)
        per_sample.append(w_think * think + w_answer * answer)
    return torch.stack(per_sample).mean()


def random_batch(seed, batch=4, length=12, vocab=11):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, length, vocab, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, vocab, (batch, length), generator=generator)
    segments = torch.randint(0, 3, (batch, length), generator=generator)
    labels[:, :3] = -100  # prompt
    labels[1, length - 4 :] = -100  # padding
    segments[-1] = T  # one sample without answer tokens
    return logits, labels, segments


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scale_loss_value_and_gradient_match_the_slow_reference(seed):
    logits, labels, segments = random_batch(seed)
    fast_logits = logits.clone().requires_grad_(True)
    slow_logits = logits.clone().requires_grad_(True)
    fast = scale_loss(fast_logits, labels, segments, 1.7, 0.6)
    slow = slow_scale_loss(slow_logits, labels, segments, 1.7, 0.6)
    fast.backward()
    slow.backward()
    assert fast.item() == pytest.approx(slow.item(), rel=1e-6)
    torch.testing.assert_close(fast_logits.grad, slow_logits.grad.to(fast_logits.grad.dtype))


def test_gradcheck_of_scale_loss():
    logits, labels, segments = random_batch(3, batch=2, length=6, vocab=4)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: scale_loss(x, labels, segments, 2.0, 1.0), (logits,))


def test_micro_batches_with_global_sample_count_add_up_to_the_full_batch_loss():
    logits, labels, segments = random_batch(4)
    full = scale_loss(logits, labels, segments, 2.0, 1.0)
    halves = sum(
        scale_loss(logits[s], labels[s], segments[s], 2.0, 1.0, num_samples=4)
        for s in (slice(0, 2), slice(2, 4))
    )
    assert halves.item() == pytest.approx(full.item(), rel=1e-9)


def test_bf16_logits_are_accumulated_in_fp32():
    logits, labels, segments = random_batch(5)
    reference = scale_loss(logits.to(torch.bfloat16).double(), labels, segments, 2.0, 1.0)
    loss = scale_loss(logits.to(torch.bfloat16), labels, segments, 2.0, 1.0)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)


def test_segment_means_are_token_means_per_segment_and_none_when_empty():
    means = segment_means(LOGITS, LABELS, SEGMENTS)
    assert means["think_ce"] == pytest.approx((1 + 1 + 1 + 3 + 0.5 + 1.5) / 6)
    assert means["answer_ce"] == pytest.approx(2.0)
    assert (means["think_tokens"], means["answer_tokens"]) == (6, 1)
    empty = segment_means(LOGITS, LABELS, torch.full_like(SEGMENTS, T))
    assert empty["answer_ce"] is None and empty["answer_tokens"] == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_scale_loss_on_cuda_matches_cpu():
    logits, labels, segments = random_batch(6)
    cpu = scale_loss(logits, labels, segments, 2.0, 1.0)
    gpu = scale_loss(logits.cuda(), labels.cuda(), segments.cuda(), 2.0, 1.0)
    assert gpu.item() == pytest.approx(cpu.item(), rel=1e-6)

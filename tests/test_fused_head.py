"""SCALe through TRL's fused LM head: the same loss and gradients as through full logits, ``ce`` and ``dft``
equal to TRL's own SFT losses (``loss_type`` nll and dft), and ``sample`` to a hand computation, for each tiny
family."""

import pytest
import torch

from scale.schedule import WeightSchedule

FAMILIES = ("qwen2_5_vl", "gemma3", "llava_next")
# fp32 on CPU: the fused head sums log-softmax in tiles, full logits in one pass, so the two agree to
# float32 rounding: losses within rtol 1e-5; each gradient tensor within 1e-5 of its largest entry
# plus 1e-8 (measured here: at most 3e-7 of it, on Gemma 3's projector weight; the 1e-8 covers the
# attention key biases, whose true gradient is 0 and whose computed one is rounding noise of ~1e-11).
LOSS_RTOL, GRAD_REL, GRAD_ATOL = 1e-5, 1e-5, 1e-8


def make_trainer(model_dir, items, tmp_path, loss, per_token="fused"):
    from scale.models.families import load_model, load_processor
    from scale.prompts import training_messages
    from scale.train import runs
    from scale.train.collate import SegmentCollator, training_chat_template
    from scale.train.driver import sft_config
    from scale.train.sft import ScaleSFTTrainer

    processor = load_processor(model_dir)
    dataset = runs.conversation_dataset([r for r, _ in items], runs.load_images(items), training_messages)
    collator = SegmentCollator(processor=processor, assistant_only_loss=True,
                               chat_template=training_chat_template(processor))
    weights = {"scale": ({"start": 2.0, "end": 1.0}, 1.0)}.get(loss, (1.0, 1.0))
    args = sft_config(tmp_path, {"max_steps": 1, "per_device_train_batch_size": 2, "disable_tqdm": True}, 0,
                      loss=loss, w_think=WeightSchedule.from_config(weights[0]),
                      w_answer=WeightSchedule.from_config(weights[1]))
    trainer = ScaleSFTTrainer(
        model=load_model(model_dir, dtype=torch.float32), args=args, train_dataset=dataset,
        processing_class=processor, data_collator=collator, per_token=per_token,
    )
    return trainer, collator


def examples(items):
    from scale.data.records import load_image
    from scale.prompts import training_messages

    return [{"messages": training_messages(r), "images": [load_image(r, d)]} for r, d in items]


def accumulate(trainer, batches):
    """Loss summed over the micro-batches of one global batch, and the gradients it leaves."""
    trainer.model.zero_grad(set_to_none=True)
    trainer.model.train()
    trainer.get_batch_samples(iter([dict(b) for b in batches]), len(batches), torch.device("cpu"))
    total = 0.0
    for batch in batches:
        loss = trainer.compute_loss(trainer.model, dict(batch))
        loss.backward()
        total += loss.item()
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    return total, grads


@pytest.mark.parametrize("loss", ["ce", "scale", "fixed", "sample", "dft"])
@pytest.mark.parametrize("family", FAMILIES)
def test_the_fused_head_gives_the_full_logit_loss_and_gradients_with_accumulation(
    tiny_models, synthetic_dir, tmp_path, family, loss
):
    from scale.data.records import read_items

    items = read_items(synthetic_dir / "scienceqa" / "train.jsonl")[:4]
    trainer, collator = make_trainer(tiny_models[family], items, tmp_path, loss)
    data = examples(items)
    batches = [collator(data[:2]), collator(data[2:])]  # two micro-batches of one global batch
    trainer.per_token = "fused"
    fused_loss, fused_grads = accumulate(trainer, batches)
    trainer.per_token = "full_logits"
    full_loss, full_grads = accumulate(trainer, batches)
    assert fused_loss > 0
    assert fused_loss == pytest.approx(full_loss, rel=LOSS_RTOL)
    assert fused_grads.keys() == full_grads.keys() and fused_grads
    for name, expected in full_grads.items():
        error = (fused_grads[name] - expected).abs().max().item()
        assert error <= GRAD_REL * expected.abs().max().item() + GRAD_ATOL, (name, error)


@pytest.mark.parametrize("micro_batches", [1, 2])
@pytest.mark.parametrize("loss, loss_type", [("ce", "nll"), ("dft", "dft")])
@pytest.mark.parametrize("family", FAMILIES)
def test_ce_and_dft_equal_trls_own_sft_losses_on_the_same_batches(tiny_models, synthetic_dir, tmp_path, family,
                                                                   loss, loss_type, micro_batches):
    """Loss and gradients of one global batch of 4 samples, whole or in two accumulated micro-batches, against
    ``SFTTrainer.compute_loss`` with TRL's ``loss_type`` and the global batch's token count."""
    from trl import SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from scale.data.records import read_items

    items = read_items(synthetic_dir / "iconqa" / "train.jsonl")[:4]
    trainer, collator = make_trainer(tiny_models[family], items, tmp_path, loss)
    data = examples(items)
    size = len(data) // micro_batches
    ours = [collator(data[i:i + size]) for i in range(0, len(data), size)]
    found, found_grads = accumulate(trainer, ours)
    tokens = trainer._global_counts[0]
    trl_collator = DataCollatorForVisionLanguageModeling(
        processor=collator.processor, assistant_only_loss=True, chat_template=collator.chat_template)
    theirs = [trl_collator(data[i:i + size]) for i in range(0, len(data), size)]
    assert all(torch.equal(a["labels"], b["labels"]) for a, b in zip(theirs, ours))
    trainer.args.loss_type = loss_type
    trainer.model.zero_grad(set_to_none=True)
    expected = 0.0
    for batch in theirs:
        part = SFTTrainer.compute_loss(trainer, trainer.model, dict(batch), num_items_in_batch=tokens)
        part.backward()
        expected += part.item()
    assert found > 0 and found == pytest.approx(expected, rel=1e-6)
    for name, parameter in trainer.model.named_parameters():
        if parameter.grad is not None:
            error = (found_grads[name] - parameter.grad).abs().max().item()
            assert error <= 1e-6 * parameter.grad.abs().max().item() + GRAD_ATOL, (name, error)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_sample_loss_is_each_samples_own_token_mean_averaged_over_samples(tiny_models, synthetic_dir, tmp_path,
                                                                              family):
    """On samples of unequal lengths, by hand: each sample alone through the model, its labelled tokens' mean
    cross-entropy, then the mean of those over samples (no padding, no batch-wide token count)."""
    import torch.nn.functional as F

    from scale.data.records import read_items

    # one dataset's traces share a length; the two datasets' differ
    items = read_items(synthetic_dir / "scienceqa" / "train.jsonl")[:2] + read_items(
        synthetic_dir / "iconqa" / "train.jsonl")[:1]
    trainer, collator = make_trainer(tiny_models[family], items, tmp_path, "sample")
    data = examples(items)
    batch = collator(data)
    lengths = (batch["labels"] != -100).sum(dim=1)
    assert len(set(lengths.tolist())) > 1, "the samples must differ in length"
    trainer.model.eval()
    with torch.no_grad():
        found = trainer.compute_loss(trainer.model, dict(batch)).item()
        means = []
        for one in data:
            alone = collator([one])
            logits = trainer.model(**{k: v for k, v in alone.items() if k not in ("labels", "segments")}).logits
            means.append(F.cross_entropy(logits[0, :-1].float(), alone["labels"][0, 1:], ignore_index=-100).item())
    assert found == pytest.approx(sum(means) / len(means), rel=1e-5)


def test_on_a_cpu_the_fused_head_projects_only_the_labelled_positions(tiny_models, monkeypatch):
    """TRL projects every position off Triton devices (``scale.train.fused_head``): after the switch only the
    labelled rows reach the head, and their log-probabilities and gradients are the ones of every row's."""
    from trl.trainer import utils as trl_utils

    from scale.models.families import load_model
    from scale.train import fused_head

    model = load_model(tiny_models["qwen2_5_vl"], dtype=torch.float32)
    trl_utils.add_fused_lm_head(model)
    rows = []
    apply = trl_utils._ChunkedLogProbFunction.apply
    monkeypatch.setattr(trl_utils._ChunkedLogProbFunction, "apply", lambda h, *a: rows.append(len(h)) or apply(h, *a))
    ids = torch.randint(10, 60, (2, 12))
    labels = ids.masked_fill(torch.arange(12) < 8, -100)  # an 8-token prompt: 4 labelled positions a row, 3 shifted

    def forward():
        model.zero_grad(set_to_none=True)
        out = model(input_ids=ids, labels=labels, fused_lm_head=True)
        out.log_probs.sum().backward()
        return out.log_probs.detach(), model.get_output_embeddings().weight.grad.clone()

    monkeypatch.setattr(trl_utils, "_use_triton", fused_head._TRL_CHOICE)  # TRL's own, whatever ran before
    every_row, every_grad = forward()
    fused_head.score_labelled_positions_only()
    labelled, labelled_grad = forward()
    assert rows == [2 * 11, 2 * 4]  # next-token positions 0..10 of each row; only 7..10 hold labels
    torch.testing.assert_close(labelled, every_row, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(labelled_grad, every_grad, rtol=1e-5, atol=1e-8)
    assert (labelled[:, :7] == 0).all() and (labelled[:, 7:] < 0).all()

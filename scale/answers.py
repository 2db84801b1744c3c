"""Reading the final answer out of a reasoning output, and judging it.

Evaluation, the GRPO accuracy reward and the lmms-eval tasks all call these,
so every route scores an output the same way. Only ``str.find``/``rfind`` and
anchored regexes on short strings are used: a gigantic output costs linear time.
"""

from __future__ import annotations

import re

THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"

_PREFIX = re.compile(r"^\s*(?:final\s+answer|answer)\s*[:：]\s*", re.IGNORECASE)
_PAIRS = {'"': '"', "'": "'", "(": ")", "[": "]", "{": "}", "`": "`", "“": "”", "‘": "’"}
_CHOICE = re.compile(
    r"^(?:option\s+|choice\s+)?"
    r"(?:\((?P<p>[A-Za-z])\)(?:[\s.:].*)?|(?P<l>[A-Za-z])(?:\s*[.:)]\s*.*)?)$",
    re.IGNORECASE | re.DOTALL,
)
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")


def extract_answer(text: str | None) -> str | None:
    """The content of the last closed ``<answer>…</answer>`` block, or None.

    ``"<answer>A</answer> <answer>B</answer>"`` gives ``"B"``; with nested or
    repeated openings, ``"<answer>x <answer>y</answer>"`` gives ``"y"`` (the
    opening nearest the last closing); ``"<answer>B"`` (unclosed) gives None.
    """
    if not text:
        return None
    close = text.rfind(ANSWER_CLOSE)
    if close < 0:
        return None
    open_ = text.rfind(ANSWER_OPEN, 0, close)
    if open_ < 0:
        return None
    return text[open_ + len(ANSWER_OPEN) : close]


def _strip_wrapping(s: str) -> str:
    """Remove quotes/brackets that enclose the whole string, repeatedly: ``'"(cat)"'`` → ``cat``."""
    while len(s) >= 2 and _PAIRS.get(s[0]) == s[-1]:
        inner = s[1:-1].strip()
        if s[0] == "(" and len(inner) == 1:
            break  # "(B)" is a choice letter; leave it to the choice rule
        s = inner
    return s


def normalize_answer(s: str | None) -> str:
    """Canonical form of an answer, so that equal answers compare equal as strings.

    Steps, in order, with examples:

    * whitespace stripped, then a leading ``Final Answer:`` / ``Answer:`` (any case):
      ``" Final Answer: B. "`` → ``B``;
    * quotes and brackets around the whole answer, and one trailing period:
      ``'"nitrogen".'`` → ``nitrogen``;
    * a multiple-choice reply becomes its capital letter: ``(B)``, ``B.``,
      ``B) nitrogen``, ``(b) nitrogen``, ``B: nitrogen``, ``Option B``, ``b`` → ``B``;
    * numbers compare as numbers: ``12.0`` → ``12``, ``1,000`` → ``1000``, ``.5`` → ``0.5``;
    * other text is lower-cased with whitespace collapsed: ``"Gas  Giant"`` → ``gas giant``.
    """
    if s is None:
        return ""
    s = s.strip()
    while True:
        stripped = _PREFIX.sub("", s, count=1)
        if stripped == s:
            break
        s = stripped
    s = _strip_wrapping(s.strip())
    if s.endswith(".") and not _NUMBER.match(s):
        s = _strip_wrapping(s[:-1].rstrip())
    choice = _CHOICE.match(s)
    if choice:
        return (choice.group("p") or choice.group("l")).upper()
    if _NUMBER.match(s):
        value = float(s.replace(",", ""))
        return str(int(value)) if value.is_integer() else repr(value)
    return " ".join(s.split()).lower()


def is_valid(text: str | None) -> bool:
    """Table 2's validity: a ``</think>`` and, after it, a closed ``<answer>…</answer>``.

    ``"<think>x</think><answer>B</answer>"`` is valid; ``"<think>x <answer>B</answer>"``
    (reasoning never closed) and ``"<think>x</think><answer>B"`` (answer never closed) are not.
    """
    if not text:
        return False
    think_close = text.find(THINK_CLOSE)
    return think_close >= 0 and extract_answer(text[think_close + len(THINK_CLOSE) :]) is not None


def is_correct(text: str | None, gold: str) -> bool:
    """Valid, and the extracted answer normalises to the normalised gold (an empty answer never matches).

    ``is_correct("<think>…</think><answer> (b) </answer>", "B")`` is True.
    """
    if not is_valid(text):
        return False
    predicted = normalize_answer(extract_answer(text))
    return predicted != "" and predicted == normalize_answer(gold)

"""Reading the final answer out of a reasoning output, and judging it.

Evaluation, the GRPO accuracy reward and the lmms-eval tasks all call these,
so every route scores an output the same way. Only ``str.find``/``rfind`` and
anchored regexes on short strings are used: a gigantic output costs linear time.
"""

from __future__ import annotations

import re
from fractions import Fraction

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
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_FRAC = re.compile(r"^([+-]?)\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}$|^([+-]?)\\[dt]?frac(\d)(\d)$")
_SLASH = re.compile(r"^([+-]?\d+)\s*/\s*(\d+)$")
_LATEX_NOISE = re.compile(r"\\left|\\right|\\[!,;: ]|\\displaystyle")


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


def last_boxed(s: str) -> str | None:
    """The content of the last ``\\boxed{…}`` with balanced braces (nested ones kept), or None when there is
    none or it never closes: ``"\\boxed{1} \\boxed{\\frac{1}{2}}"`` gives ``"\\frac{1}{2}"``."""
    starts = [m.end() for m in _BOX.finditer(s)]
    for start in reversed(starts):
        depth = 1
        for k in range(start, len(s)):
            depth += {"{": 1, "}": -1}.get(s[k], 0)
            if depth == 0:
                return s[start:k]
    return None


def _strip_math(s: str) -> str:
    """A math answer's wrapping: a ``\\boxed{}``, ``$…$`` or a leading ``$`` (money), LaTeX spacing and
    ``\\left``/``\\right``; ``\\frac{a}{b}`` (or ``\\dfrac``, ``\\frac12``) becomes ``a/b``."""
    boxed = last_boxed(s)
    if boxed is not None:
        s = boxed.strip()
    if "\\" in s or "$" in s:
        s = _LATEX_NOISE.sub("", s).strip()
        if len(s) >= 2 and s[0] == s[-1] == "$":
            s = s.strip("$").strip()
        elif s.startswith("$") and _NUMBER.match(s[1:].strip()):
            s = s[1:].strip()
        frac = _FRAC.match(s)
        if frac:
            sign, a, b = (frac.group(1), frac.group(2), frac.group(3)) if frac.group(2) else frac.group(4, 5, 6)
            s = f"{sign}{a.strip()}/{b.strip()}"
    return s


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
    * math answers lose their wrapping: ``\\boxed{42}``, ``$42$``, ``$1,000`` (money) and ``\\dfrac{6}{4}``
      give ``42``, ``42``, ``1000`` and ``3/2`` (a fraction reduced, ``4/2`` → ``2``);
    * other text is lower-cased with whitespace collapsed: ``"Gas  Giant"`` → ``gas giant``.

    ``answers_match`` compares two normalised answers, numbers by value (``1/2`` matches ``0.5``).
    """
    if s is None:
        return ""
    s = _strip_math(s.strip())
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
    slash = _SLASH.match(s)
    if slash and int(slash.group(2)) != 0:
        value = Fraction(int(slash.group(1)), int(slash.group(2)))
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return " ".join(s.split()).lower()


def as_number(normalised: str) -> Fraction | None:
    """The exact value of a normalised number (``12``, ``0.5``, ``3/2``), or None."""
    try:
        return Fraction(normalised) if normalised and (_NUMBER.match(normalised) or _SLASH.match(normalised)) \
            else None
    except (ValueError, ZeroDivisionError):
        return None


def answers_match(predicted: str, gold: str) -> bool:
    """Two normalised answers are the same: equal strings, or numbers of equal value."""
    if predicted == "" or gold == "":
        return False
    if predicted == gold:
        return True
    a, b = as_number(predicted), as_number(gold)
    return a is not None and a == b


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
    return answers_match(normalize_answer(extract_answer(text)), normalize_answer(gold))

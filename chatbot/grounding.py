"""Checking an answer against its sources: a sentence stating a number, amount, email or URL that
its passages do not contain is dropped, and the Answer records what was dropped and why."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.citations import marker_numbers, split_sentences, strip_markers
from chatbot.metrics import numbers_in
from chatbot.values import Passage

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s\])>]+", re.IGNORECASE)
_WORD_NUMBERS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90", "hundred": "100"}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Dropped:
    sentence: str
    reason: str


def facts_in(text: str) -> set[str]:
    """The checkable facts of a text: numbers (words and "30-day" included), emails and URLs.

    >>> sorted(facts_in("Thirty days, a 14-day window, £3.95 or help@shop.example."))
    ['14', '3.95', '30', 'help@shop.example']
    """
    emails = {e.lower().rstrip(".") for e in _EMAIL.findall(text)}
    urls = {u.lower().rstrip(".,;:") for u in _URL.findall(text)}
    rest = _URL.sub(" ", _EMAIL.sub(" ", text))
    rest = _NUMBER_WORD.sub(lambda m: _WORD_NUMBERS[m.group(1).lower()], rest)
    return numbers_in(rest) | emails | urls


def sentences(text: str) -> list[str]:
    """The answer's sentences, each with the citation markers after it.

    >>> sentences("Returns take 30 days [1]. Sale items 14 days [2].")
    ['Returns take 30 days [1].', 'Sale items 14 days [2].']
    """
    return [s.strip() for s in split_sentences(text) if s.strip()]


def cited(sentence: str, count: int) -> list[int]:
    """The positions of the sources a sentence cites by marker ([1] is position 0); without
    markers, all `count` of them.

    >>> cited("Free over £50 [3]. Tracked [1].", 2), cited("No markers.", 2)
    ([0], [0, 1])
    """
    chosen = [n - 1 for n in sorted(marker_numbers(sentence)) if 1 <= n <= count]
    return chosen or list(range(count))


def ground(text: str, sources: Sequence[Passage]) -> tuple[str, tuple[Dropped, ...]]:
    """Keep the sentences whose facts all appear in the passages they cite; say why others went.

    >>> p = Passage("r", "returns", "Returns", "Items can be returned within 30 days.", "r.md")
    >>> ground("You have 30 days [1]. Gifts get 7 days [1].", [p])
    ('You have 30 days [1].', (Dropped(sentence='Gifts get 7 days [1].', reason='not in its sources: 7'),))
    """
    source_facts = [facts_in(f"{p.title} {p.text}") for p in sources]
    kept, dropped = [], []
    for sentence in sentences(text):
        support = set().union(*(source_facts[i] for i in cited(sentence, len(sources))))
        missing = facts_in(strip_markers(sentence)) - support
        if missing:
            dropped.append(Dropped(sentence, "not in its sources: " + ", ".join(sorted(missing))))
        else:
            kept.append(sentence)
    return " ".join(kept), tuple(dropped)

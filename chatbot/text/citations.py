"""Citation markers: map the model's [n] markers to the passages it was shown, and number them 1..m."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot.values import Passage

_MARKER = re.compile(r"\s*\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
# One sentence (or line) with the citation markers that follow it and the space after it; the
# dot in "£4.95" ends nothing, since a sentence end is followed by space or the end of the text.
# Chinese ends a sentence at 。！？ with no space after it.
_SENTENCE = re.compile(r".*?(?:[.!?](?:\s*\[[\d,\s]+\])*(?:\s+|$)|[。！？]+(?:\s*\[[\d,\s]+\])*\s*|\n+|$)", re.DOTALL)


def split_sentences(text: str) -> list[str]:
    r"""The text's sentences, each with its markers and trailing space, so that joining them gives the text.

    >>> split_sentences("Returns take 30 days [1]. Costs £3.95 [2].\nCall us")
    ['Returns take 30 days [1]. ', 'Costs £3.95 [2].\n', 'Call us']
    >>> split_sentences("原价商品30天内可退。促销商品14天！[1]")
    ['原价商品30天内可退。', '促销商品14天！[1]']
    """
    return [sentence for sentence in _SENTENCE.findall(text) if sentence]


def marker_numbers(text: str) -> set[int]:
    """The passage numbers that the markers in `text` cite.

    >>> sorted(marker_numbers("Free over £50 [3]. Tracked [1, 3]."))
    [1, 3]
    """
    return {int(n) for group in _MARKER.findall(text) for n in group.split(",")}


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def map_citations(text: str, shown: Sequence[Passage]) -> tuple[str, tuple[Passage, ...]]:
    """Renumber the markers in `text` by first appearance and return the cited passages in that order.

    Markers that point at no shown passage are removed. `[1, 3]` becomes `[1][2]`.

    >>> a, b, c = (Passage(i, i, i.upper(), "", "") for i in "abc")
    >>> map_citations("Free over £50 [3]. Tracked [1,3]. Bogus [9].", [a, b, c])[0]
    'Free over £50 [1]. Tracked [2][1]. Bogus.'
    """
    order: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        markers = []
        for raw in match.group(1).split(","):
            number = int(raw)
            if 1 <= number <= len(shown):
                if number not in order:
                    order.append(number)
                markers.append(f"[{order.index(number) + 1}]")
        return (" " + "".join(markers)) if markers else ""

    renumbered = _MARKER.sub(renumber, text)
    return renumbered.strip(), tuple(shown[n - 1] for n in order)


def cite_best_passage(text: str, shown: Sequence[Passage]) -> tuple[str, tuple[Passage, ...]]:
    """For an answer without markers: attribute it to the top passage, which it was written from."""
    if not shown or not text:
        return text, ()
    return f"{text.rstrip()} [1]", (shown[0],)

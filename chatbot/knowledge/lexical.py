"""Keyword search beside the vectors: BM25 (bm25s) over stemmed words, saved in the index folder."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGE = "english"
STOPWORDS = "en"
SETTINGS = {"library": "bm25s", "stemmer": LANGUAGE, "stopwords": STOPWORDS}


class LexicalIndex:
    """BM25 over the passages' indexed text; `search` gives (passage number, score) pairs, best first."""

    def __init__(self, bm25: Any, size: int) -> None:
        self.bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index(_tokenize(texts), show_progress=False)
        return cls(bm25, len(texts))

    @classmethod
    def load(cls, folder: str | Path, size: int) -> LexicalIndex:
        import bm25s

        return cls(bm25s.BM25.load(str(folder)), size)

    def save(self, folder: str | Path) -> None:
        self.bm25.save(str(folder))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Passages sharing at least one (stemmed, non-stop) word with `query`.

        >>> index = LexicalIndex.build(["Returns within 30 days", "UK delivery costs 3.95", "Sale returns: 14 days"])
        >>> [i for i, _ in index.search("returning a sale item", 3)]
        [2, 0]
        """
        k = min(k, self.size)
        if k <= 0:
            return []
        ids, scores = self.bm25.retrieve(_tokenize([query]), k=k, show_progress=False)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]


def _tokenize(texts: Sequence[str]) -> Any:
    import bm25s

    return bm25s.tokenize(list(texts), stopwords=STOPWORDS, stemmer=_stemmer(), show_progress=False)


@cache
def _stemmer() -> Any:
    """Made once: every search tokenises its query with it."""
    import Stemmer

    return Stemmer.Stemmer(LANGUAGE)

"""Finding the passages that answer a question: the Retriever protocol and dense search over the index."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from chatbot.embedding import Embedder
from chatbot.index import PassageIndex, load_index
from chatbot.values import Passage


class Retriever(Protocol):
    def search(self, query: str, k: int) -> list[Passage]:
        """The `k` best passages for `query`, best first, each with its score in [-1, 1]."""
        ...


class DenseRetriever:
    """Cosine similarity between the query's embedding and each passage's, through FAISS."""

    def __init__(self, index: PassageIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    @classmethod
    def from_folder(cls, index_dir: str | Path, embedder: Embedder) -> DenseRetriever:
        return cls(load_index(index_dir, embedder.id, embedder.dimension), embedder)

    def search(self, query: str, k: int) -> list[Passage]:
        return self.index.search_vectors(self.embedder.embed([query]), k)[0]


def merge_results(result_lists: Iterable[list[Passage]], k: int) -> list[Passage]:
    """Union of several rankings, each passage at its best score, best first.

    >>> a, b = Passage("a", "d", "t", "x", "s"), Passage("b", "d", "t", "y", "s")
    >>> [p.id for p in merge_results([[a.with_score(0.2)], [b.with_score(0.5), a.with_score(0.1)]], 2)]
    ['b', 'a']
    """
    best: dict[str, Passage] = {}
    for results in result_lists:
        for passage in results:
            if passage.id not in best or passage.score > best[passage.id].score:
                best[passage.id] = passage
    return sorted(best.values(), key=lambda p: -p.score)[:k]

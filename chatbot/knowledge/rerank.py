"""A second stage that reorders the first candidates: a cross-encoder, or the bundled decoder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from chatbot.errors import ModelLoadError, SettingsError
from chatbot.knowledge.retrieval import Retriever
from chatbot.llm.base import Scorer
from chatbot.values import Passage

BUNDLED_RERANKER = "bundled"
MAX_PASSAGE_TOKENS = 256
MAX_QUERY_TOKENS = 64


class Reranker(Protocol):
    def scores(self, query: str, passages: Sequence[Passage]) -> list[float]:
        """How well each passage answers `query`; higher is better, any scale."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder (a Hugging Face id or a local folder)."""

    def __init__(self, model: str, device: str = "auto") -> None:
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(model, device=None if device == "auto" else device)
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"Cannot load the cross-encoder {model!r}: {error}") from error

    def scores(self, query: str, passages: Sequence[Passage]) -> list[float]:
        if not passages:
            return []
        pairs = [(query, p.indexed_text) for p in passages]
        return [float(s) for s in self.model.predict(pairs, show_progress_bar=False)]


class QueryLikelihoodReranker:
    """The bundled decoder's judgement: the mean log-probability of the query's tokens after a
    prompt that shows the passage and asks for a question about it (prompts/rerank.j2).
    A passage that makes the shopper's question likely is one that is about it."""

    def __init__(self, scorer: Scorer, render: Callable[..., str]) -> None:
        self.scorer = scorer
        self.render = render

    def scores(self, query: str, passages: Sequence[Passage]) -> list[float]:
        prompts = [self.render("rerank", passage=self.scorer.first_tokens(p.indexed_text, MAX_PASSAGE_TOKENS))
                   for p in passages]
        return self.scorer.mean_log_probabilities(prompts, " " + query, MAX_QUERY_TOKENS)


class RerankingRetriever:
    """A first-stage retriever, then `reranker` over its first `candidates` passages.

    The new order blends the reranker's standardised scores with the first stage's standardised
    ranks: `weight` 1 trusts the reranker alone, 0 keeps the first-stage order. Passages keep their
    cosine `score`, so evidence thresholds mean the same with or without this stage.
    """

    def __init__(self, retriever: Retriever, reranker: Reranker, candidates: int = 10, weight: float = 1.0) -> None:
        if candidates < 1 or not 0.0 <= weight <= 1.0:
            raise SettingsError(f"rerank_candidates must be >= 1 and rerank_weight in [0, 1]; got {candidates}, {weight}.")
        self.retriever = retriever
        self.reranker = reranker
        self.candidates = candidates
        self.weight = weight

    def search(self, query: str, k: int) -> list[Passage]:
        found = self.retriever.search(query, max(k, self.candidates))
        head, tail = found[: self.candidates], found[self.candidates :]
        if len(head) < 2:
            return found[:k]
        blended = blend(self.reranker.scores(query, head), self.weight)
        order = sorted(range(len(head)), key=lambda i: -blended[i])
        return ([head[i] for i in order] + tail)[:k]


def blend(scores: Sequence[float], weight: float) -> list[float]:
    """weight * z(scores) + (1 - weight) * z(-rank), for candidates given in first-stage order.

    >>> [round(x, 2) for x in blend([0.1, 0.9, 0.5], 1.0)]
    [-1.22, 1.22, 0.0]
    >>> [round(x, 2) for x in blend([0.1, 0.9, 0.5], 0.0)]
    [1.22, 0.0, -1.22]
    """
    return [weight * s + (1 - weight) * r for s, r in zip(_standardise(scores), _standardise([-i for i in range(len(scores))]))]


def _standardise(values: Sequence[float]) -> list[float]:
    mean = sum(values) / len(values)
    spread = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
    return [(v - mean) / spread for v in values]


def make_reranker(name: str, device: str, scorer: Scorer | None, render: Callable[..., str]) -> Reranker:
    """The reranker a `reranker` setting names (not "", which means none); the bundled one scores
    with `scorer`, the local transformers decoder."""
    if name == BUNDLED_RERANKER:
        if scorer is None:
            raise SettingsError("reranker = 'bundled' needs the decoder, and this pipeline was built without one.")
        return QueryLikelihoodReranker(scorer, render)
    return CrossEncoderReranker(name, device)

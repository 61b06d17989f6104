"""A second stage that reorders the first candidates: a cross-encoder, or the bundled decoder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from chatbot.errors import ModelLoadError, SettingsError
from chatbot.knowledge.retrieval import Retriever
from chatbot.values import Passage

if TYPE_CHECKING:
    from chatbot.llm.huggingface import TransformersGenerator

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

    def __init__(self, generator: TransformersGenerator, render: Callable[..., str]) -> None:
        self.tokenizer = generator.tokenizer
        self.model = generator.model
        self.render = render

    def scores(self, query: str, passages: Sequence[Passage]) -> list[float]:
        import torch

        if not passages:
            return []
        tokenizer = self.tokenizer
        question = tokenizer(" " + query, add_special_tokens=False)["input_ids"][:MAX_QUERY_TOKENS]
        prefixes = []
        for passage in passages:
            text_ids = tokenizer(passage.indexed_text, add_special_tokens=False)["input_ids"][:MAX_PASSAGE_TOKENS]
            prompt = self.render("rerank", passage=tokenizer.decode(text_ids))
            prefixes.append(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        length = max(len(p) for p in prefixes) + len(question)
        ids = torch.full((len(prefixes), length), tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(prefixes), length), dtype=torch.long)
        for row, prefix in enumerate(prefixes):
            sequence = prefix + question
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        with torch.no_grad():
            logits = self.model(input_ids=ids.to(self.model.device), attention_mask=mask.to(self.model.device)).logits
        log_probs = torch.log_softmax(logits.float(), dim=-1).cpu()
        target = torch.tensor(question)
        results = []
        for row, prefix in enumerate(prefixes):
            # The logits at position t predict token t + 1: the question's tokens follow the prefix.
            positions = torch.arange(len(prefix) - 1, len(prefix) - 1 + len(question))
            results.append(float(log_probs[row, positions, target].mean()))
        return results


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


def make_reranker(name: str, device: str, generator: TransformersGenerator | None, render: Callable[..., str]) -> Reranker:
    """The reranker a `reranker` setting names (not "", which means none)."""
    if name == BUNDLED_RERANKER:
        if generator is None:
            raise SettingsError("reranker = 'bundled' needs the decoder, and this pipeline was built without one.")
        return QueryLikelihoodReranker(generator, render)
    return CrossEncoderReranker(name, device)

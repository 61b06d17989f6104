"""Finding the passages that answer a question: the Retriever protocol, and dense + BM25 search fused."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from chatbot.errors import SettingsError
from chatbot.knowledge.embedding import Embedder, QueryEmbedder
from chatbot.knowledge.index import PassageIndex, load_index
from chatbot.knowledge.lexical import embedder_reads
from chatbot.openmp import one_thread
from chatbot.settings import Settings
from chatbot.text.words import reply_language
from chatbot.values import Passage

if TYPE_CHECKING:
    import numpy as np


class Retriever(Protocol):
    def search(self, query: str, k: int) -> list[Passage]:
        """The `k` best passages for `query`, best first, each with its score in [-1, 1]."""
        ...


# What a retriever's passage scores are for a query: the embedder's cosines, the multilingual
# embedder's (for a question the first does not read), or, where neither reads it, the first
# embedder's cosines though the ranking came from the question's words alone.
ScoredBy = Literal["embedder", "language_embedder", "words"]


@runtime_checkable
class ScoringRetriever(Retriever, Protocol):
    def scored_by(self, query: str) -> ScoredBy:
        """Which scale the scores of `search(query, k)` are on."""
        ...

    def languages(self) -> frozenset[str]:
        """The languages the passages are written in ("en", "zh")."""
        ...

    def language_neighbours(self) -> float | None:
        """How near unrelated passages lie on the multilingual embedder's scale (`neighbour_cosine`),
        None without that embedder."""
        ...

    def language_embedder(self) -> QueryEmbedder | None:
        """The multilingual embedder that ranks what the first embedder does not read, if any."""
        ...

    def document_passages(self, doc_id: str) -> list[Passage]:
        """The passages of one document, in its order."""
        ...


RRF_K = 60  # the constant from Cormack et al. (2009); it damps the weight of the very first ranks
METHODS = ("dense", "lexical", "hybrid")
FUSIONS = ("rrf", "weighted", "standardised")


class HybridRetriever:
    """Dense (FAISS) and keyword (BM25) candidates fused, then ranked as documents.

    A document scores its best passage's fused score, plus `title_weight` times the query's
    similarity to its title and `document_weight` times its similarity to the whole document
    (the mean of its passages), so the article *about* the question beats one that mentions it.
    With fusion "standardised" each of those signals (best passage cosine, best BM25 score, title
    and whole-document cosine) is first turned into z-scores over the candidate documents, so a
    signal counts by how far it singles a document out, not by its raw scale.
    Each document contributes its best `passages_per_doc` passages, so one long article cannot
    fill the top k. Passages keep their cosine similarity as `score`, the one scale on which
    "is this close enough to answer?" thresholds are set.
    """

    def __init__(
        self,
        index: PassageIndex,
        embedder: Embedder,
        method: str = "hybrid",
        fusion: str = "weighted",
        dense_weight: float = 0.7,
        candidates: int = 50,
        passages_per_doc: int = 1,
        title_weight: float = 0.2,
        document_weight: float = 0.2,
        dense_languages: str = "",
        language_embedder: QueryEmbedder | None = None,
    ) -> None:
        if method not in METHODS or fusion not in FUSIONS:
            raise SettingsError(f"retrieval must be one of {METHODS} and fusion one of {FUSIONS}; got {method!r}, {fusion!r}.")
        self.index = index
        self.embedder = embedder
        self.method = method
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.candidates = candidates
        self.passages_per_doc = passages_per_doc
        self.title_weight = title_weight if fusion != "rrf" else 0.0
        self.document_weight = document_weight if fusion != "rrf" else 0.0
        self.doc_positions = index.documents.positions()
        # The languages the embedder reads ("" = any): a query in another script is ranked by its
        # keywords alone (the bundled English embedder puts Chinese questions near random passages).
        self.dense_languages = dense_languages
        # Such a query is ranked instead by this multilingual embedder, when the index holds its vectors.
        named, vectors = index.manifest.get("language_embedder"), index.language_vectors
        self.written_in = frozenset(reply_language(p.text) or "en" for p in index.passages)
        self.language: tuple[QueryEmbedder, np.ndarray] | None = None
        if language_embedder is not None and vectors is not None and named == language_embedder.id:
            self.language = language_embedder, vectors
        self._neighbours: float | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, embedder: Embedder, language_embedder: QueryEmbedder | None = None
    ) -> HybridRetriever:
        """Open the index in `settings.index_dir` (refused if built by another embedder or format)."""
        index = load_index(settings.index_dir, embedder.id, embedder.dimension)
        return cls(
            index,
            embedder,
            settings.retrieval,
            settings.fusion,
            settings.dense_weight,
            settings.candidates,
            settings.passages_per_doc,
            settings.title_weight,
            settings.document_weight,
            settings.embedder_languages,
            language_embedder,
        )

    def languages(self) -> frozenset[str]:
        return self.written_in

    def language_embedder(self) -> QueryEmbedder | None:
        return self.language[0] if self.language is not None else None

    def document_passages(self, doc_id: str) -> list[Passage]:
        return [passage for passage in self.index.passages if passage.doc_id == doc_id]

    def language_neighbours(self) -> float | None:
        if self.language is not None and self._neighbours is None:
            self._neighbours = neighbour_cosine(self.language[1], [p.doc_id for p in self.index.passages])
        return self._neighbours

    def scored_by(self, query: str) -> ScoredBy:
        if embedder_reads(self.dense_languages, query):
            return "embedder"
        return "language_embedder" if self.language is not None else "words"

    def search(self, query: str, k: int) -> list[Passage]:
        import numpy as np

        if self.language is not None and not embedder_reads(self.dense_languages, query):
            return self._search_by_language_embedder(query, k, *self.language)

        vector = self.embedder.embed([query])
        n = min(max(self.candidates, k), len(self.index.passages))
        cosines: dict[int, float] = {}
        if self.method != "lexical":
            # One question at a time: faiss's workers buy nothing, and left on they spin after each
            # search and take the cores from the decoder (a ticket run slowed many times over).
            with one_thread():
                scores, ids = self.index.vectors.search(vector, n)
            cosines = {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}
        keywords = dict(self.index.lexical.search(query, n)) if self.method != "dense" else {}
        missing = [i for i in keywords if i not in cosines]
        if missing:
            stored = np.vstack([self.index.vectors.reconstruct(i) for i in missing])
            cosines |= dict(zip(missing, (stored @ vector[0]).tolist()))
        method, dense_weight, title_weight, document_weight = self.method, self.dense_weight, self.title_weight, self.document_weight
        if method == "hybrid" and not embedder_reads(self.dense_languages, query):
            method, dense_weight, title_weight, document_weight = "lexical", 0.0, 0.0, 0.0
        fused = fuse(cosines, keywords, method, self.fusion, dense_weight)
        ranked = sorted(fused, key=lambda i: -fused[i])
        kept = cap_per_document(ranked, self.index.passages, self.passages_per_doc, len(ranked))
        if self.fusion == "standardised":
            doc_scores = self._standardised_document_scores(cosines, keywords, vector[0], dense_weight, title_weight,
                                                            document_weight)
        else:
            doc_scores = self._document_scores(kept, fused, vector[0], title_weight, document_weight)
        order = sorted(kept, key=lambda i: (-doc_scores[self.index.passages[i].doc_id], -fused[i]))
        return [self.index.passages[i].with_score(cosines[i]) for i in order[:k]]

    def _search_by_language_embedder(self, query: str, k: int, embedder: QueryEmbedder, vectors: np.ndarray) -> list[Passage]:
        """A query the first embedder does not read: the multilingual embedder's cosines (over every
        passage: its vectors are a plain array) fused with BM25, each passage scored by that cosine."""
        import numpy as np

        with one_thread():  # a few dozen tokens: the cores' workers are left to the decoder
            all_cosines = vectors @ embedder.embed_queries([query])[0]
        n = min(max(self.candidates, k), len(self.index.passages))
        best = np.argsort(-all_cosines)[:n]
        keywords = dict(self.index.lexical.search(query, n)) if self.method != "dense" else {}
        cosines = {int(i): float(all_cosines[i]) for i in [*best.tolist(), *keywords]}
        fused = fuse(cosines, keywords, self.method, "weighted" if self.fusion != "rrf" else "rrf", self.dense_weight)
        ranked = sorted(fused, key=lambda i: -fused[i])
        kept = cap_per_document(ranked, self.index.passages, self.passages_per_doc, len(ranked))
        return [self.index.passages[i].with_score(cosines[i]) for i in kept[:k]]

    def _document_scores(
        self, kept: Sequence[int], fused: dict[int, float], vector: np.ndarray, title_weight: float, document_weight: float
    ) -> dict[str, float]:
        """Each candidate document's best fused passage score plus its title and whole-document bonus."""
        documents = self.index.documents
        scores: dict[str, float] = {}
        for i in kept:
            doc = self.index.passages[i].doc_id
            scores[doc] = max(scores.get(doc, float("-inf")), fused[i])
        if title_weight or document_weight:
            rows = [self.doc_positions[doc] for doc in scores]
            bonus = title_weight * (documents.titles[rows] @ vector) + document_weight * (documents.centroids[rows] @ vector)
            scores = {doc: score + float(extra) for (doc, score), extra in zip(scores.items(), bonus)}
        return scores

    def _standardised_document_scores(
        self, cosines: dict[int, float], keywords: dict[int, float], vector: np.ndarray, dense_weight: float,
        title_weight: float, document_weight: float,
    ) -> dict[str, float]:
        """Each candidate document's signals as z-scores over the candidates, weighted and summed."""
        import numpy as np

        best_cosine: dict[str, float] = {}
        best_keyword: dict[str, float] = {}
        for i, cosine in cosines.items():
            doc = self.index.passages[i].doc_id
            best_cosine[doc] = max(best_cosine.get(doc, -1.0), cosine)
            best_keyword[doc] = max(best_keyword.get(doc, 0.0), keywords.get(i, 0.0))
        docs = list(best_cosine)
        rows = [self.doc_positions[doc] for doc in docs]
        documents = self.index.documents
        signals = np.vstack([
            [best_cosine[doc] for doc in docs],
            [best_keyword[doc] for doc in docs],
            documents.titles[rows] @ vector,
            documents.centroids[rows] @ vector,
        ])
        dense_weight = {"dense": 1.0, "lexical": 0.0}.get(self.method, dense_weight)
        weights = np.array([dense_weight, 1 - dense_weight, title_weight, document_weight])
        return dict(zip(docs, (weights @ standardise(signals)).tolist()))


def standardise(signals: np.ndarray) -> np.ndarray:
    """Each row as z-scores (mean 0, standard deviation 1); a row that does not vary becomes zeros.

    >>> import numpy as np
    >>> standardise(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])).round(3).tolist()
    [[-1.225, 0.0, 1.225], [0.0, 0.0, 0.0]]
    """
    import numpy as np

    spread = signals.std(axis=1, keepdims=True)
    return np.divide(signals - signals.mean(axis=1, keepdims=True), spread, out=np.zeros_like(signals), where=spread > 0)


def fuse(cosines: dict[int, float], keywords: dict[int, float], method: str, fusion: str, dense_weight: float) -> dict[int, float]:
    """One score per candidate: its cosine, its BM25 score, or a blend of the two rankings.

    "weighted" blends the cosine with BM25 divided by the query's best BM25 score (so a
    keyword match counts relative to the best one), as does "standardised" (which standardises
    at the document level instead); "rrf" sums 1 / (60 + rank) over the lists.

    >>> fused = fuse({0: 0.8, 1: 0.6}, {1: 9.0, 2: 3.0}, "hybrid", "weighted", 0.5)
    >>> {i: round(score, 3) for i, score in sorted(fused.items())}
    {0: 0.4, 1: 0.8, 2: 0.167}
    """
    if method == "dense":
        return dict(cosines)
    if method == "lexical":
        return dict(keywords)
    if fusion == "rrf":
        fused: dict[int, float] = {}
        for ranking in (cosines, keywords):
            for rank, i in enumerate(sorted(ranking, key=lambda j: -ranking[j]), 1):
                fused[i] = fused.get(i, 0.0) + 1 / (RRF_K + rank)
        return fused
    best = max(keywords.values(), default=0.0) or 1.0
    return {
        i: dense_weight * max(cosines.get(i, 0.0), 0.0) + (1 - dense_weight) * keywords.get(i, 0.0) / best
        for i in cosines.keys() | keywords.keys()
    }


def neighbour_cosine(vectors: np.ndarray, doc_ids: Sequence[str], sample: int = 2000) -> float | None:
    """The median, over passages, of the cosine to the closest passage of another document: where a
    knowledge base's unrelated passages lie on an embedder's scale (E5 puts statutes that share
    their words nearer each other than a shop's pages). None for a single document. Up to `sample`
    passages, evenly spaced, are measured against all.

    >>> import numpy as np
    >>> vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    >>> round(neighbour_cosine(vectors, ["a", "b", "c"]), 2), neighbour_cosine(vectors, ["a", "a", "a"])
    (0.8, None)
    """
    import numpy as np

    docs = np.asarray(doc_ids)
    rows = np.linspace(0, len(docs) - 1, num=min(sample, len(docs)), dtype=int)
    cosines = vectors[rows] @ vectors.T
    cosines[docs[rows][:, None] == docs[None, :]] = -np.inf
    closest = cosines.max(axis=1)
    closest = closest[np.isfinite(closest)]
    return float(np.median(closest)) if closest.size else None


def cap_per_document(ranked: Sequence[int], passages: Sequence[Passage], per_doc: int, k: int) -> list[int]:
    """The first k of `ranked`, at most `per_doc` from any one document, so one long article
    cannot fill the top k (and the next document still gets a place).

    >>> ps = [Passage(f"p{i}", d, "t", "x", "s") for i, d in enumerate("aaab")]
    >>> cap_per_document([0, 1, 2, 3], ps, 1, 3), cap_per_document([0, 1, 2, 3], ps, 2, 3)
    ([0, 3], [0, 1, 3])
    """
    taken: dict[str, int] = {}
    kept = []
    for i in ranked:
        doc = passages[i].doc_id
        if taken.get(doc, 0) < per_doc:
            taken[doc] = taken.get(doc, 0) + 1
            kept.append(i)
            if len(kept) == k:
                break
    return kept


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

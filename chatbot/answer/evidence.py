"""Whether the knowledge base answers a question: features of the retrieved evidence, and a small
logistic model, calibrated on the knowledge base itself, that turns them into a probability."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatbot.errors import IndexMismatchError
from chatbot.text.words import content_words
from chatbot.values import Passage

if TYPE_CHECKING:
    import numpy as np

    from chatbot.knowledge.embedding import Embedder
    from chatbot.knowledge.index import PassageIndex

MODEL_FILE = "abstention.json"
FEATURES = (
    "cosine",  # the best passage's cosine with the question
    "second_cosine",  # the runner-up's: a cluster of related articles lifts it
    "margin",  # how far the best stands out
    "title",  # cosine with the best document's title
    "document",  # cosine with the best document as a whole
    "coverage",  # share of the question's rarer words (IDF-weighted) found in the best passage
    "document_coverage",  # ... in the best document
    "unknown_words",  # ... found nowhere in the knowledge base
    "keyword",  # the best passage's BM25 score against the best BM25 score in the index
    "agreement",  # whether dense and BM25 search put the same document first
)


class EvidenceReader:
    """Reads the features of a question's evidence from the index it was retrieved from."""

    def __init__(self, index: PassageIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.positions = index.documents.positions()
        self.numbers = {p.id: i for i, p in enumerate(index.passages)}
        self.document_terms: dict[str, set[str]] = {}
        for passage in index.passages:
            self.document_terms.setdefault(passage.doc_id, set()).update(content_words(passage.indexed_text))
        self.frequency: dict[str, int] = {}
        for words in self.document_terms.values():
            for word in words:
                self.frequency[word] = self.frequency.get(word, 0) + 1

    def features(self, question: str, passages: Sequence[Passage]) -> dict[str, float]:
        """The FEATURES of `passages` (best first, with cosine scores) as evidence for `question`."""
        vector = self.embedder.embed([question])[0]
        cosines = sorted((p.score for p in passages), reverse=True) + [0.0, 0.0]
        best = passages[0] if passages else None
        values = dict.fromkeys(FEATURES, 0.0)
        values.update(cosine=cosines[0], second_cosine=cosines[1], margin=cosines[0] - cosines[1])

        weights = self._word_weights(question)
        total = sum(weights.values())
        if total:
            values["unknown_words"] = sum(w for word, w in weights.items() if word not in self.frequency) / total
        if best is None:
            return values
        row = self.positions[best.doc_id]
        documents = self.index.documents
        values["title"] = float(documents.titles[row] @ vector)
        values["document"] = float(documents.centroids[row] @ vector)
        if total:
            in_passage = content_words(best.indexed_text)  # as shown: instructions removed
            in_document = self.document_terms.get(best.doc_id, set())
            values["coverage"] = sum(w for word, w in weights.items() if word in in_passage) / total
            values["document_coverage"] = sum(w for word, w in weights.items() if word in in_document) / total

        keywords = self.index.lexical.search(question, 20)
        if keywords:
            by_id = dict(keywords)
            values["keyword"] = by_id.get(self.numbers.get(best.id, -1), 0.0) / keywords[0][1]
            values["agreement"] = float(self.index.passages[keywords[0][0]].doc_id == best.doc_id)
        return values

    def _word_weights(self, question: str) -> dict[str, float]:
        """IDF over documents, so "domain" in a domains knowledge base weighs less than "GoDaddy"."""
        count = len(self.document_terms) + 1
        return {word: math.log(count / (self.frequency.get(word, 0) + 0.5)) for word in set(content_words(question))}


@dataclass(frozen=True)
class AbstentionModel:
    """P(the knowledge base answers the question) = sigmoid(weights · standardised features + bias)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5  # answer when the probability reaches it
    embedder: str = ""  # the features' cosines are this embedder's
    trained_on: int = 0

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(
            w * (values.get(name, 0.0) - m) / s for name, m, s, w in zip(self.features, self.mean, self.scale, self.weights)
        )
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))

    def save(self, folder: str | Path) -> None:
        path = Path(folder) / MODEL_FILE
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, embedder: str) -> AbstentionModel | None:
        """The model saved beside an index by `calibrate`, or None when there is none."""
        path = Path(folder) / MODEL_FILE
        if not path.exists():
            return None
        again = "run `python -m chatbot calibrate --questions <labelled set>` again, or delete it"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
            model = cls(**fields)
        except (OSError, ValueError, TypeError) as error:
            raise IndexMismatchError(f"The abstention model {path} is unreadable ({error}): {again}.") from error
        if model.embedder != embedder:
            raise IndexMismatchError(f"The abstention model {path} was calibrated with {model.embedder!r}, not {embedder!r}: {again}.")
        return model


@dataclass(frozen=True)
class Abstention:
    """The calibrated decision: P(the knowledge base answers) from the evidence's features."""

    reader: EvidenceReader
    model: AbstentionModel

    def probability(self, question: str, passages: Sequence[Passage]) -> float:
        return self.model.probability(self.reader.features(question, passages))


def fit_abstention(rows: Sequence[dict[str, float]], answerable: Sequence[bool], l2: float = 1.0, **extra: Any) -> AbstentionModel:
    """Logistic regression (Newton's method, L2 penalty) on standardised features.

    >>> rows = [{"cosine": c} for c in (0.1, 0.2, 0.3, 0.6, 0.7, 0.8)]
    >>> model = fit_abstention(rows, [False, False, False, True, True, True])
    >>> model.probability({"cosine": 0.75}) > 0.5 > model.probability({"cosine": 0.15})
    True
    """
    import numpy as np

    X = np.array([[row.get(name, 0.0) for name in FEATURES] for row in rows], dtype=float)
    y = np.array(answerable, dtype=float)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    Z = np.hstack([(X - mean) / scale, np.ones((len(X), 1))])
    w = _newton(Z, y, l2)
    return AbstentionModel(
        FEATURES, tuple(mean.tolist()), tuple(scale.tolist()), tuple(w[:-1].tolist()), float(w[-1]), trained_on=len(rows), **extra
    )


def out_of_fold(rows: Sequence[dict[str, float]], answerable: Sequence[bool], folds: int = 5, seed: int = 0) -> list[float]:
    """Each row's probability from a model fitted without its fold: honest figures on the set
    the model is calibrated on."""
    import numpy as np

    fold_of = np.random.default_rng(seed).permutation(len(rows)) % folds
    result = [0.0] * len(rows)
    for fold in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != fold]
        model = fit_abstention([rows[i] for i in train], [answerable[i] for i in train])
        for i in np.flatnonzero(fold_of == fold).tolist():
            result[i] = model.probability(rows[i])
    return result


def choose_threshold(probabilities: Sequence[float], answerable: Sequence[bool], answer_rate: float) -> float:
    """The highest threshold that still answers `answer_rate` of the answerable questions.

    >>> choose_threshold([0.9, 0.8, 0.7, 0.6, 0.2], [True, True, True, True, False], 0.75)
    0.7
    """
    kept = sorted((p for p, a in zip(probabilities, answerable) if a), reverse=True)
    if not kept:
        return 0.5
    return kept[max(0, math.ceil(answer_rate * len(kept)) - 1)]


def _newton(Z: np.ndarray, y: np.ndarray, l2: float, steps: int = 50) -> np.ndarray:
    import numpy as np

    w = np.zeros(Z.shape[1])
    penalty = np.r_[np.full(Z.shape[1] - 1, l2), 0.0]  # the bias is not penalised
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(Z @ w, -50, 50)))
        gradient = Z.T @ (p - y) + penalty * w
        hessian = Z.T @ (Z * (p * (1 - p))[:, None]) + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


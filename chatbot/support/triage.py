"""Ticket triage for the batch run: intent, sentiment and urgency from the words that decide them
and by similarity to labelled example messages (chatbot/support/triage.toml, or a store's own
file), the ticket's language, and whether it disputes a payment (a person must handle it)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from chatbot.answer.guardrails import payment_dispute
from chatbot.errors import EvalSetError, SettingsError
from chatbot.knowledge.embedding import Embedder, QueryEmbedder
from chatbot.knowledge.examples import read_examples

TRIAGE_FILE = Path(str(files("chatbot.support") / "triage.toml"))  # package data
FIELDS = ("intent", "sentiment", "urgency")
DISPUTE = "payment_dispute"  # the flag's name in labelled tickets and in the scores
Embed = Callable[[Sequence[str]], Any]  # texts -> their unit vectors, one row each
RULES = ("pattern_only", "unreadable", "payment_dispute", "shouting")  # a triage file's [rules], see triage.toml

# Shouting (two capitalised words in a row, "THREE WEEKS", "STOP EMAILING") and "??": signs of
# an upset customer in any language that writes with capitals and question marks. Case matters,
# so these live here and not among the file's case-insensitive patterns.
_SHOUTING = re.compile(r"\b[A-Z][A-Z'’]{2,}\b[\s,.!?]+[A-Z][A-Z'’]+\b")
_REPEATED_QUESTION = re.compile(r"(\?\s*){2,}|？{2,}")


@dataclass(frozen=True)
class Triage:
    intent: str
    sentiment: str
    urgency: str
    language: str
    payment_dispute: bool = False  # a person must handle it (answer/guardrails.payment_dispute)

    def as_dict(self) -> dict[str, str]:
        return {"intent": self.intent, "sentiment": self.sentiment, "urgency": self.urgency, "language": self.language}


class TicketTriage:
    """Labels tickets the way a support lead sorts a queue. A field's pattern that matches
    decides it: the words of frustration and anger make a ticket negative, a deadline or a
    threat makes it urgent, however the rest is put; the first pattern in the file wins, so
    the file lists negative cues before positive ones ("thanks for nothing"). Otherwise the
    label whose examples' mean embedding (centroid) is nearest wins, among the labels that the
    file's `[rules] pattern_only` does not keep for the patterns. A ticket is read from its
    first `max_chars` (the subject and opening say what it is about).

    Shouting ("THREE WEEKS") or "??" gives `[rules] shouting`'s labels, before the patterns.
    Two cases the examples cannot read: a ticket mostly in a script other than Latin (Chinese,
    Arabic, ...) is one the English embedder sees as noise, so it is compared with the examples
    by the multilingual `language_embedder` instead (E5 reads a Chinese ticket beside English
    examples), or, without one, gets `[rules] unreadable`'s labels unless a pattern decides; and a
    payment dispute gets `[rules] payment_dispute`'s labels whatever else it says, and
    `payment_dispute=True`.

    Centroids beat the nearest 1, 3, 5 or 8 examples in leave-one-out on chatbot/support/triage.toml
    (intent 0.73 against at best 0.67, sentiment 0.79 against 0.66, urgency 0.72 against 0.58),
    and matched a softmax regression on the same embeddings (0.73, 0.78, 0.74). On evals/triage.jsonl
    the centroid of the "high" urgency examples drew in ordinary complaints (15 of 69 normal
    tickets), while the urgency patterns were right on every ticket they matched: hence high
    urgency from the patterns alone."""

    def __init__(
        self, embedder: Embedder, examples_file: str | Path = TRIAGE_FILE, max_chars: int = 1000,
        language_embedder: QueryEmbedder | None = None,
    ) -> None:
        data, self.patterns = read_examples(examples_file, "triage examples")
        rules = data.pop("rules", {})
        unknown = set(rules) - set(RULES) if isinstance(rules, dict) else {"rules"}
        if unknown:
            raise SettingsError(f"{examples_file}: [rules] knows {', '.join(RULES)}; remove or rename {', '.join(sorted(unknown))}.")
        missing = [f for f in FIELDS if len(data.get(f, {})) < 2]
        if missing:
            raise SettingsError(f"{examples_file} needs at least two labels with examples for: {', '.join(missing)}.")
        self.embedder = embedder
        self.max_chars = max_chars
        known = {f: set(data[f]) | {label for field, label, _ in self.patterns if field == f} for f in FIELDS}
        pattern_only = _rule(rules, "pattern_only", examples_file, known, many=True)
        self.unreadable: dict[str, str] = _rule(rules, "unreadable", examples_file, known)
        self.dispute_labels: dict[str, str] = _rule(rules, "payment_dispute", examples_file, known)
        self.shouting: dict[str, str] = _rule(rules, "shouting", examples_file, known)
        self.labels = {f: [label for label in data[f] if label not in pattern_only.get(f, [])] for f in FIELDS}
        if any(len(labels) < 1 for labels in self.labels.values()):
            raise SettingsError(f"{examples_file}: [rules] pattern_only leaves a field no label for its examples to give.")
        self.examples = {f: [data[f][label] for label in self.labels[f]] for f in FIELDS}
        self.centroids = _centroids(self.examples, embedder.embed)  # field -> one unit vector per label
        # The multilingual embedder's centroids, made at the first ticket it reads (E5's "query: "
        # on both sides, as for comparing two messages).
        self.language_embedder = language_embedder
        self._language_centroids: dict[str, Any] | None = None
        self.languages = LanguageGuesser()

    def classify(self, texts: Sequence[str]) -> list[Triage]:
        """The triage of each ticket text, embedded together."""
        if not texts:
            return []
        clipped = [t[: self.max_chars] for t in texts]
        readable = [latin_script(text) for text in texts]
        # Each ticket is embedded once: by the multilingual embedder when it is not in Latin script
        # and there is one, else by the first embedder.
        by_language = [i for i, latin in enumerate(readable) if not latin] if self.language_embedder is not None else []
        by_first = sorted(set(range(len(texts))) - set(by_language))
        nearest = self._nearest(by_first, clipped, self.embedder.embed, self.centroids)
        if self.language_embedder is not None and by_language:
            if self._language_centroids is None:
                self._language_centroids = _centroids(self.examples, self.language_embedder.embed_queries)
            nearest |= self._nearest(by_language, clipped, self.language_embedder.embed_queries, self._language_centroids)
        triages = []
        for i, text in enumerate(texts):
            labels = dict(nearest[i])
            if not readable[i] and self.language_embedder is None:
                labels.update(self.unreadable)
            if _SHOUTING.search(text) or _REPEATED_QUESTION.search(text):
                labels.update(self.shouting)
            for field, label, pattern in reversed(self.patterns):  # the first pattern in the file wins
                if pattern.search(text):
                    labels[field] = label
            dispute = payment_dispute(text)
            if dispute:
                labels.update(self.dispute_labels)
            triages.append(Triage(**labels, language=self.languages.guess(text), payment_dispute=dispute))
        return triages

    def _nearest(
        self, positions: Sequence[int], texts: Sequence[str], embed: Embed, centroids: Mapping[str, Any]
    ) -> dict[int, dict[str, str]]:
        """For the texts at `positions`, each field's label whose centroid is nearest."""
        if not positions:
            return {}
        vectors = embed([texts[i] for i in positions])
        best = {f: (vectors @ centroids[f].T).argmax(axis=1) for f in FIELDS}
        return {i: {f: self.labels[f][best[f][row]] for f in FIELDS} for row, i in enumerate(positions)}


def _centroids(examples: Mapping[str, Sequence[Sequence[str]]], embed: Embed) -> dict[str, Any]:
    """Per field, the unit mean vector of each label's examples (in the order of the labels)."""
    import numpy as np

    centroids = {}
    for field, labels in examples.items():
        means = np.stack([embed(list(texts)).mean(axis=0) for texts in labels])
        centroids[field] = means / np.linalg.norm(means, axis=1, keepdims=True)
    return centroids


def _rule(rules: Mapping[str, Any], name: str, path: str | Path, known: Mapping[str, set[str]], many: bool = False) -> dict[str, Any]:
    """`[rules] name` of a triage file: field -> label (with `many`, field -> list of labels),
    each a label that the field's examples or patterns have; {} when the file has no such rule."""
    table = rules.get(name, {})
    entries = table.items() if isinstance(table, dict) else [("", None)]
    for field, value in entries:
        labels = value if many and isinstance(value, list) else [value]
        if field not in FIELDS or not all(isinstance(label, str) and label in known[field] for label in labels):
            raise SettingsError(
                f"{path}: [rules] {name} = {table!r} names a field or label the file does not have. Write it as "
                f"{{ field = {'[labels]' if many else 'label'} }}, with fields {', '.join(FIELDS)} and their labels."
            )
    return dict(table)


def latin_script(text: str) -> bool:
    """Whether most of the letters of `text` are Latin ones, which the embedder was trained to
    read; a text with no letters at all is not.

    >>> latin_script("Où est ma commande ?"), latin_script("我的订单MM63551还没有发货")
    (True, False)
    """
    letters = [c for c in text if c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return bool(letters) and latin * 2 > len(letters)


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


def read_labelled_tickets(path: str | Path) -> list[dict[str, Any]]:
    """The hand-labelled tickets of a JSONL file (text, intent, sentiment, urgency, language, and
    optionally payment_dispute: true or false)."""
    path = Path(path)
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        raise EvalSetError(f"Cannot read {path}: {error}") from error
    for number, row in enumerate(rows, 1):
        missing = [f for f in ("text", *FIELDS, "language") if not isinstance(row.get(f), str) or not row[f]]
        if missing:
            raise EvalSetError(f"{path}, line {number}: missing {', '.join(missing)}.")
        if not isinstance(row.get(DISPUTE, False), bool):
            raise EvalSetError(f"{path}, line {number}: {DISPUTE} must be true or false, not {row[DISPUTE]!r}.")
    if not rows:
        raise EvalSetError(f"{path} has no rows.")
    return rows


def score_triage(predicted: Sequence[Triage], expected: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy, macro F1 and the confusion counts (expected -> predicted -> n) of each field
    against hand labels; language is scored too, and the payment-dispute flag ("yes"/"no")
    where every row is labelled with it.

    >>> score_triage([Triage("refund", "negative", "high", "en")],
    ...              [{"intent": "refund", "sentiment": "neutral", "urgency": "high", "language": "en"}])["sentiment"]["accuracy"]
    0.0
    """
    fields: dict[str, list[tuple[str, str]]] = {
        field: [(row[field], getattr(p, field)) for p, row in zip(predicted, expected)] for field in (*FIELDS, "language")
    }
    if expected and all(DISPUTE in row for row in expected):
        yes_no = {True: "yes", False: "no"}
        fields[DISPUTE] = [(yes_no[row[DISPUTE]], yes_no[p.payment_dispute]) for p, row in zip(predicted, expected)]
    return {field: _score(pairs) for field, pairs in fields.items()}


def _score(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy, macro F1 and confusion counts of (expected, predicted) labels."""
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
    return {
        "accuracy": round(sum(t == g for t, g in pairs) / len(pairs), 3),
        "macro_f1": round(sum(f1s) / len(f1s), 3),
        "confusion": confusion,
    }

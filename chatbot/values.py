"""Small frozen values that flow from retrieval through the pipeline to every user interface."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Passage:
    """One retrievable piece of a knowledge-base document.

    `id` is stable across rebuilds (document id + heading path), so eval sets and logs can name it.
    """

    id: str
    doc_id: str
    title: str
    text: str
    source: str
    headings: tuple[str, ...] = ()
    score: float = 0.0

    @property
    def indexed_text(self) -> str:
        """What gets embedded and matched: the title and heading path travel with the text."""
        context = " > ".join(dict.fromkeys((self.title, *self.headings)))
        return f"{context}\n{self.text}" if context else self.text

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.indexed_text.encode("utf-8")).hexdigest()[:16]

    def with_score(self, score: float) -> Passage:
        return replace(self, score=float(score))

    def snippet(self, chars: int = 220) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= chars else text[: chars - 1].rsplit(" ", 1)[0] + "…"

    def as_source(self) -> dict[str, Any]:
        """The citation shape shared by the CLI, the batch writer and the logs."""
        return {"id": self.id, "doc_id": self.doc_id, "title": self.title, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    """What the bot says, the passages it cites ([1] in `text` is `sources[0]`), and why."""

    text: str
    sources: tuple[Passage, ...] = ()
    confidence: float = 0.0
    escalate: bool = False
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # Sentences the model wrote that its sources do not support, each with why (see answer/grounding.py).
    dropped: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "sources": [p.as_source() for p in self.sources],
            "escalate": self.escalate,
            "confidence": round(self.confidence, 4),
            "reason": self.reason,
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "dropped": [{"sentence": sentence, "reason": reason} for sentence, reason in self.dropped],
        }

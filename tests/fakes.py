"""Deterministic stand-ins for the models, for fast tests with exact assertions."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

STOPWORDS = {"a", "an", "the", "do", "i", "to", "of", "is", "my", "can", "for", "and", "in", "how", "what", "you", "it"}


class ToyEmbedder:
    """Hashed bag of words: texts sharing words are close; no shared word gives a score of 0."""

    def __init__(self, dimension: int = 512, id: str = "toy-bag-of-words") -> None:
        self.id = id
        self.dimension = dimension
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if word not in STOPWORDS:
                    bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension
                    vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class ScriptedGenerator:
    """Replies with the given texts in turn, word by word, and records the messages it was sent."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.received: list[list[dict[str, str]]] = []
        self.temperatures: list[float | None] = []

    def stream(
        self, messages: Sequence[dict[str, str]], max_new_tokens: int, temperature: float | None = None
    ) -> Iterator[str]:
        self.received.append([dict(m) for m in messages])
        self.temperatures.append(temperature)
        reply = self.replies.pop(0) if self.replies else ""
        yield from re.findall(r"\S+\s*", reply)


class BatchScriptedGenerator(ScriptedGenerator):
    """Replies by question: the first reply whose key is in the prompt's question; records how many
    chats each call brought and how many it could write at once."""

    def __init__(self, replies: dict[str, str]) -> None:
        super().__init__()
        self.by_key = replies
        self.batches: list[int] = []
        self.rows_at_once: list[int] = []

    def generate_batch(
        self, conversations: Sequence[Sequence[dict[str, str]]], max_new_tokens: int, stop_when: object = None, rows: int = 16
    ) -> list[str]:
        self.batches.append(len(conversations))
        self.rows_at_once.append(rows)
        self.received += [[dict(m) for m in c] for c in conversations]
        questions = [c[-1]["content"].rpartition("Question:")[2] for c in conversations]
        return [next((r for k, r in self.by_key.items() if k in q), "") for q in questions]

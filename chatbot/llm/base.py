"""The engine's contract: the chat message type and the protocols the rest of the project
depends on (a generator that streams a reply, one that writes many replies at once, a decoder
whose replies share a running batch, one that scores text). Nothing here imports torch or
transformers."""

from __future__ import annotations

import collections.abc
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": text}
# A reply as it is written, piece by piece; closing it early stops the writing.
Reply = collections.abc.Generator[str, None, None]


@runtime_checkable
class Generator(Protocol):
    def stream(self, messages: Sequence[Message], max_new_tokens: int, temperature: float | None = None) -> Reply:
        """Yield the reply to a chat (role/content messages) piece by piece; `temperature`, when
        given, overrides the generator's own (0: greedy)."""
        ...


@runtime_checkable
class BatchGenerator(Protocol):
    """A generator that writes replies to many chats at once (ticket runs)."""

    def generate_batch(self, conversations: Sequence[Sequence[Message]], max_new_tokens: int,
                       stop_when: Callable[[str], bool] | None = None, rows: int = 16) -> list[str]: ...


class DecodingBatch(Protocol):
    """Replies written together (continuous_batch.RunningBatch): `add` and `step` give each row's new piece
    of text, or None where its reply ended; `keep` says in which order the kept rows now are."""

    def can_join(self) -> bool: ...

    def add(self, conversations: Sequence[Sequence[Message]], temperatures: Sequence[float | None]) -> list[str | None]: ...

    def step(self) -> list[str | None]: ...

    def keep(self, rows: Sequence[int]) -> list[int]: ...


@runtime_checkable
class BatchDecoder(Protocol):
    def open_batch(self) -> DecodingBatch: ...


@runtime_checkable
class Scorer(Protocol):
    """A decoder that scores text instead of writing it (knowledge/rerank.py's bundled reranker):
    how likely it finds a continuation after each of several prompts."""

    def first_tokens(self, text: str, count: int) -> str:
        """`text` cut to its first `count` tokens (all of it when shorter)."""
        ...

    def mean_log_probabilities(self, prompts: Sequence[str], continuation: str, max_tokens: int) -> list[float]:
        """For each prompt, the mean log-probability of `continuation`'s tokens (its first
        `max_tokens`) following it, the prompts scored together in one batch."""
        ...


def generate(generator: Generator, messages: Sequence[Message], max_new_tokens: int) -> str:
    """The whole reply at once."""
    return "".join(generator.stream(messages, max_new_tokens))

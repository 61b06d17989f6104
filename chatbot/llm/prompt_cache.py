"""The keys and values of prompts read lately, so that a new prompt that starts with the same
tokens as one of them is read only from where they part.

Shoppers' prompts share their start: the system prompt always, and the first passages whenever
retrieval ranks the same page first; a question many shoppers ask gives the same whole prompt.
The cache is bounded in bytes and forgets the prompt used least recently (the key/value cache
of the bundled model takes 23 KB a token, so 512 MB holds about 36 prompts of 600 tokens)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

Layers = list[tuple[Any, Any]]  # per layer: keys and values, 1 x key/value heads x positions x head dim


@dataclass(frozen=True)
class Found:
    """What the cache holds of a prompt: its first `length` positions' keys and values per layer
    (`layers`, each sliced to those positions), and the logits after its last token when the
    whole prompt is held (`logits`, else None)."""

    length: int
    layers: Layers
    logits: Any = None


def shared_length(first: tuple[int, ...], second: tuple[int, ...]) -> int:
    """How many tokens the two start with in common (found by halving, comparing slices).

    >>> shared_length((1, 2, 3, 4), (1, 2, 5)), shared_length((1, 2), (1, 2, 3)), shared_length((4,), (1,))
    (2, 2, 0)
    """
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class PromptCache:
    """Prompts' keys and values, most recently used last, within `budget_bytes`. Thread-safe."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.held = 0
        # (reader, tokens): keys, values, logits and their bytes. The reader names how the prompt
        # was read (the lean step's bf16 or a model's own forward in its dtype): a prompt's
        # start is used only by the reader that read it.
        self._entries: OrderedDict[tuple[str, tuple[int, ...]], tuple[Layers, Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.reused = 0  # prompt tokens found here, over every lookup

    def find(self, reader: str, ids: list[int]) -> Found | None:
        """The cached prompt sharing the longest start with `ids`, sliced to that start (short of
        `ids`' last token unless the whole prompt is held, with its logits); None when none shares a token."""
        key = tuple(ids)
        with self._lock:
            best: tuple[int, ...] | None = None
            length = 0
            for held_by, tokens in self._entries:
                shared = shared_length(tokens, key) if held_by == reader else 0
                if shared > length:
                    best, length = tokens, shared
            whole = best is not None and length == len(ids) == len(best)
            if not whole:  # the last token is read again, for the logits after it
                length = min(length, len(ids) - 1)
            if best is None or length <= 0:
                return None
            self._entries.move_to_end((reader, best))
            layers, logits, _ = self._entries[reader, best]
            self.reused += length
        return Found(length, [(k[:, :, :length], v[:, :, :length]) for k, v in layers], logits if whole else None)

    def store(self, reader: str, ids: list[int], layers: Layers, logits: Any) -> None:
        """Hold a prompt just read: its keys and values (copied) and the logits after it. A held
        prompt that the new one starts with is replaced by it."""
        size = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in layers)
        size += logits.numel() * logits.element_size()
        if size > self.budget:
            return
        key = tuple(ids)
        copied = [(k.clone(), v.clone()) for k, v in layers]  # views of buffers the batch writes on
        with self._lock:
            for held in [(r, t) for r, t in self._entries if r == reader and len(t) <= len(key) and key[:len(t)] == t]:
                self.held -= self._entries.pop(held)[2]
            while self._entries and self.held + size > self.budget:
                self.held -= self._entries.popitem(last=False)[1][2]
            self._entries[reader, key] = (copied, logits.clone(), size)
            self.held += size

    def __len__(self) -> int:
        return len(self._entries)


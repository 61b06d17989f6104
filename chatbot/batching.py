"""Many shoppers at once: chats that ask within a few milliseconds of each other are written in
one generation (micro-batching), each still streamed to its own shopper, instead of queueing
behind one lock. A bounded wait list: beyond it, "busy, please retry"."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatbot.errors import BusyError
from chatbot.generation import Message

log = logging.getLogger(__name__)
_END = object()


class BatchStreaming(Protocol):
    def stream_batch(
        self,
        conversations: Sequence[Sequence[Message]],
        max_new_tokens: Sequence[int],
        emit: Callable[[int, str], None],
        stopped: Callable[[int], bool],
        temperature: float | None = None,
    ) -> None: ...


@dataclass
class _Request:
    messages: Sequence[Message]
    max_new_tokens: int
    temperature: float | None
    pieces: queue.Queue = field(default_factory=queue.Queue)  # text, then _END (or an exception)
    cancelled: threading.Event = field(default_factory=threading.Event)


class BatchingGenerator:
    """A Generator that batches concurrent `stream` calls on a decoder with `stream_batch`.

    A batch starts when a request arrives; requests arriving in the next `window_ms` join it (up
    to `max_batch`, with the same temperature). Requests arriving while a batch is written wait
    for the next one. More than `max_waiting` waiting requests: `BusyError` at once, not a
    growing delay. Other calls (`generate_batch` for ticket runs, the reranker) go straight to
    the decoder.
    """

    def __init__(self, decoder: BatchStreaming, max_batch: int = 8, window_ms: float = 25.0, max_waiting: int = 32) -> None:
        self.decoder = decoder
        self.max_batch = max_batch
        self.window = window_ms / 1000
        self._waiting: queue.Queue[_Request] = queue.Queue(maxsize=max_waiting)
        self._held: deque[_Request] = deque()  # taken from the queue but left for the next batch
        self.batch_sizes: list[int] = []  # how many requests each batch held (for tests and benchmarks)
        self._worker = threading.Thread(target=self._run, name="batching-generator", daemon=True)
        self._worker.start()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.decoder, name)

    def stream(self, messages: Sequence[Message], max_new_tokens: int, temperature: float | None = None) -> Iterator[str]:
        request = _Request(list(messages), max_new_tokens, temperature)
        try:
            self._waiting.put_nowait(request)
        except queue.Full:
            raise BusyError("Many shoppers are asking right now; please try again in a moment.") from None
        try:
            while (item := request.pieces.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            request.cancelled.set()  # a shopper who left stops their row

    def _next_batch(self) -> list[_Request]:
        """The next request (one held back first), and those that can join it within the window;
        requests with another temperature are held back, oldest first, for a later batch."""
        first = self._held.popleft() if self._held else self._waiting.get()
        earlier, self._held = self._held, deque()
        batch, deadline = [first], time.monotonic() + self.window
        while len(batch) < self.max_batch and len(self._held) < self.max_batch:
            if earlier:
                candidate = earlier.popleft()
            else:
                try:
                    candidate = self._waiting.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            (batch if candidate.temperature == first.temperature else self._held).append(candidate)
        self._held = deque([*earlier, *self._held])
        return [r for r in batch if not r.cancelled.is_set()]

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                continue
            self.batch_sizes.append(len(batch))
            try:
                self.decoder.stream_batch(
                    [r.messages for r in batch],
                    [r.max_new_tokens for r in batch],
                    lambda row, text: batch[row].pieces.put(text),
                    lambda row: batch[row].cancelled.is_set(),
                    batch[0].temperature,
                )
            except Exception as error:  # noqa: BLE001 - handed to every waiting shopper's stream, which re-raises it
                log.exception("Batched generation failed")
                for request in batch:
                    request.pieces.put(error)
            for request in batch:
                request.pieces.put(_END)

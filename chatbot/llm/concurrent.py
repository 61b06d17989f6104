"""Many shoppers at once: every chat being written shares one batch that chats join and leave at
each token (continuous batching), each still streamed to its own shopper, instead of queueing
behind one lock. A bounded wait list: beyond it, "busy, please retry"."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chatbot.errors import BusyError
from chatbot.llm.base import BatchDecoder, DecodingBatch, Message, Reply, Scorer
from chatbot.llm.continuous_batch import write_replies

log = logging.getLogger(__name__)
_END = object()


@dataclass
class _Request:
    messages: Sequence[Message]
    max_new_tokens: int
    temperature: float | None
    pieces: queue.Queue = field(default_factory=queue.Queue)  # text, then _END (or an exception)
    cancelled: threading.Event = field(default_factory=threading.Event)
    written: int = 0  # tokens so far


class ConcurrentGenerator:
    """A Generator that writes concurrent `stream` calls in one running batch of a decoder.

    When the batch is empty, a request starts it and those arriving in the next `window_ms`
    join at once. While it runs, waiting requests join before each token, up to `max_batch`
    rows; a finished or abandoned reply leaves at once, making room. More than `max_waiting`
    waiting requests: `BusyError` at once, not a growing delay. The other calls callers make
    (`generate_batch` for ticket runs and the staff panel, the bundled reranker's scores) go
    straight to the decoder, beside the running batch.
    """

    def __init__(self, decoder: BatchDecoder, max_batch: int = 8, window_ms: float = 25.0, max_waiting: int = 32) -> None:
        self.decoder = decoder
        self.max_batch = max_batch
        self.window = window_ms / 1000
        self._waiting: queue.Queue[_Request] = queue.Queue(maxsize=max_waiting)
        self.batch_sizes: list[int] = []  # how many requests joined each time some did (for tests and benchmarks)
        self._worker = threading.Thread(target=self._run, name="concurrent-generator", daemon=True)
        self._worker.start()

    def generate_batch(self, conversations: Sequence[Sequence[Message]], max_new_tokens: int,
                       stop_when: Callable[[str], bool] | None = None, rows: int = 16) -> list[str]:
        """Replies to many chats at once (base.BatchGenerator), in a batch of the decoder's own:
        `TransformersGenerator.generate_batch`, for any decoder."""
        return write_replies(self.decoder.open_batch(), conversations, max_new_tokens, rows, stop_when)

    def first_tokens(self, text: str, count: int) -> str:
        """The decoder's (base.Scorer), for the bundled reranker."""
        return self._scorer().first_tokens(text, count)

    def mean_log_probabilities(self, prompts: Sequence[str], continuation: str, max_tokens: int) -> list[float]:
        """The decoder's (base.Scorer), for the bundled reranker."""
        return self._scorer().mean_log_probabilities(prompts, continuation, max_tokens)

    def _scorer(self) -> Scorer:
        if not isinstance(self.decoder, Scorer):
            raise TypeError(f"{type(self.decoder).__name__} does not score text, as the bundled reranker needs.")
        return self.decoder

    def stream(self, messages: Sequence[Message], max_new_tokens: int, temperature: float | None = None) -> Reply:
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

    def _joining(self, room: int, wait: bool) -> list[_Request]:
        """Waiting requests that can join now, up to `room`: when `wait`, block for the first and
        take those arriving within the window after it."""
        joining: list[_Request] = []
        deadline = None
        while len(joining) < room:
            try:
                if wait and deadline is None:
                    joining.append(self._waiting.get())
                    deadline = time.monotonic() + self.window
                elif deadline is not None:
                    joining.append(self._waiting.get(timeout=max(0.0, deadline - time.monotonic())))
                else:
                    joining.append(self._waiting.get_nowait())
            except queue.Empty:
                break
        return [r for r in joining if not r.cancelled.is_set()]

    def _run(self) -> None:
        batch: DecodingBatch | None = None
        rows: list[_Request] = []
        while True:
            room = self.max_batch - len(rows) if batch is None or batch.can_join() else 0
            joining = self._joining(room, wait=not rows) if room else []
            if joining:
                batch = batch or self.decoder.open_batch()
                self.batch_sizes.append(len(joining))
                try:
                    pieces = batch.add([r.messages for r in joining], [r.temperature for r in joining])
                except Exception as error:  # noqa: BLE001 - the batch is unchanged; these shoppers' streams re-raise it
                    self._fail(joining, error)
                else:
                    rows += joining
                    self._hand_out(joining, pieces, batch, rows, first=len(rows) - len(joining))
            if rows:
                assert batch is not None  # rows are only ever added to a batch
                try:
                    self._hand_out(rows, batch.step(), batch, rows, first=0)
                except Exception as error:  # noqa: BLE001 - handed to every shopper in the batch
                    self._fail(rows, error)
                    rows = []
            if not rows:
                batch = None

    @staticmethod
    def _fail(requests: list[_Request], error: Exception) -> None:
        log.error("Batched generation failed: %s", error, exc_info=error)
        for request in requests:
            request.pieces.put(error)
            request.pieces.put(_END)

    def _hand_out(self, writers: list[_Request], pieces: list[str | None], batch: DecodingBatch,
                  rows: list[_Request], first: int) -> None:
        """Pass each new piece to its shopper; rows whose reply ended, reached its length or
        whose shopper left, leave the batch (`rows` is updated in place)."""
        ended = set()
        for offset, (request, piece) in enumerate(zip(writers, pieces)):
            if piece is not None:
                request.written += 1
                if piece:
                    request.pieces.put(piece)
            if piece is None or request.written >= request.max_new_tokens or request.cancelled.is_set():
                request.pieces.put(_END)
                ended.add(first + offset)
        if ended:
            staying = [row for row in range(len(rows)) if row not in ended]
            order = batch.keep(staying)
            rows[:] = [rows[row] for row in order]

"""Micro-batching of concurrent chats, with a fake decoder: who shares a batch, what each shopper
receives, cancellation, the busy limit and errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from chatbot.batching import BatchingGenerator
from chatbot.errors import BusyError


class FakeBatchDecoder:
    """Writes each row's question back word by word, one word per step for every row at once;
    `hold` keeps a batch open until released."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[str], float | None]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()
        self.stopped_rows: list[int] = []

    def stream_batch(self, conversations: Sequence, max_new_tokens: Sequence[int], emit: Callable[[int, str], None],
                     stopped: Callable[[int], bool], temperature: float | None = None) -> None:
        questions = [c[-1]["content"] for c in conversations]
        self.batches.append((questions, temperature))
        self.started.set()
        self.hold.wait(5)
        words = [q.split() for q in questions]
        for step in range(max(len(w) for w in words)):
            for row, row_words in enumerate(words):
                if step < min(len(row_words), max_new_tokens[row]) and not stopped(row):
                    emit(row, row_words[step] + " ")
                elif stopped(row) and row not in self.stopped_rows:
                    self.stopped_rows.append(row)
            time.sleep(0.01)
        if any("explode" in q for q in questions):
            raise RuntimeError("out of memory")


def ask_together(generator: BatchingGenerator, questions: list[str], **kwargs) -> list[str | Exception]:
    replies: list[str | Exception] = [""] * len(questions)

    def ask(i: int) -> None:
        try:
            replies[i] = "".join(generator.stream([{"role": "user", "content": questions[i]}], 50, **kwargs))
        except Exception as error:  # noqa: BLE001 - the test looks at it
            replies[i] = error

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return replies


def test_concurrent_chats_share_one_generation_and_each_gets_its_own_reply() -> None:
    decoder = FakeBatchDecoder()
    generator = BatchingGenerator(decoder, max_batch=8, window_ms=200)
    questions = [f"question number {i} please" for i in range(5)]
    assert ask_together(generator, questions) == [q + " " for q in questions]
    assert generator.batch_sizes == [5] and sorted(decoder.batches[0][0]) == questions


def test_a_full_batch_starts_and_the_rest_wait_for_the_next() -> None:
    decoder = FakeBatchDecoder()
    generator = BatchingGenerator(decoder, max_batch=2, window_ms=200)
    replies = ask_together(generator, ["a b", "c d", "e f"])
    assert sorted(replies) == ["a b ", "c d ", "e f "] and generator.batch_sizes == [2, 1]


def test_different_temperatures_are_not_mixed() -> None:
    decoder = FakeBatchDecoder()
    generator = BatchingGenerator(decoder, max_batch=8, window_ms=200)
    greedy = threading.Thread(target=lambda: ask_together(generator, ["greedy one", "greedy two"]))
    greedy.start()
    ask_together(generator, ["sampled"], temperature=0.7)
    greedy.join(10)
    assert sorted((sorted(q), t) for q, t in decoder.batches) == [(["greedy one", "greedy two"], None), (["sampled"], 0.7)]


def test_beyond_the_wait_list_shoppers_are_told_to_retry() -> None:
    decoder = FakeBatchDecoder()
    decoder.hold.clear()  # the first batch is being written...
    generator = BatchingGenerator(decoder, max_batch=1, window_ms=1, max_waiting=2)
    first = threading.Thread(target=lambda: ask_together(generator, ["first"]))
    first.start()
    assert decoder.started.wait(5)
    waiting = threading.Thread(target=lambda: ask_together(generator, ["second", "third"]))
    waiting.start()
    time.sleep(0.2)  # ...while two more wait: the list is full
    with pytest.raises(BusyError, match="try again in a moment"):
        next(generator.stream([{"role": "user", "content": "fourth"}], 10))
    decoder.hold.set()
    first.join(10)
    waiting.join(10)
    assert generator.batch_sizes == [1, 1, 1]


def test_a_shopper_who_leaves_stops_only_their_row() -> None:
    decoder = FakeBatchDecoder()
    generator = BatchingGenerator(decoder, max_batch=8, window_ms=200)
    leaving = generator.stream([{"role": "user", "content": "one two three four five six"}], 50)
    staying: list[str | Exception] = []
    other = threading.Thread(target=lambda: staying.extend(ask_together(generator, ["seven eight nine ten eleven"])))
    other.start()
    assert next(leaving) == "one "
    leaving.close()
    other.join(10)
    assert staying == ["seven eight nine ten eleven "] and decoder.stopped_rows and generator.batch_sizes == [2]


def test_a_failed_generation_reaches_every_shopper_in_the_batch() -> None:
    generator = BatchingGenerator(FakeBatchDecoder(), max_batch=8, window_ms=200)
    replies = ask_together(generator, ["please explode", "innocent bystander"])
    assert all(isinstance(r, RuntimeError) and "out of memory" in str(r) for r in replies)
    assert ask_together(generator, ["still working"]) == ["still working "]  # the worker carries on

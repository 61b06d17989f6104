"""Continuous batching of concurrent chats, with a fake decoder: who shares the batch, joining a
running batch, what each shopper receives, cancellation, the busy limit and errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from chatbot.errors import BusyError
from chatbot.llm.concurrent import ConcurrentGenerator


class FakeBatch:
    """Writes each row's question back word by word, one word per step for every row at once."""

    def __init__(self, decoder: FakeBatchDecoder) -> None:
        self.decoder = decoder
        self.words: list[list[str]] = []

    def can_join(self) -> bool:
        return self.decoder.joinable or not self.words

    def add(self, conversations: Sequence, temperatures: Sequence[float | None]) -> list[str | None]:
        questions = [c[-1]["content"] for c in conversations]
        self.decoder.added.append((questions, list(temperatures), len(self.words)))
        self.decoder.started.set()
        self.decoder.hold.wait(5)
        if any("unreadable" in q for q in questions):
            raise ValueError("prompt too long")
        joining = [q.split() for q in questions]
        self.words += joining
        return next_words(joining)

    def step(self) -> list[str | None]:
        if any("explode" in " ".join(w) for w in self.words):
            raise RuntimeError("out of memory")
        time.sleep(0.01)
        return next_words(self.words)

    def keep(self, rows: Sequence[int]) -> list[int]:
        self.decoder.dropped += [" ".join(w) for r, w in enumerate(self.words) if r not in rows]
        order = sorted(rows, reverse=True)  # a new order, as the real batch may give
        self.words = [self.words[r] for r in order]
        return order


def next_words(rows: list[list[str]]) -> list[str | None]:
    return [words.pop(0) + " " if words else None for words in rows]


class FakeBatchDecoder:
    def __init__(self, joinable: bool = True) -> None:
        self.joinable = joinable
        self.added: list[tuple[list[str], list[float | None], int]] = []  # questions, temperatures, rows already there
        self.dropped: list[str] = []  # the words a row had left when it left the batch
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()

    def open_batch(self) -> FakeBatch:
        return FakeBatch(self)


def ask_together(generator: ConcurrentGenerator, questions: list[str], **kwargs) -> list[str | Exception]:
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
    generator = ConcurrentGenerator(decoder, max_batch=8, window_ms=200)
    questions = [f"question number {i} please" for i in range(5)]
    assert ask_together(generator, questions) == [q + " " for q in questions]
    assert generator.batch_sizes == [5] and sorted(decoder.added[0][0]) == questions


def test_a_waiting_chat_joins_the_running_batch_when_a_row_finishes() -> None:
    decoder = FakeBatchDecoder()
    generator = ConcurrentGenerator(decoder, max_batch=2, window_ms=200)
    replies = ask_together(generator, ["a b c d e f g h", "short", "i j"])
    assert replies == ["a b c d e f g h ", "short ", "i j "] and generator.batch_sizes == [2, 1]
    assert decoder.added[1] == (["i j"], [None], 1)  # joined while the long reply was still being written


def test_a_decoder_that_cannot_join_running_batches_starts_a_new_one() -> None:
    decoder = FakeBatchDecoder(joinable=False)
    generator = ConcurrentGenerator(decoder, max_batch=2, window_ms=200)
    replies = ask_together(generator, ["a b c d e f g h", "short", "i j"])
    assert replies == ["a b c d e f g h ", "short ", "i j "] and decoder.added[1][2] == 0


def test_each_row_keeps_its_own_temperature() -> None:
    decoder = FakeBatchDecoder()
    generator = ConcurrentGenerator(decoder, max_batch=8, window_ms=200)
    greedy = threading.Thread(target=lambda: ask_together(generator, ["greedy one", "greedy two"]))
    greedy.start()
    ask_together(generator, ["sampled"], temperature=0.7)
    greedy.join(10)
    pairs = sorted(pair for questions, temperatures, _ in decoder.added for pair in zip(questions, temperatures))
    assert pairs == [("greedy one", None), ("greedy two", None), ("sampled", 0.7)]


def test_beyond_the_wait_list_shoppers_are_told_to_retry() -> None:
    decoder = FakeBatchDecoder()
    decoder.hold.clear()  # the first chat is being read...
    generator = ConcurrentGenerator(decoder, max_batch=1, window_ms=1, max_waiting=2)
    first = threading.Thread(target=lambda: ask_together(generator, ["first"]))
    first.start()
    assert decoder.started.wait(5)
    waiting = threading.Thread(target=lambda: ask_together(generator, ["second", "third"]))
    waiting.start()
    deadline = time.monotonic() + 5
    while generator._waiting.qsize() < 2 and time.monotonic() < deadline:  # ...while two more wait: the list is full
        time.sleep(0.01)
    with pytest.raises(BusyError, match="try again in a moment"):
        next(generator.stream([{"role": "user", "content": "fourth"}], 10))
    decoder.hold.set()
    first.join(10)
    waiting.join(10)
    assert generator.batch_sizes == [1, 1, 1]


def test_a_shopper_who_leaves_stops_only_their_row() -> None:
    decoder = FakeBatchDecoder()
    generator = ConcurrentGenerator(decoder, max_batch=8, window_ms=200)
    leaving = generator.stream([{"role": "user", "content": "one two three four five six"}], 50)
    staying: list[str | Exception] = []
    other = threading.Thread(target=lambda: staying.extend(ask_together(generator, ["seven eight nine ten eleven"])))
    other.start()
    assert next(leaving) == "one "
    leaving.close()
    other.join(10)
    assert staying == ["seven eight nine ten eleven "] and generator.batch_sizes == [2]
    assert decoder.dropped[0].startswith(("three", "four", "five", "six"))  # left with words unwritten


def test_a_reply_stops_at_its_length() -> None:
    generator = ConcurrentGenerator(FakeBatchDecoder(), max_batch=8, window_ms=1)
    assert "".join(generator.stream([{"role": "user", "content": "one two three four"}], 2)) == "one two "


def test_a_failed_generation_reaches_every_shopper_in_the_batch() -> None:
    generator = ConcurrentGenerator(FakeBatchDecoder(), max_batch=8, window_ms=200)
    replies = ask_together(generator, ["please explode", "innocent bystander"])
    assert all(isinstance(r, RuntimeError) and "out of memory" in str(r) for r in replies)
    assert ask_together(generator, ["still working"]) == ["still working "]  # the worker carries on


def test_a_chat_that_cannot_be_read_fails_alone() -> None:
    decoder = FakeBatchDecoder()
    generator = ConcurrentGenerator(decoder, max_batch=8, window_ms=1)
    running = generator.stream([{"role": "user", "content": "a b c d e f g h i j k l"}], 50)
    assert next(running) == "a "
    assert isinstance(ask_together(generator, ["unreadable message"])[0], ValueError)
    assert "".join(running) == "b c d e f g h i j k l "


def test_a_ticket_run_keeps_the_batch_full_and_each_reply_whole() -> None:
    from chatbot.llm.continuous_batch import write_replies

    decoder = FakeBatchDecoder()
    chats = [[{"role": "user", "content": q}] for q in ["a b c d e f", "g", "h i", "j k l", "m"]]
    replies = write_replies(decoder.open_batch(), chats, max_new_tokens=50, rows=2)
    assert replies == ["a b c d e f ", "g ", "h i ", "j k l ", "m "]
    assert [(questions, already) for questions, _, already in decoder.added] == [
        (["a b c d e f", "g"], 0), (["h i"], 1), (["j k l"], 1), (["m"], 0)]  # joining the long reply while it ran


def test_a_ticket_reply_stops_at_its_length_or_when_asked() -> None:
    from chatbot.llm.continuous_batch import write_replies

    chats = [[{"role": "user", "content": "one two three four five six seven eight nine"}]]
    assert write_replies(FakeBatchDecoder().open_batch(), chats, max_new_tokens=3, rows=4) == ["one two three "]
    stopped = write_replies(FakeBatchDecoder().open_batch(), chats, 50, 4, stop_when=lambda text: "three" in text)
    assert stopped == ["one two three four "]  # checked every 4 tokens


def test_a_ticket_run_through_the_concurrent_generator_is_written_in_a_batch_of_its_own() -> None:
    from chatbot.llm.base import BatchGenerator

    decoder = FakeBatchDecoder()
    generator = ConcurrentGenerator(decoder, max_batch=8, window_ms=1)
    assert isinstance(generator, BatchGenerator)
    chats = [[{"role": "user", "content": q}] for q in ["a b c", "d", "e f"]]
    assert generator.generate_batch(chats, 50, rows=2) == ["a b c ", "d ", "e f "]
    assert generator.batch_sizes == []  # not the shoppers' running batch
    assert [questions for questions, _, _ in decoder.added] == [["a b c", "d"], ["e f"]]


class ScoringDecoder(FakeBatchDecoder):
    """A decoder that also scores text (base.Scorer): a continuation scores the number of prompts'
    words it repeats."""

    def first_tokens(self, text: str, count: int) -> str:
        return " ".join(text.split()[:count])

    def mean_log_probabilities(self, prompts: Sequence[str], continuation: str, max_tokens: int) -> list[float]:
        asked = set(continuation.split()[:max_tokens])
        return [float(len(asked & set(prompt.split()))) for prompt in prompts]


def test_scores_asked_of_the_concurrent_generator_are_its_decoders() -> None:
    from chatbot.llm.base import Scorer

    decoder, prompts = ScoringDecoder(), ["gift cards never expire", "sale items can be returned within 14 days"]
    generator = ConcurrentGenerator(decoder, window_ms=1)
    assert isinstance(generator, Scorer)
    assert generator.first_tokens("sale items can be returned", 2) == "sale items"
    scores = generator.mean_log_probabilities(prompts, " can sale items be returned", 4)
    assert scores == decoder.mean_log_probabilities(prompts, " can sale items be returned", 4) == [0.0, 4.0]
    with pytest.raises(TypeError, match="does not score text"):
        ConcurrentGenerator(FakeBatchDecoder(), window_ms=1).mean_log_probabilities(prompts, "b", 4)

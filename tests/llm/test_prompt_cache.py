"""The cache of prompts read lately: longest shared start, whole prompts, bounds, readers."""

from __future__ import annotations

import torch

from chatbot.llm.prompt_cache import PromptCache

LAYERS = 2


def read(ids: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Keys and values per layer (1 x 1 head x positions x 2), each position holding its token."""
    positions = torch.tensor(ids, dtype=torch.float32)[None, None, :, None].expand(1, 1, len(ids), 2)
    return [(positions + layer, -positions - layer) for layer in range(LAYERS)]


def logits_of(ids: list[int]) -> torch.Tensor:
    return torch.tensor([[float(sum(ids))]])


def stored(cache: PromptCache, *prompts: list[int], reader: str = "lean") -> PromptCache:
    for ids in prompts:
        cache.store(reader, ids, read(ids), logits_of(ids))
    return cache


def test_a_prompt_is_found_by_its_longest_start_held_and_read_from_there() -> None:
    cache = stored(PromptCache(10**6), [1, 2, 3, 4, 5], [1, 2, 9, 9])
    found = cache.find("lean", [1, 2, 3, 7, 7, 7])
    assert found.length == 3 and found.logits is None
    keys, values = found.layers[1]
    assert keys[0, 0, :, 0].tolist() == [2.0, 3.0, 4.0] and values.shape == (1, 1, 3, 2)
    assert cache.reused == 3


def test_a_whole_prompt_held_comes_with_its_logits_and_a_longer_one_reads_its_last_token_again() -> None:
    cache = stored(PromptCache(10**6), [1, 2, 3])
    whole = cache.find("lean", [1, 2, 3])
    assert whole.length == 3 and whole.logits.tolist() == [[6.0]]
    assert cache.find("lean", [1, 2]).length == 1  # a shorter prompt: its last token is read for its logits
    assert cache.find("lean", [1, 2, 3, 4]).length == 3 and cache.find("lean", [1, 2, 3, 4]).logits is None
    assert cache.find("lean", [5, 1, 2]) is None and cache.find("lean", [1]) is None


def test_the_least_recently_used_prompt_is_forgotten_beyond_the_budget() -> None:
    size = sum(k.nbytes + v.nbytes for k, v in read([1, 2, 3])) + logits_of([1]).nbytes
    cache = stored(PromptCache(2 * size), [1, 2, 3], [4, 5, 6])
    assert cache.find("lean", [1, 2, 3]).length == 3  # now used more lately than [4, 5, 6]
    stored(cache, [7, 8, 9])
    assert len(cache) == 2 and cache.held == 2 * size
    assert cache.find("lean", [4, 5, 6]) is None and cache.find("lean", [1, 2, 3]) is not None
    stored(cache, list(range(100)))  # larger than the whole budget: not held, nothing forgotten
    assert len(cache) == 2 and cache.find("lean", [0, 1, 2]) is None


def test_a_prompt_replaces_the_held_prompt_it_starts_with_and_copies_what_it_holds() -> None:
    cache = PromptCache(10**6)
    stored(cache, [1, 2])
    layers = read([1, 2, 3])
    cache.store("lean", [1, 2, 3], layers, logits_of([1, 2, 3]))
    layers[0][0].zero_()  # the reader's buffers are written on; the cache holds its own copy
    assert len(cache) == 1 and cache.find("lean", [1, 2, 3]).layers[0][0][0, 0, :, 0].tolist() == [1.0, 2.0, 3.0]


def test_a_start_is_used_only_by_the_reader_that_read_it() -> None:
    cache = stored(PromptCache(10**6), [1, 2, 3], reader="lean")
    stored(cache, [1, 2, 3], reader="LlamaForCausalLM torch.float32 False")
    assert len(cache) == 2
    assert cache.find("LlamaForCausalLM torch.bfloat16 False", [1, 2, 3, 4]) is None
    assert cache.find("lean", [1, 2, 3, 4]).length == 3

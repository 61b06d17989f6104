"""RememberingEmbedder: a question embedded twice (topic guard, then retriever) is embedded once."""

from __future__ import annotations

import numpy as np

from chatbot.knowledge.embedding import RememberingEmbedder
from tests.fakes import ToyEmbedder


def test_a_text_embedded_again_is_remembered_and_many_texts_pass_through() -> None:
    inner = ToyEmbedder()
    embedder = RememberingEmbedder(inner, size=2, few=2)
    assert (embedder.id, embedder.dimension) == (inner.id, inner.dimension)
    first = embedder.embed(["Do you ship to Canada?"])
    first[0, 0] = 99.0  # a caller changing its copy changes nothing remembered
    again = embedder.embed(["Do you ship to Canada?"])
    np.testing.assert_array_equal(again, ToyEmbedder().embed(["Do you ship to Canada?"]))
    assert inner.calls == [["Do you ship to Canada?"]]
    embedder.embed(["a", "b", "c"])
    embedder.embed(["a", "b", "c"])
    assert inner.calls[-2:] == [["a", "b", "c"], ["a", "b", "c"]]  # more than `few` texts: an index build


def test_only_the_last_texts_are_remembered() -> None:
    inner = ToyEmbedder()
    embedder = RememberingEmbedder(inner, size=2)
    for text in ["returns", "delivery", "returns", "refunds", "delivery"]:
        embedder.embed([text])
    # "returns" was used again before "refunds" came, so "delivery" was the one forgotten.
    assert [call[0] for call in inner.calls] == ["returns", "delivery", "refunds", "delivery"]


def test_only_the_texts_not_remembered_are_embedded_and_the_order_is_kept() -> None:
    inner = ToyEmbedder()
    embedder = RememberingEmbedder(inner, size=10)
    embedder.embed(["returns: 30 days", "delivery: free over £50"])
    vectors = embedder.embed(["how long to return?", "delivery: free over £50", "returns: 30 days"])
    assert inner.calls[-1] == ["how long to return?"]
    np.testing.assert_array_equal(vectors, ToyEmbedder().embed(["how long to return?", "delivery: free over £50", "returns: 30 days"]))

"""The vector index: exact for a small corpus, approximate above the threshold, close to exact, and stable on disk."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from chatbot.knowledge.vector_index import (
    APPROXIMATE_KIND,
    FLAT_MAX_PASSAGES,
    build_vector_index,
    choose_index_kind,
    index_kind,
    stored_vectors,
)

DIMENSION = 32


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    """3,000 passages around 30 topics, and 300 queries that are noisy copies of some of them."""
    rng = np.random.default_rng(0)
    centres = unit(rng.standard_normal((30, DIMENSION)))
    passages = unit(centres[rng.integers(30, size=3_000)] + 0.12 * rng.standard_normal((3_000, DIMENSION)))
    queries = unit(passages[rng.integers(3_000, size=300)] + 0.04 * rng.standard_normal((300, DIMENSION)))
    return passages, queries


@pytest.fixture(scope="module")
def built(clustered: tuple[np.ndarray, np.ndarray]) -> dict[str, faiss.Index]:
    """One index of each kind over the clustered passages, built once for the tests that only read them."""
    return {kind: build_vector_index(clustered[0], kind) for kind in ("flat", "hnsw", "ivf")}


def test_kind_is_flat_up_to_the_threshold_and_approximate_above() -> None:
    assert choose_index_kind(FLAT_MAX_PASSAGES) == "flat"
    assert choose_index_kind(FLAT_MAX_PASSAGES + 1) == APPROXIMATE_KIND != "flat"
    assert (choose_index_kind(0), choose_index_kind(100, flat_max=100), choose_index_kind(101, flat_max=100)) == (
        "flat", "flat", APPROXIMATE_KIND,
    )


def test_build_picks_the_kind_by_size(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    passages, _ = clustered
    assert index_kind(build_vector_index(passages[:1_000], flat_max=1_000)) == "flat"
    assert index_kind(build_vector_index(passages[:1_001], flat_max=1_000)) == APPROXIMATE_KIND
    assert index_kind(build_vector_index(passages[:5])) == "flat"


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_index_finds_nearly_what_exact_search_finds(
    clustered: tuple[np.ndarray, np.ndarray], built: dict[str, faiss.Index], kind: str
) -> None:
    _, queries = clustered
    _, exact = built["flat"].search(queries, 10)
    _, found = built[kind].search(queries, 10)
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)])
    assert recall >= 0.9, recall
    assert np.mean(found[:, 0] == exact[:, 0]) >= 0.95


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_stored_vectors_gives_back_every_vector_in_order(
    clustered: tuple[np.ndarray, np.ndarray], built: dict[str, faiss.Index], kind: str
) -> None:
    assert np.array_equal(stored_vectors(built[kind]), clustered[0])


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_index_read_back_from_disk_searches_identically(
    clustered: tuple[np.ndarray, np.ndarray], built: dict[str, faiss.Index], kind: str, tmp_path: Path
) -> None:
    passages, queries = clustered
    index = built[kind]
    faiss.write_index(index, str(tmp_path / "vectors.faiss"))
    loaded = faiss.read_index(str(tmp_path / "vectors.faiss"))
    assert index_kind(loaded) == kind
    for before, after in zip(index.search(queries, 10), loaded.search(queries, 10)):
        assert np.array_equal(before, after)
    assert np.array_equal(stored_vectors(loaded), passages)


def test_unknown_kind_or_foreign_index_is_refused(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    passages, _ = clustered
    with pytest.raises(ValueError, match="Unknown index kind 'annoy': expected one of flat, hnsw, ivf"):
        build_vector_index(passages, "annoy")
    with pytest.raises(ValueError, match="IndexLSH is not an index kind"):
        index_kind(faiss.IndexLSH(DIMENSION, 16))
    with pytest.raises(ValueError, match="2-D array"):
        build_vector_index(passages[0])

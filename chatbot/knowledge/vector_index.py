"""The FAISS index that holds the passage vectors: exact for a shop-sized corpus, approximate for a large one."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import faiss
    import numpy as np

KINDS = ("flat", "hnsw", "ivf")
# Figures below are from benchmarks/index_scale.py (384-d MiniLM-like vectors, 2 CPU cores, one query
# thread), where embedding the question alone takes 12-17 ms. An exact scan takes 5.5 ms at 100k
# passages (so ~2.7 ms at 50k), HNSW 0.8 ms with recall@10 0.999.
FLAT_MAX_PASSAGES = 50_000
# At 1M, search p95 was 1.6 ms for HNSW (recall@10 0.997 on questions, 0.968 on near queries) and
# 4.7 ms for IVF (0.997, 0.975). HNSW took 5-7 min to build against IVF's 2, little beside the
# hours that embedding a million passages takes on the same machine.
APPROXIMATE_KIND = "hnsw"

# HNSW: graph degree and beam widths for building and searching. efConstruction 80 bought no recall
# over faiss's default 40 at 100k and took 45% longer. Search parameters are written into the index
# file, so an index read back with faiss.read_index searches exactly as it did when built.
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128

# IVF: about 4 * sqrt(n) lists trained on a sample; 2 * sqrt(lists) of them scanned per query
# (126 of 4,000 at 1M; half as many dropped recall@10 on near queries from ~0.975 to 0.925).
IVF_LISTS_PER_SQRT = 4
IVF_TRAIN_PER_LIST = 50
IVF_PROBES_PER_SQRT = 2


def choose_index_kind(count: int, flat_max: int = FLAT_MAX_PASSAGES) -> str:
    """The index kind for `count` passages: exact "flat" up to `flat_max`, then the approximate kind.

    >>> choose_index_kind(3_000), choose_index_kind(1_000_000)
    ('flat', 'hnsw')
    """
    return "flat" if count <= flat_max else APPROXIMATE_KIND


def build_vector_index(
    vectors: np.ndarray, kind: str | None = None, *, flat_max: int = FLAT_MAX_PASSAGES
) -> faiss.Index:
    """An inner-product index over L2-normalised float32 `vectors`, searchable at once.

    `kind` None picks by size (`choose_index_kind`). Row i of `vectors` gets id i, and
    `stored_vectors` gives every row back, so an incremental rebuild can reuse them.
    """
    import faiss
    import numpy as np

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"Expected a 2-D array of vectors (one row per passage), got shape {vectors.shape}.")
    count, dimension = vectors.shape
    kind = kind or choose_index_kind(count, flat_max)
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        index = _trained_ivf(vectors)
    else:
        raise ValueError(f"Unknown index kind {kind!r}: expected one of {', '.join(KINDS)}.")
    index.add(vectors)
    return index


def _trained_ivf(vectors: np.ndarray) -> faiss.Index:
    """An IVF index with about 4 * sqrt(n) lists and a direct map, so stored vectors can be read back."""
    import faiss
    import numpy as np

    count, dimension = vectors.shape
    # k-means wants ~40 training points per list; fewer lists than that for a small corpus.
    lists = max(1, min(int(IVF_LISTS_PER_SQRT * count**0.5), count // 40))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True  # centroids on the unit sphere, like the vectors
    sample = min(count, IVF_TRAIN_PER_LIST * lists)
    rows = np.random.default_rng(0).choice(count, sample, replace=False) if sample < count else slice(None)
    index.train(vectors[rows])
    index.nprobe = max(1, round(IVF_PROBES_PER_SQRT * lists**0.5))
    index.set_direct_map_type(faiss.DirectMap.Array)
    return index


def index_kind(index: faiss.Index) -> str:
    """"flat", "hnsw" or "ivf" for an index made by `build_vector_index` (or read back from disk)."""
    import faiss

    # A new wrapper over the same C++ object; `index` keeps that object alive while it is used.
    typed = faiss.downcast_index(index)
    if isinstance(typed, faiss.IndexFlat):
        return "flat"
    if isinstance(typed, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(typed, faiss.IndexIVFFlat):
        return "ivf"
    raise ValueError(f"{type(typed).__name__} is not an index kind this program builds ({', '.join(KINDS)}).")


def stored_vectors(index: faiss.Index) -> np.ndarray:
    """Every vector in `index`, row i being the vector added as id i (exact: no index here compresses)."""
    import faiss

    kind = index_kind(index)  # refuses kinds whose vectors would come back lossy
    typed = faiss.downcast_index(index)
    if kind == "ivf" and typed.direct_map.type == faiss.DirectMap.NoMap:
        raise ValueError("This IVF index has no direct map, so its vectors cannot be read back: rebuild it.")
    return typed.reconstruct_n(0, typed.ntotal)

"""The passage index on disk: FAISS vectors, the passages, and a manifest that says how it was built."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatbot.embedding import Embedder
from chatbot.errors import IndexMismatchError, IndexMissingError, KnowledgeBaseError
from chatbot.values import Passage

if TYPE_CHECKING:
    import faiss
    import numpy as np

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
PASSAGES = "passages.jsonl"


def rebuild_hint(index_dir: Path) -> str:
    return f"Rebuild it with: python -m chatbot build-index --index {index_dir}"


@dataclass(frozen=True)
class BuildReport:
    passages: int
    embedded: int
    reused: int
    seconds: float


@dataclass
class PassageIndex:
    """Passages and their normalised vectors, searchable by inner product (= cosine)."""

    passages: list[Passage]
    vectors: faiss.Index
    manifest: dict[str, Any]

    def search_vectors(self, queries: np.ndarray, k: int) -> list[list[Passage]]:
        k = min(k, len(self.passages))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        scores, ids = self.vectors.search(queries, k)
        return [
            [self.passages[i].with_score(s) for s, i in zip(row_scores, row_ids) if i >= 0]
            for row_scores, row_ids in zip(scores, ids)
        ]


def build_index(passages: list[Passage], embedder: Embedder, index_dir: str | Path) -> BuildReport:
    """Embed `passages` and write the index to `index_dir`, replacing what was there.

    Passages whose text (with title and headings) is unchanged since the last build in the same
    folder, with the same embedder, keep their vectors instead of being embedded again.
    """
    import faiss
    import numpy as np

    if not passages:
        raise KnowledgeBaseError("No passages to index: the knowledge base is empty or every file was skipped.")
    started = time.perf_counter()
    index_dir = Path(index_dir)
    previous = _previous_vectors(index_dir, embedder)
    hashes = [p.content_hash for p in passages]
    vectors = np.zeros((len(passages), embedder.dimension), dtype=np.float32)
    missing = [i for i, h in enumerate(hashes) if h not in previous]
    for i, h in enumerate(hashes):
        if h in previous:
            vectors[i] = previous[h]
    if missing:
        vectors[missing] = embedder.embed([passages[i].indexed_text for i in missing])

    flat = faiss.IndexFlatIP(embedder.dimension)
    flat.add(vectors)
    seconds = time.perf_counter() - started
    manifest = {
        "format_version": FORMAT_VERSION,
        "embedder": embedder.id,
        "dimension": embedder.dimension,
        "normalized": True,
        "metric": "inner_product",
        "passage_count": len(passages),
        "content_hashes": dict(zip((p.id for p in passages), hashes)),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
    }
    _write_atomically(index_dir, flat, passages, manifest)
    return BuildReport(len(passages), len(missing), len(passages) - len(missing), seconds)


def load_index(index_dir: str | Path, embedder_id: str, dimension: int | None = None) -> PassageIndex:
    """Load an index, refusing one built by another embedder or format version."""
    import faiss

    index_dir = Path(index_dir)
    manifest_path = index_dir / MANIFEST
    if not manifest_path.exists():
        raise IndexMissingError(f"No index found in {index_dir}. Build it with: python -m chatbot build-index --index {index_dir}")
    manifest = _read_manifest(manifest_path)
    problems = []
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(f"format version {manifest.get('format_version')} (this program reads {FORMAT_VERSION})")
    if manifest.get("embedder") != embedder_id:
        problems.append(f"embedder {manifest.get('embedder')!r} (settings ask for {embedder_id!r})")
    if dimension is not None and manifest.get("dimension") != dimension:
        problems.append(f"dimension {manifest.get('dimension')} (the embedder gives {dimension})")
    if problems:
        raise IndexMismatchError(f"The index in {index_dir} was built with {'; '.join(problems)}. {rebuild_hint(index_dir)}")
    try:
        vectors = faiss.read_index(str(index_dir / VECTORS))
        with open(index_dir / PASSAGES, encoding="utf-8") as handle:
            passages = [_passage_from_json(json.loads(line)) for line in handle if line.strip()]
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as error:
        raise IndexMismatchError(f"The index in {index_dir} is damaged ({error}). {rebuild_hint(index_dir)}") from error
    if not (vectors.ntotal == len(passages) == manifest.get("passage_count")):
        raise IndexMismatchError(
            f"The index in {index_dir} is inconsistent: {vectors.ntotal} vectors, {len(passages)} passages, "
            f"manifest says {manifest.get('passage_count')}. {rebuild_hint(index_dir)}"
        )
    return PassageIndex(passages, vectors, manifest)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexMismatchError(f"Cannot read {path} ({error}). {rebuild_hint(path.parent)}") from error
    if not isinstance(manifest, dict):
        raise IndexMismatchError(f"{path} is not an index manifest. {rebuild_hint(path.parent)}")
    return manifest


def _previous_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of the last build by content hash, when it was made by the same embedder."""
    try:
        old = load_index(index_dir, embedder.id, embedder.dimension)
    except (IndexMissingError, IndexMismatchError):
        return {}
    return {
        hash_: old.vectors.reconstruct(i)
        for i, hash_ in enumerate(old.manifest["content_hashes"].get(p.id) for p in old.passages)
        if hash_
    }


def _write_atomically(index_dir: Path, vectors: faiss.Index, passages: list[Passage], manifest: dict) -> None:
    """Write into a temporary folder, then swap files in, manifest last, so a crash never leaves a mix."""
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=index_dir, prefix=".building-") as tmp:
        staging = Path(tmp)
        faiss.write_index(vectors, str(staging / VECTORS))
        with open(staging / PASSAGES, "w", encoding="utf-8") as handle:
            for passage in passages:
                handle.write(json.dumps(_passage_to_json(passage), ensure_ascii=False) + "\n")
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        (index_dir / MANIFEST).unlink(missing_ok=True)
        for name in (VECTORS, PASSAGES, MANIFEST):
            os.replace(staging / name, index_dir / name)


def _passage_to_json(passage: Passage) -> dict[str, Any]:
    data = asdict(passage)
    data.pop("score")
    data["headings"] = list(passage.headings)
    return data


def _passage_from_json(data: dict[str, Any]) -> Passage:
    return Passage(
        id=data["id"],
        doc_id=data["doc_id"],
        title=data["title"],
        text=data["text"],
        source=data["source"],
        headings=tuple(data.get("headings", ())),
    )

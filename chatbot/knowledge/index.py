"""The passage index on disk: FAISS vectors, the passages, and a manifest that says how it was built."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatbot.errors import IndexMismatchError, IndexMissingError, KnowledgeBaseError
from chatbot.knowledge import lexical
from chatbot.knowledge.embedding import Embedder
from chatbot.knowledge.lexical import LexicalIndex
from chatbot.knowledge.vector_index import build_vector_index, index_kind, stored_vectors
from chatbot.values import Passage

if TYPE_CHECKING:
    import faiss
    import numpy as np

FORMAT_VERSION = 2  # 2: BM25 and per-document vectors beside the passage vectors
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
PASSAGES = "passages.jsonl"
LEXICAL = "bm25"
DOCUMENTS = "documents.npz"
LANGUAGE_VECTORS = "language_vectors.npy"  # the passages by a second, multilingual embedder, when built with one
EMBED_BATCH = 64  # passages embedded between progress reports
Progress = Callable[[int, int], None]


def rebuild_hint(index_dir: Path) -> str:
    return f"Rebuild it with: python -m chatbot build-index --index {index_dir}"


@dataclass(frozen=True)
class BuildReport:
    passages: int
    embedded: int
    reused: int
    seconds: float


@dataclass
class Documents:
    """Per document, for ranking whole documents: its title's vector and the normalised mean of
    its passages' vectors (what the document is about as a whole)."""

    ids: list[str]
    titles: np.ndarray
    centroids: np.ndarray

    @classmethod
    def build(cls, passages: list[Passage], vectors: np.ndarray, title_vectors: dict[str, np.ndarray]) -> Documents:
        import numpy as np

        ids = list(dict.fromkeys(p.doc_id for p in passages))
        position = {doc: i for i, doc in enumerate(ids)}
        titles = {p.doc_id: p.title for p in passages}
        centroids = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
        np.add.at(centroids, [position[p.doc_id] for p in passages], vectors)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        return cls(ids, np.vstack([title_vectors[titles[doc]] for doc in ids]).astype(np.float32), centroids)

    def positions(self) -> dict[str, int]:
        return {doc: i for i, doc in enumerate(self.ids)}


@dataclass
class PassageIndex:
    """Passages, their normalised vectors (inner product = cosine), their BM25 index and the
    per-document vectors."""

    passages: list[Passage]
    vectors: faiss.Index
    lexical: LexicalIndex
    documents: Documents
    manifest: dict[str, Any]
    # The passages' vectors by the multilingual embedder the manifest names as "language_embedder"
    # (for questions the first embedder does not read), when the index was built with one.
    language_vectors: np.ndarray | None = None


def build_index(
    passages: list[Passage], embedder: Embedder, index_dir: str | Path, progress: Progress | None = None,
    language_embedder: Embedder | None = None,
) -> BuildReport:
    """Embed `passages` and write the index to `index_dir`, replacing what was there; with a
    `language_embedder`, its vectors of every passage are kept beside the first embedder's.

    Passages whose text (with title and headings) is unchanged since the last build in the same
    folder, with the same embedder, keep their vectors instead of being embedded again.
    `progress(done, total)` is told after each batch of passages embedded.
    """
    if not passages:
        raise KnowledgeBaseError("No passages to index: the knowledge base is empty or every file was skipped.")
    started = time.perf_counter()
    index_dir = Path(index_dir)
    previous, previous_titles, previous_language = _previous_vectors(
        index_dir, embedder, language_embedder.id if language_embedder is not None else ""
    )
    vectors, missing = _vectors(passages, embedder, previous, progress)

    searchable = build_vector_index(vectors)
    keywords = LexicalIndex.build([p.indexed_text for p in passages])
    titles = list(dict.fromkeys(p.title for p in passages if p.title not in previous_titles))
    title_vectors = previous_titles | dict(zip(titles, embedder.embed(titles) if titles else []))
    documents = Documents.build(passages, vectors, title_vectors)
    language_vectors = _vectors(passages, language_embedder, previous_language)[0] if language_embedder else None
    seconds = time.perf_counter() - started
    manifest = {
        "format_version": FORMAT_VERSION,
        "embedder": embedder.id,
        "dimension": embedder.dimension,
        "normalized": True,
        "metric": "inner_product",
        "vector_index": index_kind(searchable),
        "lexical": lexical.SETTINGS,
        "passage_count": len(passages),
        "language_embedder": language_embedder.id if language_embedder is not None else "",
        "content_hashes": {p.id: p.content_hash for p in passages},
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
    }
    _write_atomically(index_dir, searchable, keywords, documents, passages, manifest, language_vectors)
    return BuildReport(len(passages), len(missing), len(passages) - len(missing), seconds)


def load_index(index_dir: str | Path, embedder_id: str, dimension: int | None = None, keywords_too: bool = True) -> PassageIndex:
    """Load an index, refusing one built by another embedder or format version, or (unless
    `keywords_too` is False: only its vectors will be used) with other keyword-index settings."""
    import faiss
    import numpy as np

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
    if keywords_too and manifest.get("lexical") != lexical.SETTINGS:
        problems.append(f"keyword index {manifest.get('lexical')} (this program uses {lexical.SETTINGS})")
    if dimension is not None and manifest.get("dimension") != dimension:
        problems.append(f"dimension {manifest.get('dimension')} (the embedder gives {dimension})")
    if problems:
        raise IndexMismatchError(f"The index in {index_dir} was built with {'; '.join(problems)}. {rebuild_hint(index_dir)}")
    try:
        vectors = faiss.read_index(str(index_dir / VECTORS))
        with open(index_dir / PASSAGES, encoding="utf-8") as handle:
            passages = [_passage_from_json(json.loads(line)) for line in handle if line.strip()]
        keywords = LexicalIndex.load(index_dir / LEXICAL, len(passages))
        documents = _read_documents(index_dir / DOCUMENTS)
        language_vectors = np.load(index_dir / LANGUAGE_VECTORS) if manifest.get("language_embedder") else None
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as error:
        raise IndexMismatchError(f"The index in {index_dir} is damaged ({error}). {rebuild_hint(index_dir)}") from error
    if not (vectors.ntotal == len(passages) == manifest.get("passage_count")) or (
        language_vectors is not None and len(language_vectors) != len(passages)
    ):
        raise IndexMismatchError(
            f"The index in {index_dir} is inconsistent: {vectors.ntotal} vectors, {len(passages)} passages, "
            f"manifest says {manifest.get('passage_count')}. {rebuild_hint(index_dir)}"
        )
    return PassageIndex(passages, vectors, keywords, documents, manifest, language_vectors)


def read_manifest(index_dir: str | Path) -> dict[str, Any]:
    """The manifest of the index in `index_dir` (how it was built, how many passages)."""
    path = Path(index_dir) / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"No index found in {index_dir}. {rebuild_hint(Path(index_dir))}")
    return _read_manifest(path)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexMismatchError(f"Cannot read {path} ({error}). {rebuild_hint(path.parent)}") from error
    if not isinstance(manifest, dict):
        raise IndexMismatchError(f"{path} is not an index manifest. {rebuild_hint(path.parent)}")
    return manifest


Vectors = dict[str, "np.ndarray"]  # by content hash, or by title


def _vectors(
    passages: list[Passage], embedder: Embedder, previous: Vectors, progress: Progress | None = None
) -> tuple[np.ndarray, list[int]]:
    """Each passage's vector: the previous build's for an unchanged passage (by content hash),
    else embedded now; and the positions of those embedded."""
    import numpy as np

    hashes = [p.content_hash for p in passages]
    vectors = np.zeros((len(passages), embedder.dimension), dtype=np.float32)
    missing = [i for i, h in enumerate(hashes) if h not in previous]
    for i, h in enumerate(hashes):
        if h in previous:
            vectors[i] = previous[h]
    for first in range(0, len(missing), EMBED_BATCH):
        batch = missing[first : first + EMBED_BATCH]
        vectors[batch] = embedder.embed([passages[i].indexed_text for i in batch])
        if progress:
            progress(first + len(batch), len(missing))
    return vectors, missing


def _previous_vectors(index_dir: Path, embedder: Embedder, language_embedder: str = "") -> tuple[Vectors, Vectors, Vectors]:
    """Passage vectors of the last build by content hash, and title vectors by title, when it
    was made by the same embedder; and its `language_embedder`'s passage vectors by content hash,
    when it was made with that one too."""
    try:
        old = load_index(index_dir, embedder.id, embedder.dimension, keywords_too=False)
    except (IndexMissingError, IndexMismatchError):
        return {}, {}, {}
    hashes = [old.manifest["content_hashes"].get(p.id) for p in old.passages]
    stored = stored_vectors(old.vectors)
    passages = {hash_: stored[i] for i, hash_ in enumerate(hashes) if hash_}
    title_of = {p.doc_id: p.title for p in old.passages}
    titles = {title_of[doc]: old.documents.titles[i] for i, doc in enumerate(old.documents.ids) if doc in title_of}
    language: Vectors = {}
    if language_embedder and old.language_vectors is not None and old.manifest.get("language_embedder") == language_embedder:
        language = {hash_: old.language_vectors[i] for i, hash_ in enumerate(hashes) if hash_}
    return passages, titles, language


def _read_documents(path: Path) -> Documents:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        return Documents([str(doc) for doc in data["ids"]], data["titles"], data["centroids"])


def _write_atomically(
    index_dir: Path,
    vectors: faiss.Index,
    keywords: LexicalIndex,
    documents: Documents,
    passages: list[Passage],
    manifest: dict,
    language_vectors: np.ndarray | None = None,
) -> None:
    """Write into a temporary folder, then swap files in, manifest last, so a crash never leaves a mix
    (without a manifest the folder reads as "no index", and the error says how to build one)."""
    import faiss
    import numpy as np

    index_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=index_dir, prefix=".building-") as tmp:
        staging = Path(tmp)
        faiss.write_index(vectors, str(staging / VECTORS))
        with open(staging / PASSAGES, "w", encoding="utf-8") as handle:
            for passage in passages:
                handle.write(json.dumps(_passage_to_json(passage), ensure_ascii=False) + "\n")
        keywords.save(staging / LEXICAL)
        with open(staging / DOCUMENTS, "wb") as handle:
            np.savez(handle, ids=np.array(documents.ids), titles=documents.titles, centroids=documents.centroids)
        if language_vectors is not None:
            np.save(staging / LANGUAGE_VECTORS, language_vectors.astype(np.float32))
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        (index_dir / MANIFEST).unlink(missing_ok=True)
        if (index_dir / LEXICAL).exists():
            os.replace(index_dir / LEXICAL, staging / "previous-bm25")  # a folder only replaces an empty one
        os.replace(staging / LEXICAL, index_dir / LEXICAL)
        (index_dir / LANGUAGE_VECTORS).unlink(missing_ok=True)
        for name in (VECTORS, PASSAGES, DOCUMENTS, LANGUAGE_VECTORS, MANIFEST):
            if (staging / name).exists():
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

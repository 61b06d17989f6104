"""The index on disk: manifest, incremental rebuilds, and refusing a mismatched or missing index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.errors import IndexMismatchError, IndexMissingError, KnowledgeBaseError
from chatbot.knowledge.index import FORMAT_VERSION, build_index, load_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from tests.fakes import ToyEmbedder


def test_build_writes_manifest_and_search_ranks_by_shared_words(small_kb: Path, tmp_path: Path) -> None:
    embedder = ToyEmbedder()
    passages = read_knowledge_base(small_kb).passages
    report = build_index(passages, embedder, tmp_path / "index")
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert (report.passages, report.embedded, report.reused) == (3, 3, 0)
    assert manifest["format_version"] == FORMAT_VERSION
    assert (manifest["embedder"], manifest["dimension"], manifest["passage_count"]) == ("toy-bag-of-words", 512, 3)
    assert manifest["normalized"] is True
    assert set(manifest["content_hashes"]) == {p.id for p in passages}
    assert manifest["built_at"]

    results = HybridRetriever(load_index(tmp_path / "index", embedder.id), embedder, "dense", passages_per_doc=3).search("sale items returned", 3)
    assert [p.id for p in results] == ["returns#sale-items", "returns#return-window", "shipping#uk-delivery"]
    assert results[0].score > results[1].score > results[2].score == 0.0


def test_rebuild_embeds_only_changed_passages(small_kb: Path, tmp_path: Path) -> None:
    embedder = ToyEmbedder()
    build_index(read_knowledge_base(small_kb).passages, embedder, tmp_path / "index")
    text = (small_kb / "returns.md").read_text().replace("14 days", "21 days")
    (small_kb / "returns.md").write_text(text)
    embedder.calls.clear()

    report = build_index(read_knowledge_base(small_kb).passages, embedder, tmp_path / "index")

    assert (report.embedded, report.reused) == (1, 2)
    assert len(embedder.calls) == 1 and "21 days" in embedder.calls[0][0]
    index = load_index(tmp_path / "index", embedder.id, embedder.dimension)
    top = HybridRetriever(index, embedder).search("21 days", 1)[0]
    assert top.id == "returns#sale-items" and "21 days" in top.text


def test_missing_index_names_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="python -m chatbot build-index --index"):
        load_index(tmp_path / "nothing", "toy-bag-of-words")


def test_index_from_another_embedder_is_refused(small_kb: Path, tmp_path: Path) -> None:
    build_index(read_knowledge_base(small_kb).passages, ToyEmbedder(), tmp_path / "index")
    other = ToyEmbedder(dimension=384, id="sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(IndexMismatchError) as caught:
        load_index(tmp_path / "index", other.id, other.dimension)
    message = str(caught.value)
    assert "embedder 'toy-bag-of-words'" in message and "dimension 512" in message
    assert "python -m chatbot build-index" in message


def test_index_of_another_format_version_is_refused(small_kb: Path, tmp_path: Path) -> None:
    build_index(read_knowledge_base(small_kb).passages, ToyEmbedder(), tmp_path / "index")
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format version"):
        load_index(tmp_path / "index", "toy-bag-of-words")


def test_damaged_index_is_refused(small_kb: Path, tmp_path: Path) -> None:
    build_index(read_knowledge_base(small_kb).passages, ToyEmbedder(), tmp_path / "index")
    passages_file = tmp_path / "index" / "passages.jsonl"
    passages_file.write_text(passages_file.read_text().splitlines()[0] + "\n")
    with pytest.raises(IndexMismatchError, match="inconsistent: 3 vectors, 1 passages"):
        load_index(tmp_path / "index", "toy-bag-of-words")
    (tmp_path / "index" / "manifest.json").write_text("{not json")
    with pytest.raises(IndexMismatchError, match="Rebuild it with"):
        load_index(tmp_path / "index", "toy-bag-of-words")


def test_empty_knowledge_base_cannot_be_indexed(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="No passages"):
        build_index([], ToyEmbedder(), tmp_path / "index")

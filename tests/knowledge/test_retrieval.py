"""Hybrid retrieval over a small index with the toy embedder: BM25, fusion, documents, settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.errors import IndexMismatchError, SettingsError
from chatbot.knowledge.index import build_index, load_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.lexical import LexicalIndex
from chatbot.knowledge.retrieval import HybridRetriever
from tests.fakes import ToyEmbedder

GIFTS_MD = """---
id: gifts
title: Gift cards
---
# Gift cards

## Using a gift card
Gift cards can be used online and in our shops. A gift card is valid for 24 months.

## Refunds to a gift card
Items bought with a gift card are refunded to a new gift card, not to a bank card.
"""


@pytest.fixture
def index_dir(small_kb: Path, tmp_path: Path, toy_embedder: ToyEmbedder) -> Path:
    (small_kb / "gifts.md").write_text(GIFTS_MD, encoding="utf-8")
    folder = tmp_path / "index"
    build_index(read_knowledge_base(small_kb).passages, toy_embedder, folder)
    return folder


def retriever(index_dir: Path, embedder: ToyEmbedder, **options) -> HybridRetriever:
    return HybridRetriever(load_index(index_dir, embedder.id, embedder.dimension), embedder, **options)


def test_keyword_index_round_trips_through_disk(tmp_path: Path) -> None:
    index = LexicalIndex.build(["Returns within 30 days", "UK delivery costs 3.95", "Gift cards last 24 months"])
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25", 3)
    assert [i for i, _ in loaded.search("how long do gift cards last", 3)] == [2]
    assert loaded.search("the of and", 3) == []  # stop words only: no keyword evidence


def test_build_saves_keywords_and_documents_beside_the_vectors(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    index = load_index(index_dir, toy_embedder.id, toy_embedder.dimension)
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_index"] == "flat" and manifest["lexical"]["library"] == "bm25s"
    assert sorted(index.documents.ids) == ["gifts", "returns", "shipping"]
    assert index.documents.titles.shape == index.documents.centroids.shape == (3, toy_embedder.dimension)


def test_each_method_finds_the_gift_card_passage(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    for method in ("dense", "lexical", "hybrid"):
        for fusion in ("weighted", "rrf", "standardised"):
            top = retriever(index_dir, toy_embedder, method=method, fusion=fusion).search("gift card valid months", 2)
            assert top[0].doc_id == "gifts", (method, fusion)


def test_scores_are_cosines_even_for_keyword_only_candidates(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    lexical = retriever(index_dir, toy_embedder, method="lexical").search("refunded to a new gift card", 3)
    dense = {p.id: p.score for p in retriever(index_dir, toy_embedder, method="dense", passages_per_doc=9).search(
        "refunded to a new gift card", 10)}
    assert lexical and all(p.score == pytest.approx(dense[p.id], abs=1e-5) for p in lexical)


def test_one_document_cannot_fill_the_top_k(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    query = "gift card refunds returns"
    capped = retriever(index_dir, toy_embedder, passages_per_doc=1).search(query, 3)
    assert len({p.doc_id for p in capped}) == len(capped)
    loose = retriever(index_dir, toy_embedder, passages_per_doc=3).search(query, 3)
    assert [p.doc_id for p in loose].count("gifts") >= 2


def test_a_keyword_only_match_is_found_by_hybrid_not_dense(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    # The toy embedder does not stem: "refunding" shares no word with "refunded"/"refund", BM25's stemmer matches them.
    dense = retriever(index_dir, toy_embedder, method="dense").search("refunding", 3)
    hybrid = retriever(index_dir, toy_embedder).search("refunding", 3)
    assert all(p.score <= 0.0 for p in dense)
    assert {p.doc_id for p in hybrid} >= {"gifts", "returns"}


def test_unknown_method_or_fusion_is_a_settings_error(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    with pytest.raises(SettingsError, match="retrieval must be one of"):
        retriever(index_dir, toy_embedder, method="sparse")
    with pytest.raises(SettingsError, match="fusion"):
        retriever(index_dir, toy_embedder, fusion="max")


def test_index_with_another_keyword_setup_is_refused(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    manifest_path = index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["lexical"]["stemmer"] = "porter"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="keyword index"):
        load_index(index_dir, toy_embedder.id, toy_embedder.dimension)


def test_missing_document_vectors_are_a_damaged_index(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    (index_dir / "documents.npz").unlink()
    with pytest.raises(IndexMismatchError, match="damaged"):
        load_index(index_dir, toy_embedder.id, toy_embedder.dimension)


def test_rebuild_reuses_title_vectors(index_dir: Path, small_kb: Path, toy_embedder: ToyEmbedder) -> None:
    toy_embedder.calls.clear()
    build_index(read_knowledge_base(small_kb).passages, toy_embedder, index_dir)
    assert toy_embedder.calls == []


def procedures_index(tmp_path: Path, embedder: ToyEmbedder) -> Path:
    """Two procedures with the same steps that differ only in their title, and a third one."""
    kb = tmp_path / "procedures"
    kb.mkdir()
    steps = "Check the membership level, then print a return label."
    for doc_id, title, body in (
        ("size", "Return due to size", steps),
        ("colour", "Return due to colour", steps),
        ("status", "Refund status", "Tell the customer where their refund is."),
    ):
        (kb / f"{doc_id}.md").write_text(f"---\nid: {doc_id}\ntitle: {title}\n---\n{body}\n", encoding="utf-8")
    build_index(read_knowledge_base(kb).passages, embedder, tmp_path / "procedures-index")
    return tmp_path / "procedures-index"


def test_standardised_fusion_weighs_signals_by_their_spread(tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    folder = procedures_index(tmp_path, toy_embedder)
    standardised = retriever(folder, toy_embedder, fusion="standardised")
    top = standardised.search("these shoes are the wrong size, return them", 3)
    assert [p.doc_id for p in top] == ["size", "colour", "status"]
    # One title word ("status") against two words of the shared steps: the raw blend follows the
    # title; standardised, the steps' passage, keyword and document signals outweigh it.
    query = "status membership level"
    assert [p.doc_id for p in retriever(folder, toy_embedder, fusion="weighted").search(query, 3)] == ["status", "colour", "size"]
    assert [p.doc_id for p in standardised.search(query, 3)] == ["colour", "size", "status"]
    # Scores stay the passages' cosines, whatever the fusion.
    dense = {p.doc_id: p.score for p in retriever(folder, toy_embedder, method="dense").search(query, 3)}
    assert {p.doc_id: p.score for p in standardised.search(query, 3)} == pytest.approx(dense)


def test_loading_and_searching_leave_the_decoder_its_threads(index_dir: Path, toy_embedder: ToyEmbedder) -> None:
    """faiss runs on one OpenMP thread only while it searches; torch and faiss keep their thread counts."""
    torch = pytest.importorskip("torch")
    import faiss

    threads = torch.get_num_threads()
    retriever = HybridRetriever(load_index(index_dir, toy_embedder.id), toy_embedder)
    assert retriever.search("gift card", 3)
    assert torch.get_num_threads() == threads and faiss.omp_get_max_threads() == threads


ZH_MD = """---
id: zh-returns
title: 退货
---
# 退货

您可以在收货后三十天内退货。
"""


def test_a_question_the_embedder_does_not_read_is_ranked_by_the_multilingual_embedders_vectors(
    small_kb: Path, tmp_path: Path, toy_embedder: ToyEmbedder
) -> None:
    from tests.fakes import ToyMultilingualEmbedder

    (small_kb / "zh.md").write_text(ZH_MD, encoding="utf-8")
    language = ToyMultilingualEmbedder()
    passages = read_knowledge_base(small_kb).passages
    build_index(passages, toy_embedder, tmp_path / "index", language_embedder=language)
    index = load_index(tmp_path / "index", toy_embedder.id, toy_embedder.dimension)
    assert index.manifest["language_embedder"] == language.id
    assert index.language_vectors is not None and index.language_vectors.shape == (len(passages), language.dimension)

    found = HybridRetriever(index, toy_embedder, dense_languages="en", language_embedder=language)
    assert found.scored_by("退货") == "language_embedder" and found.scored_by("refunds") == "embedder"
    best = found.search("退货", 3)[0]
    assert best.doc_id == "zh-returns"
    expected = float(language.embed([best.indexed_text])[0] @ language.embed_queries(["退货"])[0])
    assert best.score == pytest.approx(expected)  # the multilingual embedder's cosine, its own scale

    # Vectors by another multilingual embedder are not compared with this one's questions.
    other = HybridRetriever(index, toy_embedder, dense_languages="en", language_embedder=ToyMultilingualEmbedder(id="other"))
    assert other.scored_by("退货") == "words" and other.search("退货", 1)[0].doc_id == "zh-returns"


def test_an_index_rebuilt_without_the_multilingual_embedder_drops_its_vectors(
    small_kb: Path, tmp_path: Path, toy_embedder: ToyEmbedder
) -> None:
    from tests.fakes import ToyMultilingualEmbedder

    passages = read_knowledge_base(small_kb).passages
    build_index(passages, toy_embedder, tmp_path / "index", language_embedder=ToyMultilingualEmbedder())
    build_index(passages, toy_embedder, tmp_path / "index")
    index = load_index(tmp_path / "index", toy_embedder.id)
    assert index.manifest["language_embedder"] == "" and index.language_vectors is None
    assert not (tmp_path / "index" / "language_vectors.npy").exists()


def test_unchanged_passages_keep_their_multilingual_vectors(small_kb: Path, tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    from tests.fakes import ToyMultilingualEmbedder

    (small_kb / "zh.md").write_text(ZH_MD, encoding="utf-8")
    language = ToyMultilingualEmbedder()
    build_index(read_knowledge_base(small_kb).passages, toy_embedder, tmp_path / "index", language_embedder=language)
    first = load_index(tmp_path / "index", toy_embedder.id).language_vectors
    embedded = sum(len(call) for call in language.calls)
    (small_kb / "zh.md").write_text(ZH_MD.replace("三十天", "十四天"), encoding="utf-8")
    passages = read_knowledge_base(small_kb).passages
    build_index(passages, toy_embedder, tmp_path / "index", language_embedder=language)
    assert language.calls[-1] == [p.indexed_text for p in passages if "十四天" in p.text]  # only the changed one
    again = load_index(tmp_path / "index", toy_embedder.id).language_vectors
    assert embedded == len(passages) and first is not None and again is not None
    unchanged = [i for i, p in enumerate(passages) if "十四天" not in p.text]
    assert (again[unchanged] == first[unchanged]).all()

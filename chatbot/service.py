"""Assembling the pipeline from settings: load the models, and find (or build) the index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from chatbot.embedding import Embedder, SentenceTransformerEmbedder
from chatbot.errors import IndexMissingError
from chatbot.guardrails import TopicGuard
from chatbot.index import BuildReport, build_index
from chatbot.knowledge import Skipped, read_knowledge_base
from chatbot.pipeline import Pipeline
from chatbot.prompts import render_prompt
from chatbot.rerank import BUNDLED_RERANKER, RerankingRetriever, make_reranker
from chatbot.retrieval import HybridRetriever, Retriever
from chatbot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexingResult:
    report: BuildReport
    skipped: list[Skipped]


def load_embedder(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(settings.embedder, device=settings.device)


def index_knowledge_base(settings: Settings, embedder: Embedder) -> IndexingResult:
    """Read `settings.kb_dir` and (re)build the index in `settings.index_dir`."""
    kb = read_knowledge_base(settings.kb_dir, settings.passage_chars)
    for skipped in kb.skipped:
        log.warning("Skipped %s: %s", skipped.path, skipped.reason)
    report = build_index(kb.passages, embedder, settings.index_dir)
    return IndexingResult(report, kb.skipped)


def open_retriever(settings: Settings, embedder: Embedder, build_if_missing: bool = False) -> Retriever:
    """The retriever over the index; with `build_if_missing`, a first start builds it from the KB."""
    try:
        return HybridRetriever.from_settings(settings, embedder)
    except IndexMissingError:
        if not build_if_missing:
            raise
        log.info("No index in %s yet: building it from %s", settings.index_dir, settings.kb_dir)
        index_knowledge_base(settings, embedder)
        return HybridRetriever.from_settings(settings, embedder)


def create_pipeline(settings: Settings, build_if_missing: bool = False, with_generator: bool = True) -> Pipeline:
    """Load the embedder, the index and the decoder named by `settings` (the slow part of start-up).

    Without the generator the pipeline can still search and decide (`Pipeline.decide`), not write;
    the decoder is loaded all the same when the reranker or the condenser needs it.
    """
    embedder = load_embedder(settings)
    retriever = open_retriever(settings, embedder, build_if_missing)
    generator = None
    if with_generator or settings.reranker == BUNDLED_RERANKER or settings.condense == "model":
        from chatbot.generation import TransformersGenerator

        generator = TransformersGenerator(settings.model, settings.gguf_file, settings.device, settings.temperature)
    if settings.reranker:
        render = partial(render_prompt, settings.prompts_dir)
        reranker = make_reranker(settings.reranker, settings.device, generator, render)
        retriever = RerankingRetriever(retriever, reranker, settings.rerank_candidates, settings.rerank_weight)
    return Pipeline(retriever, generator, settings, guard=make_guard(settings, embedder))


def make_guard(settings: Settings, embedder: Embedder) -> TopicGuard | None:
    """The off-topic and sensitive-request guard, unless `topics_file` is set to "" (off)."""
    if not settings.topics_file:
        return None
    return TopicGuard(embedder, settings.topics_file, settings.topic_min_similarity, settings.topic_margin)

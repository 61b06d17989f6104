"""The tickets room's fixture: a local answerer on the toy index with scripted replies."""

from __future__ import annotations

import pytest

from chatbot.answer.pipeline import Pipeline
from chatbot.knowledge.index import build_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.support.triage import TicketTriage
from chatbot.tickets.answering import LocalAnswerer
from tests.fakes import BatchScriptedGenerator, ToyEmbedder


@pytest.fixture
def pipeline(toy_settings, toy_embedder: ToyEmbedder):
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)

    def make(batch_size: int = 16, window: int = 4, triage: TicketTriage | None = None, **replies: str) -> LocalAnswerer:
        """Replies by a word of the question: make(full="Within 30 days [1].")."""
        generator = BatchScriptedGenerator(replies)
        pipeline = Pipeline(HybridRetriever.from_settings(toy_settings, toy_embedder), generator, toy_settings)
        return LocalAnswerer(pipeline, triage, batch_size, window)

    return make

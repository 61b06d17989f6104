"""The calibrated answer-or-escalate decision: evidence features, the logistic model, its file, the pipeline's use of it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chatbot.answer.evidence import (
    FEATURES,
    Abstention,
    AbstentionModel,
    EvidenceReader,
    choose_threshold,
    fit_abstention,
    out_of_fold,
)
from chatbot.answer.pipeline import Pipeline
from chatbot.errors import IndexMismatchError
from chatbot.knowledge.index import build_index, load_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from tests.fakes import ScriptedGenerator, ToyEmbedder


@pytest.fixture
def reader_and_retriever(toy_settings, toy_embedder: ToyEmbedder) -> tuple[EvidenceReader, HybridRetriever]:
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)
    retriever = HybridRetriever.from_settings(toy_settings, toy_embedder)
    return EvidenceReader(load_index(toy_settings.index_dir, toy_embedder.id, toy_embedder.dimension), toy_embedder), retriever


def test_features_of_a_question_its_passage_answers(reader_and_retriever) -> None:
    reader, retriever = reader_and_retriever
    question = "days to return sale items"
    values = reader.features(question, retriever.search(question, 3))
    assert set(values) == set(FEATURES)
    assert values["coverage"] == pytest.approx(1.0)  # return, sale, item, day: all in the sale-items passage
    assert values["unknown_words"] == 0.0 and values["agreement"] == 1.0 and values["keyword"] == pytest.approx(1.0)
    assert values["margin"] == pytest.approx(values["cosine"] - values["second_cosine"])


def test_words_the_knowledge_base_never_uses_are_counted(reader_and_retriever) -> None:
    reader, retriever = reader_and_retriever
    question = "return my kayak"
    values = reader.features(question, retriever.search(question, 3))
    assert 0.5 < values["unknown_words"] < 1.0  # "kayak" is unknown and rarer than "return"
    assert values["coverage"] == pytest.approx(1 - values["unknown_words"])


def test_no_passages_gives_zero_evidence(reader_and_retriever) -> None:
    reader, _ = reader_and_retriever
    values = reader.features("kayak", [])
    assert values["cosine"] == 0.0 and values["unknown_words"] == 1.0


def test_the_fitted_model_separates_and_is_saved_and_loaded(tmp_path: Path) -> None:
    rows = [{"cosine": c, "coverage": c} for c in (0.1, 0.2, 0.35, 0.5, 0.7, 0.8, 0.9)]
    answerable = [False, False, False, True, True, True, True]
    model = fit_abstention(rows, answerable, threshold=0.4, embedder="toy")
    probabilities = [model.probability(row) for row in rows]
    assert probabilities == sorted(probabilities)
    model.save(tmp_path)
    assert AbstentionModel.load(tmp_path, "toy") == model
    with pytest.raises(IndexMismatchError, match="calibrated with 'toy'"):
        AbstentionModel.load(tmp_path, "other-embedder")
    (tmp_path / "abstention.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="unreadable"):
        AbstentionModel.load(tmp_path, "toy")
    assert AbstentionModel.load(tmp_path / "nothing-here", "toy") is None


def test_out_of_fold_scores_each_row_without_it() -> None:
    rows = [{"cosine": c / 10} for c in range(10)]
    answerable = [c >= 5 for c in range(10)]
    held_out = out_of_fold(rows, answerable, folds=5)
    assert len(held_out) == 10 and held_out[9] > held_out[0]


@pytest.mark.parametrize(("rate", "threshold"), [(1.0, 0.6), (0.5, 0.8), (0.25, 0.9)])
def test_threshold_answers_the_asked_share(rate: float, threshold: float) -> None:
    assert choose_threshold([0.9, 0.8, 0.7, 0.6, 0.95], [True, True, True, True, False], rate) == threshold


def test_pipeline_escalates_below_the_calibrated_threshold(reader_and_retriever, toy_settings) -> None:
    reader, retriever = reader_and_retriever
    question = "days to return sale items"
    probability = fit_abstention([{"cosine": 0.0}, {"cosine": 1.0}], [False, True]).probability(
        reader.features(question, retriever.search(question, 4))
    )
    model = fit_abstention([{"cosine": 0.0}, {"cosine": 1.0}], [False, True], threshold=probability + 0.01)
    settings = replace(toy_settings, min_score=0.0)
    strict = Pipeline(retriever, ScriptedGenerator("ok"), settings, abstention=Abstention(reader, model))
    decision = strict.decide(question)
    assert (decision.escalate, decision.reason) == (True, "no_evidence")
    assert decision.confidence == pytest.approx(probability)
    lenient = Pipeline(retriever, ScriptedGenerator("ok"), settings, abstention=Abstention(reader, replace(model, threshold=probability - 0.01)))
    assert not lenient.decide(question).escalate

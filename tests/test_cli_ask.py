"""`ask` with several questions, or one a line from standard input: the models load once and
each question is answered in turn (in process, on the toy index, with the pipeline's loading
replaced by a counter)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from chatbot.answer.pipeline import Pipeline
from chatbot.cli import app
from chatbot.knowledge.index import build_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.settings import Settings
from tests.fakes import ToyEmbedder

SALE = "Sale items can be returned within 14 days of delivery."
DELIVERY = "Standard UK delivery costs £3.95 and takes 2 to 4 business days."


@pytest.fixture
def loads(toy_settings: Settings, toy_embedder: ToyEmbedder, monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Each time `ask` loads the pipeline (the toy index, extractive answers), its settings."""
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)
    settings = replace(toy_settings, answer_style="extractive", compose_passages=1, compose_sentences=1)
    calls: list[Settings] = []

    def create_pipeline(given: Settings, **_: object) -> Pipeline:
        calls.append(given)
        return Pipeline(HybridRetriever.from_settings(settings, toy_embedder), None, settings)

    monkeypatch.setattr("chatbot.service.create_pipeline", create_pipeline)
    monkeypatch.setenv("CHATBOT_ORDERS_URL", "")
    return calls


def test_several_questions_are_answered_in_turn_with_one_load(loads: list[Settings]) -> None:
    result = CliRunner().invoke(app, ["ask", "return window for sale items", "uk delivery cost"])
    assert result.exit_code == 0, result.output
    assert len(loads) == 1
    blocks = result.stdout.split("\n\n")
    assert blocks[0].splitlines()[:2] == ["> return window for sale items", f"{SALE} [1]"]
    assert blocks[1].splitlines()[:2] == ["> uk delivery cost", f"{DELIVERY} [1]"]


def test_questions_from_standard_input_as_json_lines(loads: list[Settings]) -> None:
    typed = "return window for sale items\n\n   \nuk delivery cost\n"  # blank lines are skipped
    result = CliRunner().invoke(app, ["ask", "-", "--json"], input=typed)
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["question"], a["answer"]) for a in answers] == [
        ("return window for sale items", f"{SALE} [1]"), ("uk delivery cost", f"{DELIVERY} [1]")
    ]
    assert len(loads) == 1


def test_a_refused_line_of_input_is_reported_and_the_rest_answered(loads: list[Settings]) -> None:
    typed = "x" * 2001 + "\nuk delivery cost\n"
    result = CliRunner().invoke(app, ["ask", "-", "--json"], input=typed)
    assert result.exit_code == 1
    assert [json.loads(line)["question"] for line in result.stdout.splitlines()] == ["uk delivery cost"]
    assert "Error: Your message is 2,001 characters long" in result.stderr


def test_a_bad_question_among_the_arguments_fails_before_loading(loads: list[Settings]) -> None:
    result = CliRunner().invoke(app, ["ask", "uk delivery cost", "  "])
    assert result.exit_code == 1 and len(loads) == 0
    assert str(result.exception) == "Please type a question."


def test_one_question_keeps_its_output(loads: list[Settings]) -> None:
    result = CliRunner().invoke(app, ["ask", "uk delivery cost", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)  # one indented object, no "question", as before
    assert answer["answer"] == f"{DELIVERY} [1]" and "question" not in answer

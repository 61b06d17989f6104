"""Behaviour with the bundled embedder and decoder on the demo store's knowledge base."""

from __future__ import annotations

import re

import pytest

from chatbot.errors import QuestionError

pytestmark = pytest.mark.real


def test_demo_index_builds_from_every_file(real_index, real_settings) -> None:
    assert real_index.skipped == []
    assert real_index.report.passages >= 40
    manifest = (real_settings.index_dir / "manifest.json").read_text()
    assert '"embedder": "sentence-transformers/all-MiniLM-L6-v2"' in manifest
    assert '"dimension": 384' in manifest


def test_return_question_finds_the_return_window_first(real_pipeline) -> None:
    top = real_pipeline.search("How many days do I have to return an item?")[0]
    assert top.doc_id in {"returns", "faq-return-days"}  # the policy page or its FAQ row
    assert "30 days" in top.text


def test_return_question_is_answered_with_the_policy_number_and_cited(real_pipeline) -> None:
    answer = real_pipeline.answer("How many days do I have to return an item?")
    assert not answer.escalate, answer
    assert "30" in answer.text
    assert answer.sources and answer.sources[0].doc_id in {"returns", "faq-return-days"}
    assert re.search(r"\[1\]", answer.text)


def test_off_topic_question_is_escalated(real_pipeline) -> None:
    answer = real_pipeline.answer("What is the capital of France?")
    assert answer.escalate and answer.reason == "no_evidence"
    assert "person" in answer.text


@pytest.mark.parametrize(
    ("previous", "follow_up", "expected"),
    [
        ("How many days do I have to return an item?", "and for sale items?", "returns#sale-and-clearance-items"),
        ("Can I return a gift I received?", "how long do I have?", "returns#returning-gifts"),
    ],
)
def test_follow_up_uses_the_conversation(real_pipeline, previous: str, follow_up: str, expected: str) -> None:
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "Let me check."}]
    alone = [p.id for p in real_pipeline.search(follow_up)[:2]]
    in_context = [p.id for p in real_pipeline.search(follow_up, history)[:2]]
    assert expected in in_context and expected not in alone


def test_generator_streams_several_pieces(real_generator) -> None:
    messages = [{"role": "user", "content": "Say hello to a customer in one sentence."}]
    pieces = list(real_generator.stream(messages, max_new_tokens=12))
    assert len(pieces) >= 2 and "".join(pieces).strip()


def test_huge_question_is_refused_before_any_model_work(real_pipeline) -> None:
    with pytest.raises(QuestionError, match="limit is 2,000"):
        real_pipeline.answer("x" * 100_000)


def test_off_topic_question_after_a_shop_question_is_still_escalated(real_pipeline) -> None:
    history = [
        {"role": "user", "content": "How many days do I have to return an item?"},
        {"role": "assistant", "content": "You have 30 days from delivery [1]."},
    ]
    answer = real_pipeline.answer("What is the capital of France?", history)
    assert answer.escalate and answer.reason == "no_evidence"

"""The support log: conversations with redacted turns, the staff queue, drafts and feedback, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatbot.errors import ChatbotError, SupportLogError
from chatbot.support.log import MIGRATIONS, open_support_log
from chatbot.values import Answer, Passage

RETURNS = Passage("returns#window", "returns", "Returns", "30 days.", "returns.md", score=0.71)
ANSWERED = Answer("You have 30 days [1].", (RETURNS,), 0.8, False, "answered", {"total_ms": 12.3})
ESCALATED = Answer("Let me get a person.", (), 0.1, True, "no_evidence")


@pytest.fixture
def log(tmp_path: Path):
    with open_support_log(f"sqlite:///{tmp_path / 'support.db'}") as opened:
        yield opened


def test_turns_are_stored_redacted_with_their_answer(log, tmp_path: Path) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "I'm jo@example.com, card 4539 1488 0343 6467: return window?", ANSWERED)
    with sqlite3.connect(tmp_path / "support.db") as db:
        question, answer, sources, reason = db.execute("SELECT question, answer, sources, reason FROM turns").fetchone()
    assert question == "I'm [email], card [card]: return window?"
    assert answer == "You have 30 days [1]." and '"returns#window"' in sources and reason == "answered"


def test_only_escalated_conversations_wait_in_the_queue_newest_first(log) -> None:
    calm, first, second = log.new_conversation(), log.new_conversation(), log.new_conversation()
    log.record_turn(calm, "Return window?", ANSWERED)
    log.record_turn(first, "Can I return a sofa bed?", ESCALATED)
    log.record_turn(second, "Hi", ANSWERED)
    log.record_turn(second, "I want a person", Answer("Connecting you.", (), 1.0, True, "user_asked_for_human"))
    queue = log.escalation_queue()
    assert [(c.id, c.reason) for c in queue] == [(second, "user_asked_for_human"), (first, "no_evidence")]
    assert [t.question for t in queue[0].turns] == ["Hi", "I want a person"] and queue[0].last_question == "I want a person"


def test_a_queued_conversation_knows_which_question_was_escalated(log) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "Can I return a sofa bed?", ESCALATED)
    log.record_turn(conversation, "What about items marked Final Sale?", ANSWERED)  # asked and answered after
    log.record_turn(conversation, "And gift cards?", ANSWERED)
    [waiting] = log.escalation_queue()
    assert (waiting.reason, waiting.escalated_turn.question, waiting.asked_since_escalation) == (
        "no_evidence", "Can I return a sofa bed?", 2)
    assert waiting.last_question == "And gift cards?"
    log.record_turn(conversation, "I want a person", Answer("Connecting you.", (), 1.0, True, "user_asked_for_human"))
    [waiting] = log.escalation_queue()  # the latest escalation is the one waiting
    assert (waiting.reason, waiting.escalated_turn.question, waiting.asked_since_escalation) == (
        "user_asked_for_human", "I want a person", 0)


def test_rating_a_draft_from_the_queue_takes_it_off_the_queue(log) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "Can I return a sofa bed?", ESCALATED)
    draft = log.record_draft("ana", "Can I return a sofa bed?", ANSWERED, "answer", conversation)
    record = log.rate_draft(draft, "edited", "Yes, within 30 days; call 07700 900123 to book collection.")
    assert (record.rating, record.agent, record.conversation_id) == ("edited", "ana", conversation)
    assert record.final_text == "Yes, within 30 days; call [phone] to book collection."
    assert log.escalation_queue() == []
    log.record_turn(conversation, "And a mattress?", ESCALATED)  # escalated again: back in the queue
    assert [c.id for c in log.escalation_queue()] == [conversation]


def test_feedback_is_checked(log) -> None:
    draft = log.record_draft("ana", "Return window?", ANSWERED, "answer")
    with pytest.raises(ChatbotError, match="needs the text that was sent"):
        log.rate_draft(draft, "edited", "  ")
    with pytest.raises(ChatbotError, match="rated good, bad, edited"):
        log.rate_draft(draft, "meh")
    with pytest.raises(ChatbotError, match="No draft 999"):
        log.rate_draft(999, "good")
    log.rate_draft(draft, "bad")
    log.rate_draft(draft, "good")  # a second verdict replaces the first
    assert [(d.rating, d.final_text) for d in log.drafts()] == [("good", None)] and log.drafts("bad") == []


def test_a_turn_for_an_unknown_conversation_is_an_error(log) -> None:
    with pytest.raises(SupportLogError, match="No conversation 'nope'"):
        log.record_turn("nope", "Hi", ANSWERED)


def test_migrations_run_once_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    with open_support_log(url) as log:
        conversation = log.new_conversation()
        log.record_turn(conversation, "Return window?", ANSWERED)
        assert log.schema_version() == len(MIGRATIONS)
    with open_support_log(url) as log:  # reopened: nothing re-applied, nothing lost
        assert log.schema_version() == len(MIGRATIONS) and log.conversation(conversation).turns[0].answer == ANSWERED.text
    with sqlite3.connect(tmp_path / "support.db") as db:
        db.execute("INSERT INTO schema_versions VALUES (?, '2026-11-25')", (len(MIGRATIONS) + 1,))
    with pytest.raises(SupportLogError, match="newer than this code"):
        open_support_log(url)


@pytest.mark.parametrize(("url", "message"), [("not a url", "not a database URL"), ("sqlite:////proc/no/such/support.db", "Cannot create the folder")])
def test_a_bad_url_is_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(SupportLogError, match=message):
        open_support_log(url)

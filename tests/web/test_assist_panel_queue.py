"""The staff queue's entries: the question that was escalated with its reason, in full, not the
conversation's latest (answered) question."""

from __future__ import annotations

from chatbot.values import Answer
from chatbot.web.assist_panel import queue_choices

LONG_QUESTION = ("Can I return a sofa bed that was delivered damaged three weeks ago, now that the box has gone "
                 "to recycling?")


def test_an_entry_shows_the_escalated_question_in_full_beside_its_reason(log) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, LONG_QUESTION, Answer("Let me get a person.", (), 0.1, True, "no_evidence"))
    log.record_turn(conversation, "What about items marked Final Sale?", Answer("Not returnable [1]."))
    [(label, value)] = queue_choices(log.escalation_queue())
    [turn] = [t for t in log.conversation(conversation).turns if t.escalate]
    assert value == conversation
    assert label == f"{turn.created_at:%d %b %H:%M} · no_evidence · {LONG_QUESTION} (then 1 more question)"


def test_an_entry_escalated_at_its_last_question_says_nothing_more(log) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "Return window?", Answer("30 days [1]."))
    log.record_turn(conversation, "I want a person", Answer("Connecting you.", (), 1.0, True, "user_asked_for_human"))
    [(label, _)] = queue_choices(log.escalation_queue())
    assert label.endswith(" · user_asked_for_human · I want a person")

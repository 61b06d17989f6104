"""The dashboard's figures, the support log's feedback and retention, and its exports."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from chatbot.errors import ChatbotError
from chatbot.support.analytics import build_report, deflected_turns, group_questions, parse_day
from chatbot.support.export import TURN_COLUMNS, add_eval_cases, eval_cases, turn_record, write_records
from chatbot.support.log import MIGRATIONS, open_support_log
from chatbot.values import Answer, Passage
from tests.fakes import ToyEmbedder

RETURNS = Passage("returns#window", "returns", "Returns", "30 days.", "returns.md", score=0.7)


def answered(total_ms: float, first_ms: float) -> Answer:
    return Answer("You have 30 days [1].", (RETURNS,), 0.8, False, "answered", {"total_ms": total_ms, "first_token_ms": first_ms})


def unanswered(reason: str = "no_evidence") -> Answer:
    return Answer("Let me get a person.", (), 0.1, True, reason, {"total_ms": 40.0})


@pytest.fixture
def log(tmp_path: Path):
    with open_support_log(f"sqlite:///{tmp_path / 'support.db'}") as opened:
        yield opened


@pytest.fixture
def busy_log(log):
    """Two conversations: three answers (one thumbs up, one down with a comment), three escalations."""
    first, second = log.new_conversation(), log.new_conversation()
    up = log.record_turn(first, "Return window?", answered(1000, 300), "bundled:SmolLM2", "abc123")
    down = log.record_turn(first, "And for sale items?", answered(3000, 500))
    log.record_turn(first, "Do you sell gift vouchers for spas?", unanswered())
    log.record_turn(second, "Can I buy spa gift vouchers?", unanswered())
    log.record_turn(second, "I want a person", unanswered("user_asked_for_human"))
    log.record_turn(second, "How long is the return window?", answered(2000, 400))
    log.record_feedback(up, "up")
    log.record_feedback(down, "up")
    log.record_feedback(down, "down", "It gave the full-price window, call me on 07700 900123")  # replaces the up
    return log, up, down


def test_report_counts_deflection_feedback_and_latency(busy_log) -> None:
    log, _, _ = busy_log
    report = build_report(log, embedder=ToyEmbedder())
    assert (report.turns, report.conversations, report.escalated) == (6, 2, 3)
    # The first conversation's two answers were followed by an escalation (and one was rated
    # down): only the second conversation's last answer kept the shopper from a person.
    assert report.deflected == 1 and report.deflection_rate == 1 / 6
    assert report.reasons == {"no_evidence": 2, "user_asked_for_human": 1}
    assert (report.thumbs_up, report.thumbs_down, report.feedback_rate, report.feedback_score) == (1, 1, 2 / 6, 0.5)
    assert report.latency_ms == {"p50_total_ms": 40.0, "p95_total_ms": 3000,
                                 "p50_first_words_ms": 400, "p95_first_words_ms": 500}
    assert report.first_words_from_server == 3  # these rows have only the server's first token
    today = datetime.now(timezone.utc).date().isoformat()
    assert report.by_day == [{"day": today, "questions": 6, "deflected": 1, "answered_not_deflected": 2,
                              "escalated": 3}]
    [group] = report.unanswered  # asking for a person is not a question the bot could not answer
    assert group.count == 2 and set(group.questions) == {"Do you sell gift vouchers for spas?", "Can I buy spa gift vouchers?"}


def test_deflection_leaves_out_thumbs_down_and_answers_followed_by_an_escalation(log) -> None:
    helped, disliked, then_person, after_person = (log.new_conversation() for _ in range(4))
    kept = log.record_turn(helped, "Return window?", answered(100, 50))
    log.record_feedback(kept, "up")
    kept_too = log.record_turn(helped, "And sale items?", answered(100, 50))
    log.record_feedback(log.record_turn(disliked, "Return window?", answered(100, 50)), "down")
    log.record_turn(then_person, "Return window?", answered(100, 50))
    log.record_turn(then_person, "I want a person", unanswered("user_asked_for_human"))
    log.record_turn(after_person, "Spa vouchers?", unanswered())
    answered_later = log.record_turn(after_person, "Return window?", answered(100, 50))  # answered after the escalation
    report = build_report(log)
    assert (report.turns, report.escalated, report.deflected, report.deflection_rate) == (7, 2, 3, 3 / 7)
    assert deflected_turns(log.turn_rows()) == {kept, kept_too, answered_later}
    assert report.by_day[0] | {"day": ""} == {"day": "", "questions": 7, "deflected": 3, "answered_not_deflected": 2,
                                              "escalated": 2}


def test_an_escalation_after_the_date_range_still_undoes_an_answer_in_it(log, tmp_path: Path) -> None:
    conversation = log.new_conversation()
    answer = log.record_turn(conversation, "Return window?", answered(100, 50))
    log.record_turn(conversation, "That's wrong, get me a person", unanswered("user_asked_for_human"))
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    with sqlite3.connect(tmp_path / "support.db") as db:
        db.execute("UPDATE turns SET created_at = ? WHERE id = ?",
                   (yesterday.strftime("%Y-%m-%d %H:%M:%S.000000"), answer))
    report = build_report(log, until=yesterday.date())
    assert (report.turns, report.escalated, report.deflected) == (1, 0, 0)
    assert report.by_day == [{"day": yesterday.date().isoformat(), "questions": 1, "deflected": 0,
                              "answered_not_deflected": 1, "escalated": 0}]


def test_first_words_are_what_the_chat_showed_and_older_rows_fall_back_to_the_first_token(log) -> None:
    conversation = log.new_conversation()
    for shown_ms in (120.0, 900.0, 2500.0):  # the server's first token came at 20 ms each time
        timings = {"total_ms": shown_ms - 10, "first_token_ms": 20.0, "first_visible_ms": shown_ms}
        answer = Answer("30 days [1].", (RETURNS,), 0.8, False, "answered", timings)
        log.record_turn(conversation, "Return window?", answer)
    log.record_turn(conversation, "Logged before the chat timed it", answered(3000, 700))
    log.record_turn(conversation, "Escalated, untimed", unanswered())
    assert [r["timings"].get("first_visible_ms") for r in log.turn_rows()] == [120.0, 900.0, 2500.0, None, None]
    report = build_report(log)
    assert (report.latency_ms["p50_first_words_ms"], report.latency_ms["p95_first_words_ms"]) == (700, 2500.0)
    assert report.first_words_from_server == 1


def test_date_filters(busy_log) -> None:
    log, _, _ = busy_log
    tomorrow = datetime.now(timezone.utc).date() + timedelta(days=1)
    assert build_report(log, since=tomorrow).turns == 0 and build_report(log, until=tomorrow).turns == 6
    with pytest.raises(ChatbotError, match="use YYYY-MM-DD"):
        parse_day("next tuesday", "from")
    with pytest.raises(ChatbotError, match="range is empty"):
        build_report(log, since=date(2026, 11, 2), until=date(2026, 11, 1))
    assert parse_day(" ", "from") is None and parse_day("2026-11-01", "from") == date(2026, 11, 1)


def test_questions_are_grouped_by_meaning_biggest_first() -> None:
    groups = group_questions(["gift vouchers for spas?", "delivery to Mars", "spa gift vouchers", "do you have spa vouchers"],
                             ToyEmbedder(), min_similarity=0.5)
    assert [(g.count, g.example) for g in groups] == [(3, "spa gift vouchers"), (1, "delivery to Mars")]


def test_feedback_is_checked_and_redacted(busy_log, tmp_path: Path) -> None:
    log, _, down = busy_log
    with pytest.raises(ChatbotError, match="up or down"):
        log.record_feedback(down, "meh")
    with pytest.raises(ChatbotError, match="No answer 999"):
        log.record_feedback(999, "up")
    [row] = [r for r in log.turn_rows() if r["id"] == down]
    assert (row["feedback"], row["feedback_comment"]) == ("down", "It gave the full-price window, call me on [phone]")


def test_exports_as_csv_and_jsonl(busy_log, tmp_path: Path) -> None:
    log, up, _ = busy_log
    rows = [turn_record(r) for r in log.turn_rows()]
    assert write_records(rows, tmp_path / "out.jsonl", TURN_COLUMNS) == 6
    first = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["turn_id"] == up and first["sources"] == ["returns"] and first["model"] == "bundled:SmolLM2"
    assert (first["index_version"], first["feedback"], first["total_ms"]) == ("abc123", "up", 1000.0)
    write_records(rows, tmp_path / "out.csv", TURN_COLUMNS)
    with (tmp_path / "out.csv").open(encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    assert len(table) == 6 and list(table[0]) == list(TURN_COLUMNS) and table[0]["sources"] == "returns"


def test_thumbs_down_and_edited_drafts_become_eval_cases_once(busy_log, tmp_path: Path) -> None:
    from chatbot.evaluation.harness import read_eval_cases

    log, _, down = busy_log
    draft = log.record_draft("ana", "Spa vouchers?", answered(1, 1), "answer")
    log.rate_draft(draft, "edited", "We don't sell spa vouchers, sorry.")
    cases = eval_cases(log)
    assert [c["from"] for c in cases] == [f"draft:{draft}", f"turn:{down}"]
    assert cases[0] | {} == {"question": "Spa vouchers?", "expected": ["returns"], "answerable": True,
                             "reference": "We don't sell spa vouchers, sorry.", "from": f"draft:{draft}"}
    assert cases[1]["review"] is True and cases[1]["expected"] == ["returns"]
    target = tmp_path / "evals" / "from_feedback.jsonl"
    assert add_eval_cases(cases, target) == 2 and add_eval_cases(eval_cases(log), target) == 0
    assert [c.question for c in read_eval_cases(target)] == ["Spa vouchers?", "And for sale items?"]  # the harness reads them


def test_retention_deletes_old_conversations_only(busy_log, tmp_path: Path) -> None:
    log, _, _ = busy_log
    old = log.new_conversation()
    log.record_turn(old, "Old question", answered(1, 1))
    long_ago = (datetime.now(timezone.utc) - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S.000000")
    with sqlite3.connect(tmp_path / "support.db") as db:
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (long_ago, old))
    assert log.delete_older_than(30) == 1
    assert log.conversation(old) is None and len(log.turn_rows()) == 6


def test_a_schema_1_log_is_migrated_without_losing_turns(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, insert

    from chatbot.support.log import schema_versions

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:  # a log written by the first version: no model column, no feedback table
        connection.exec_driver_sql("CREATE TABLE conversations (id VARCHAR(32) PRIMARY KEY, started_at DATETIME NOT NULL, "
                                   "updated_at DATETIME NOT NULL, escalated_reason VARCHAR(40), handled_at DATETIME)")
        connection.exec_driver_sql("CREATE TABLE turns (id INTEGER PRIMARY KEY, conversation_id VARCHAR(32) NOT NULL, "
                                   "created_at DATETIME NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, sources JSON NOT NULL, "
                                   "confidence FLOAT NOT NULL, escalate BOOLEAN NOT NULL, reason VARCHAR(40) NOT NULL, timings JSON NOT NULL)")
        connection.exec_driver_sql("CREATE TABLE drafts (id INTEGER PRIMARY KEY, created_at DATETIME NOT NULL, agent VARCHAR(64) NOT NULL, "
                                   "conversation_id VARCHAR(32), message TEXT NOT NULL, draft TEXT NOT NULL, sources JSON NOT NULL, "
                                   "reason VARCHAR(40) NOT NULL, next_action VARCHAR(40) NOT NULL, rating VARCHAR(10), final_text TEXT, rated_at DATETIME)")
        connection.exec_driver_sql("INSERT INTO conversations VALUES ('c1', '2026-11-01 10:00:00', '2026-11-01 10:00:00', NULL, NULL)")
        connection.exec_driver_sql("INSERT INTO turns VALUES (1, 'c1', '2026-11-01 10:00:00', 'Return window?', '30 days [1].', "
                                   "'[]', 0.8, 0, 'answered', '{}')")
        schema_versions.create(connection)
        connection.execute(insert(schema_versions).values(version=1, applied_at=datetime(2026, 11, 1)))
    engine.dispose()
    with open_support_log(f"sqlite:///{tmp_path / 'old.db'}") as log:
        assert log.schema_version() == len(MIGRATIONS) == 2
        log.record_feedback(1, "up")
        [row] = log.turn_rows()
        assert (row["question"], row["model"], row["feedback"]) == ("Return window?", None, "up")


def test_export_and_eval_case_commands(run_cli, busy_log, tmp_path: Path) -> None:
    env = {"CHATBOT_SUPPORT_LOG_URL": f"sqlite:///{tmp_path / 'support.db'}"}
    result = run_cli("export-log", "--out", str(tmp_path / "log.csv"), env=env)
    assert result.returncode == 0 and "Wrote 6 conversations rows" in result.stdout, result.stderr
    target = tmp_path / "cases.jsonl"
    assert "Added 1 new eval cases" in run_cli("eval-cases", "--out", str(target), env=env).stdout
    assert "Added 0 new eval cases" in run_cli("eval-cases", "--out", str(target), env=env).stdout
    refused = run_cli("prune-log", env=env)
    assert refused.returncode != 0 and "nothing is deleted by default" in refused.stderr

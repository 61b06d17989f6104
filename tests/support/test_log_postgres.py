"""The support log on a real PostgreSQL server: migrations, redaction, drafts and feedback, two writers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from chatbot.database import lock_schema
from chatbot.errors import ChatbotError, SupportLogError
from chatbot.support.log import MIGRATIONS, SupportLog, open_support_log
from chatbot.values import Answer, Passage

if TYPE_CHECKING:  # imported by pytest_plugins below; importing it here first would stop its assert rewriting
    from tests.postgres_server import PostgresServer

pytest_plugins = ["tests.postgres_server"]
pytestmark = pytest.mark.postgres

RETURNS = Passage("returns#window", "returns", "Returns", "30 days.", "returns.md", score=0.71)
ANSWERED = Answer("You have 30 days [1].", (RETURNS,), 0.8, False, "answered", {"total_ms": 12.3})
ESCALATED = Answer("Let me get a person.", (), 0.1, True, "no_evidence")
T = TypeVar("T")
TABLES = {"schema_versions", "conversations", "turns", "drafts", "feedback"}
WRITES_EACH = 40  # turns each writer records in the two-writer test
OPENING_ROUNDS = 5  # fresh databases each opened by two logs at once


@pytest.fixture
def raw(postgres_url: str) -> Iterator[Engine]:
    """The same database read without the support log's code, to see what was really stored."""
    engine = create_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def log(postgres_url: str) -> Iterator[SupportLog]:
    with open_support_log(postgres_url) as opened:
        yield opened


def rows(engine: Engine, query: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query), params)]


def answers(log: SupportLog, conversation_id: str) -> list[str]:
    found = log.conversation(conversation_id)
    assert found is not None, conversation_id
    return [turn.answer for turn in found.turns]


def test_migrations_build_an_empty_database_and_rerun_as_a_no_op(postgres_url: str, raw: Engine) -> None:
    assert set(inspect(raw).get_table_names()) == set()
    with open_support_log(postgres_url) as log:
        assert log.schema_version() == len(MIGRATIONS) == 2
        conversation = log.new_conversation()
        log.record_turn(conversation, "Return window?", ANSWERED, model="extractive", index_version="abc123")
    assert set(inspect(raw).get_table_names()) == TABLES
    applied = rows(raw, "SELECT version, applied_at FROM schema_versions ORDER BY version")
    with open_support_log(postgres_url) as log:  # reopened: nothing re-applied, nothing lost
        assert log.schema_version() == 2
        assert answers(log, conversation) == [ANSWERED.text]
    assert rows(raw, "SELECT version, applied_at FROM schema_versions ORDER BY version") == applied
    assert [version for version, _ in applied] == [1, 2]
    assert rows(raw, "SELECT model, index_version FROM turns") == [("extractive", "abc123")]


def test_a_schema_1_database_is_upgraded_in_place(postgres_url: str, raw: Engine) -> None:
    with raw.begin() as connection:  # what schema 1 made: no model columns, no feedback table
        MIGRATIONS[0](connection)
        connection.execute(text("ALTER TABLE turns DROP COLUMN model, DROP COLUMN index_version"))
        connection.execute(text("CREATE TABLE schema_versions (version INTEGER PRIMARY KEY, "
                                "applied_at TIMESTAMP WITH TIME ZONE NOT NULL)"))
        connection.execute(text("INSERT INTO schema_versions VALUES (1, now())"))
        connection.execute(text("INSERT INTO conversations VALUES ('old', now(), now(), NULL, NULL)"))
        connection.execute(text(
            "INSERT INTO turns (conversation_id, created_at, question, answer, sources, confidence, escalate, reason, "
            "timings) VALUES ('old', now(), 'Return window?', 'Thirty days.', '[]', 0.9, false, 'answered', '{}')"))
    with open_support_log(postgres_url) as log:
        assert log.schema_version() == 2
        turn = log.record_turn("old", "And sale items?", ANSWERED, model="extractive")
        log.record_feedback(turn, "up")
        assert answers(log, "old") == ["Thirty days.", ANSWERED.text]
    assert {c["name"] for c in inspect(raw).get_columns("turns")} >= {"model", "index_version"}
    assert rows(raw, "SELECT model FROM turns ORDER BY id") == [(None,), ("extractive",)]
    assert [version for version, in rows(raw, "SELECT version FROM schema_versions ORDER BY version")] == [1, 2]


def test_a_newer_schema_is_refused(postgres_url: str, raw: Engine) -> None:
    open_support_log(postgres_url).close()
    with raw.begin() as connection:
        connection.execute(text("INSERT INTO schema_versions VALUES (:version, now())"), {"version": len(MIGRATIONS) + 1})
    with pytest.raises(SupportLogError, match="newer than this code"):
        open_support_log(postgres_url)


def test_turns_are_stored_redacted_with_their_answer(log: SupportLog, raw: Engine) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "I'm jo@example.com, card 4539 1488 0343 6467: return window?", ANSWERED)
    [(question, answer, sources, reason, timings)] = rows(raw, "SELECT question, answer, sources, reason, timings FROM turns")
    assert question == "I'm [email], card [card]: return window?"
    assert (answer, reason, timings) == ("You have 30 days [1].", "answered", {"total_ms": 12.3})
    assert [source["id"] for source in sources] == ["returns#window"]


def test_drafts_and_their_ratings_are_stored_redacted(log: SupportLog, raw: Engine) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "Can I return a sofa bed? I'm on 07700 900123", ESCALATED)
    assert [c.id for c in log.escalation_queue()] == [conversation]
    draft = log.record_draft("ana", "Can I return a sofa bed? Mail me at jo@example.com", ANSWERED, "answer", conversation)
    record = log.rate_draft(draft, "edited", "Yes, within 30 days; call 07700 900123 to book collection.")
    assert (record.rating, record.agent, record.conversation_id) == ("edited", "ana", conversation)
    assert record.final_text == "Yes, within 30 days; call [phone] to book collection."
    assert record.sources[0]["id"] == "returns#window"
    assert log.escalation_queue() == []
    assert rows(raw, "SELECT message, final_text FROM drafts") == [
        ("Can I return a sofa bed? Mail me at [email]", "Yes, within 30 days; call [phone] to book collection.")]
    assert rows(raw, "SELECT question FROM turns") == [("Can I return a sofa bed? I'm on [phone]",)]
    log.rate_draft(draft, "good")  # a second verdict replaces the first
    assert [(d.rating, d.final_text) for d in log.drafts()] == [("good", None)] and log.drafts("edited") == []
    with pytest.raises(ChatbotError, match="No draft 999"):
        log.rate_draft(999, "good")


def test_feedback_replaces_the_earlier_rating_and_is_redacted(log: SupportLog, raw: Engine) -> None:
    conversation = log.new_conversation()
    turn = log.record_turn(conversation, "Return window?", ANSWERED)
    log.record_feedback(turn, "up")
    log.record_feedback(turn, "down", "Wrong window, call me on 07700 900123")
    assert rows(raw, "SELECT turn_id, rating, comment FROM feedback") == [(turn, "down", "Wrong window, call me on [phone]")]
    [row] = log.turn_rows()
    assert (row["id"], row["feedback"], row["feedback_comment"]) == (turn, "down", "Wrong window, call me on [phone]")
    with pytest.raises(ChatbotError, match="No answer 999"):
        log.record_feedback(999, "up")


def test_time_filters_and_retention_work_on_time_zone_aware_columns(log: SupportLog, raw: Engine) -> None:
    old, recent = log.new_conversation(), log.new_conversation()
    log.record_turn(old, "Return window?", ANSWERED)
    log.record_turn(recent, "Sale items?", ANSWERED)
    with raw.begin() as connection:
        connection.execute(text("UPDATE conversations SET updated_at = now() - interval '40 days' WHERE id = :id"), {"id": old})
        connection.execute(text("UPDATE turns SET created_at = now() - interval '40 days' WHERE conversation_id = :id"),
                           {"id": old})
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert [r["question"] for r in log.turn_rows(since=week_ago)] == ["Sale items?"]
    assert [r["question"] for r in log.turn_rows(until=week_ago)] == ["Return window?"]
    assert log.delete_older_than(30) == 1
    assert log.conversation(old) is None and log.conversation(recent) is not None
    assert rows(raw, "SELECT question FROM turns") == [("Sale items?",)]


def at_once(writers: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` for each writer on its own thread, all released together by a barrier."""
    barrier = threading.Barrier(writers)

    def started(index: int) -> T:
        barrier.wait(timeout=30)
        return work(index)

    with ThreadPoolExecutor(writers) as pool:
        return list(pool.map(started, range(writers)))


def test_two_writers_at_once_lose_nothing(postgres_url: str, raw: Engine) -> None:
    # Two logs, two engines: as two app processes sharing one database would be.
    with open_support_log(postgres_url) as first, open_support_log(postgres_url) as second:
        shared = first.new_conversation()
        own = [first.new_conversation(), second.new_conversation()]

        def write(index: int) -> list[int]:
            log = (first, second)[index]
            ids = []
            for n in range(WRITES_EACH):
                conversation = shared if n % 2 else own[index]
                ids.append(log.record_turn(conversation, f"writer {index} turn {n}, mail w{index}@example.com", ANSWERED))
            return ids

        written = at_once(2, write)
        every_id = written[0] + written[1]
        assert len(set(every_id)) == 2 * WRITES_EACH
        stored = rows(raw, "SELECT id, conversation_id, question FROM turns ORDER BY id")
        assert sorted(every_id) == [turn_id for turn_id, _, _ in stored]
        assert {question for _, _, question in stored} == {
            f"writer {i} turn {n}, mail [email]" for i in range(2) for n in range(WRITES_EACH)}
        for index in range(2):  # each writer's turns went where it sent them, in its own order
            mine = [(c, q) for _, c, q in stored if q.startswith(f"writer {index} ")]
            assert mine == [(shared if n % 2 else own[index], f"writer {index} turn {n}, mail [email]")
                            for n in range(WRITES_EACH)]
        assert len(answers(first, shared)) == WRITES_EACH


def test_lock_schema_lets_one_transaction_at_a_time_through(raw: Engine) -> None:
    # What migrate (and open_order_store) take first, so two processes opening a new database
    # at once do not both create its tables (the next test).
    order: list[str] = []
    with raw.connect() as first:
        lock_schema(first, "support log schema")
        lock_schema(first, "order store schema")
        with ThreadPoolExecutor(1) as pool:
            def second() -> None:
                with raw.begin() as connection:
                    lock_schema(connection, "support log schema")
                    order.append("second")

            waiting = pool.submit(second)
            wait_until_blocked(raw, deadline_s=30)
            order.append("first")
            first.commit()
            waiting.result(timeout=30)
    assert order == ["first", "second"]


def test_two_logs_opening_a_new_database_at_once_both_open(postgres_server: PostgresServer) -> None:
    # Without migrate's lock_schema both logs issued CREATE TABLE and PostgreSQL refused the
    # second (duplicate key in pg_type).
    for _ in range(OPENING_ROUNDS):
        assert at_once(2, opening(postgres_server.create_database())) == ["", ""]


def opening(url: str) -> Callable[[int], str]:
    """What each writer does: open the support log at `url` and close it; the error, if any."""
    def opened(_: int) -> str:
        try:
            open_support_log(url).close()
        except SupportLogError as exc:
            return str(exc)
        return ""

    return opened


def test_two_ratings_of_one_answer_at_once_keep_the_last(log: SupportLog, postgres_url: str, raw: Engine) -> None:
    # Without the savepoint both ratings inserted and the second failed on feedback's key.
    turn = log.record_turn(log.new_conversation(), "Return window?", ANSWERED)
    # The first rating's transaction is held open after its insert, so the second surely runs
    # while it is in flight: its update finds no committed row, its insert waits on the key.
    with raw.connect() as holder:
        holder.execute(text("INSERT INTO feedback (turn_id, created_at, rating) VALUES (:turn, now(), 'up')"),
                       {"turn": turn})
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(log.record_feedback, turn, "down")
            wait_until_blocked(raw, deadline_s=30)
            holder.commit()
            second.result(timeout=30)
    assert rows(raw, "SELECT turn_id, rating FROM feedback") == [(turn, "down")]


def wait_until_blocked(engine: Engine, deadline_s: float) -> None:
    """Poll pg_stat_activity until some other session waits on a lock, or fail at the deadline."""
    deadline = time.monotonic() + deadline_s
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    while time.monotonic() < deadline:
        if rows(engine, query)[0][0]:
            return
    raise AssertionError(f"No session waited on a lock within {deadline_s} s.")

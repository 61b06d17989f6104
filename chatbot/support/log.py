"""The support log (SQLAlchemy, SQLite by default): shopper conversations, the queue of escalated
ones for staff, and the assist panel's drafts with the agents' feedback. Personal data is redacted
before anything is written."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from chatbot.database import Database, database_message, lock_schema, open_engine
from chatbot.errors import ChatbotError, SupportLogError
from chatbot.text.redaction import redact
from chatbot.values import Answer

RATINGS = ("good", "bad", "edited")

metadata = MetaData()
schema_versions = Table(
    "schema_versions", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
conversations = Table(
    "conversations", metadata,
    Column("id", String(32), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("escalated_reason", String(40)),  # the latest escalation, while staff have not handled it
    Column("handled_at", DateTime(timezone=True)),
)
turns = Table(
    "turns", metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(32), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("escalate", Boolean, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("timings", JSON, nullable=False),
    Column("model", String(200)),  # what wrote the answer and which index it searched (schema 2)
    Column("index_version", String(40)),
)
feedback = Table(  # the shopper's thumbs on an answer (schema 2); a second click replaces the first
    "feedback", metadata,
    Column("turn_id", Integer, ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rating", String(4), nullable=False),  # "up" or "down"
    Column("comment", Text),
)
drafts = Table(
    "drafts", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("agent", String(64), nullable=False),
    Column("conversation_id", String(32), ForeignKey("conversations.id")),
    Column("message", Text, nullable=False),
    Column("draft", Text, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("next_action", String(40), nullable=False),
    Column("rating", String(10)),
    Column("final_text", Text),
    Column("rated_at", DateTime(timezone=True)),
)


def _create_first_tables(connection: Connection) -> None:
    metadata.create_all(connection, tables=[conversations, turns, drafts])


def _versions_and_feedback(connection: Connection) -> None:
    _add_missing_columns(connection, turns, ("model", "index_version"))
    metadata.create_all(connection, tables=[feedback])


def _add_missing_columns(connection: Connection, table: Table, names: tuple[str, ...]) -> None:
    """ALTER TABLE ADD COLUMN for each named column the table lacks (a table created by an
    earlier step from the current definitions has them already)."""
    present = {column["name"] for column in inspect(connection).get_columns(table.name)}
    for name in names:
        if name not in present:
            column = table.c[name]
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {kind}'))


# Applied in order at start, each once; a new version appends a step here, never edits one.
MIGRATIONS: list[Callable[[Connection], None]] = [_create_first_tables, _versions_and_feedback]
FEEDBACK_RATINGS = ("up", "down")


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    reason: str
    escalate: bool
    sources: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class QueuedConversation:
    """An escalated conversation waiting for staff, with its turns (oldest first)."""

    id: str
    reason: str
    updated_at: datetime
    turns: tuple[Turn, ...]
    handled: bool = False  # staff have answered it since its last escalation

    @property
    def last_question(self) -> str:
        return self.turns[-1].question if self.turns else ""

    @property
    def escalated_turn(self) -> Turn | None:
        """The turn whose answer put the conversation in the queue: its latest escalation, the one
        `reason` is for. Questions after it may have been answered since, so the conversation's
        last question is not necessarily the one waiting for a person."""
        return next((turn for turn in reversed(self.turns) if turn.escalate), None)

    @property
    def asked_since_escalation(self) -> int:
        """How many questions the shopper asked after the escalated turn (answered, or they would
        be the escalated turn)."""
        return next((i for i, turn in enumerate(reversed(self.turns)) if turn.escalate), 0)


@dataclass(frozen=True)
class DraftRecord:
    id: int
    agent: str
    message: str
    draft: str
    reason: str
    next_action: str
    rating: str | None
    final_text: str | None
    conversation_id: str | None
    sources: tuple[dict[str, Any], ...] = ()  # the passages the draft cited ({"id", "doc_id", "title", "score"})


class SupportLog(Database):
    """Conversations, the escalation queue and drafts. Open one with `open_support_log`."""

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise SupportLogError(database_message(self._engine.url, exc, "support_log_url", "support log")) from exc

    def schema_version(self) -> int:
        with self._connect() as connection:
            return connection.scalar(select(func.max(schema_versions.c.version))) or 0

    def new_conversation(self) -> str:
        """A new conversation's id."""
        conversation_id, now = uuid.uuid4().hex, _now()
        with self._connect() as connection:
            connection.execute(insert(conversations).values(id=conversation_id, started_at=now, updated_at=now))
        return conversation_id

    def record_turn(
        self, conversation_id: str, question: str, answer: Answer, model: str = "", index_version: str = ""
    ) -> int:
        """Store a question and its answer (redacted), with the model and index that made it, and
        return the turn's id. An escalated answer puts the conversation in the staff queue with
        its reason; a later escalation replaces the reason."""
        now = _now()
        row = answer.as_dict()
        changes: dict[str, Any] = {"updated_at": now}
        if answer.escalate:
            changes |= {"escalated_reason": answer.reason, "handled_at": None}
        with self._connect() as connection:
            found = connection.execute(update(conversations).where(conversations.c.id == conversation_id).values(**changes))
            if not found.rowcount:
                raise SupportLogError(f"No conversation {conversation_id!r} in the support log.")
            result = connection.execute(insert(turns).values(
                conversation_id=conversation_id, created_at=now, question=redact(question), answer=redact(answer.text),
                sources=row["sources"], confidence=row["confidence"], escalate=answer.escalate, reason=answer.reason,
                timings=row["timings"], model=model or None, index_version=index_version or None,
            ))
            return _inserted_id(result)

    def record_feedback(self, turn_id: int, rating: str, comment: str = "") -> None:
        """The shopper's thumbs up or down on an answer, with an optional comment (redacted).
        A later rating of the same answer replaces the earlier one; a comment alone keeps the rating."""
        if rating not in FEEDBACK_RATINGS:
            raise ChatbotError(f"Feedback is {' or '.join(FEEDBACK_RATINGS)}; got {rating!r}.")
        values = {"created_at": _now(), "rating": rating, "comment": redact(comment.strip()) or None}
        with self._connect() as connection:
            if connection.scalar(select(func.count()).select_from(turns).where(turns.c.id == turn_id)) == 0:
                raise ChatbotError(f"No answer {turn_id} in the support log.")
            rate = update(feedback).where(feedback.c.turn_id == turn_id).values(**values)
            if connection.execute(rate).rowcount:
                return
            # A rating of the same answer may be inserting at this moment (two clicks, two app
            # processes): ours then fails on the key, in a savepoint so the transaction survives,
            # and the update runs again on the row now committed: the later rating wins.
            try:
                with connection.begin_nested():
                    connection.execute(insert(feedback).values(turn_id=turn_id, **values))
            except IntegrityError:
                connection.execute(rate)

    def turn_rows(self, since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
        """Every turn in [since, until), oldest first, with its feedback: what the dashboard and
        the exports read."""
        query = (select(turns, feedback.c.rating.label("feedback"), feedback.c.comment.label("feedback_comment"))
                 .select_from(turns.outerjoin(feedback, feedback.c.turn_id == turns.c.id)).order_by(turns.c.id))
        if since is not None:
            query = query.where(turns.c.created_at >= since)
        if until is not None:
            query = query.where(turns.c.created_at < until)
        with self._connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query).all()]

    def delete_older_than(self, days: int) -> int:
        """Retention: delete conversations (with their turns and feedback) last active more than
        `days` days ago, and drafts made before then. Returns how many conversations went."""
        cutoff = _now() - timedelta(days=days)
        with self._connect() as connection:
            old = select(conversations.c.id).where(conversations.c.updated_at < cutoff)
            old_turns = select(turns.c.id).where(turns.c.conversation_id.in_(old))
            connection.execute(delete(feedback).where(feedback.c.turn_id.in_(old_turns)))
            connection.execute(delete(turns).where(turns.c.conversation_id.in_(old)))
            connection.execute(delete(drafts).where((drafts.c.created_at < cutoff) | drafts.c.conversation_id.in_(old)))
            return connection.execute(delete(conversations).where(conversations.c.updated_at < cutoff)).rowcount

    def escalation_queue(self, limit: int = 50) -> list[QueuedConversation]:
        """Escalated conversations staff have not handled yet, the most recent first."""
        with self._connect() as connection:
            waiting = connection.execute(
                select(conversations).where(conversations.c.escalated_reason.is_not(None), conversations.c.handled_at.is_(None))
                .order_by(conversations.c.updated_at.desc(), conversations.c.id).limit(limit)
            ).all()
            return [QueuedConversation(row.id, row.escalated_reason, row.updated_at, self._turns(connection, row.id))
                    for row in waiting]

    def conversation(self, conversation_id: str) -> QueuedConversation | None:
        with self._connect() as connection:
            row = connection.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
            if row is None:
                return None
            return QueuedConversation(row.id, row.escalated_reason or "", row.updated_at, self._turns(connection, row.id),
                                      row.handled_at is not None)

    def _turns(self, connection: Connection, conversation_id: str) -> tuple[Turn, ...]:
        rows = connection.execute(
            select(turns).where(turns.c.conversation_id == conversation_id).order_by(turns.c.id)
        ).all()
        return tuple(Turn(r.question, r.answer, r.reason, r.escalate, r.sources, r.created_at) for r in rows)

    def record_draft(
        self, agent: str, message: str, answer: Answer, next_action: str, conversation_id: str | None = None
    ) -> int:
        """Store a drafted reply (redacted) and return its id, for the agent's feedback."""
        with self._connect() as connection:
            result = connection.execute(insert(drafts).values(
                created_at=_now(), agent=agent, conversation_id=conversation_id, message=redact(message),
                draft=redact(answer.text), sources=answer.as_dict()["sources"], reason=answer.reason, next_action=next_action,
            ))
            return _inserted_id(result)

    def rate_draft(self, draft_id: int, rating: str, final_text: str | None = None) -> DraftRecord:
        """Record the agent's verdict on a draft: good, bad, or edited with the text they sent
        (required for "edited"). Rating again replaces the verdict. A draft made from a queued
        conversation takes that conversation off the queue."""
        if rating not in RATINGS:
            raise ChatbotError(f"A draft is rated {', '.join(RATINGS)}; got {rating!r}.")
        final_text = (final_text or "").strip() or None
        if rating == "edited" and not final_text:
            raise ChatbotError("An edited draft needs the text that was sent.")
        with self._connect() as connection:
            changed = connection.execute(update(drafts).where(drafts.c.id == draft_id).values(
                rating=rating, final_text=redact(final_text) if final_text else None, rated_at=_now()))
            if not changed.rowcount:
                raise ChatbotError(f"No draft {draft_id} in the support log.")
            row = connection.execute(select(drafts).where(drafts.c.id == draft_id)).one()
            if row.conversation_id:
                connection.execute(update(conversations).where(conversations.c.id == row.conversation_id).values(handled_at=_now()))
        return _draft(row)

    def drafts(self, rating: str | None = None) -> list[DraftRecord]:
        """Drafts, oldest first; with `rating`, only those rated so (e.g. the edited ones, as eval cases)."""
        query = select(drafts).order_by(drafts.c.id)
        if rating:
            query = query.where(drafts.c.rating == rating)
        with self._connect() as connection:
            return [_draft(row) for row in connection.execute(query).all()]


def _inserted_id(result: CursorResult[Any]) -> int:
    """The id the database gave the row just inserted."""
    key = result.inserted_primary_key
    if key is None:
        raise SupportLogError("The support log's database did not return the new row's id.")
    return int(key[0])


def _draft(row: Any) -> DraftRecord:
    return DraftRecord(row.id, row.agent, row.message, row.draft, row.reason, row.next_action, row.rating,
                       row.final_text, row.conversation_id, tuple(row.sources or ()))


def migrate(engine: Engine) -> int:
    """Apply the MIGRATIONS not yet recorded in `schema_versions`; returns the schema version."""
    with engine.begin() as connection:
        # One process at a time: two starting on a new database would both create the tables.
        lock_schema(connection, "support log schema")
        metadata.create_all(connection, tables=[schema_versions])
        current = connection.scalar(select(func.max(schema_versions.c.version))) or 0
        if current > len(MIGRATIONS):
            raise SupportLogError(f"The support log's schema is version {current}, newer than this code's "
                                  f"{len(MIGRATIONS)}: update the chatbot, or point `support_log_url` elsewhere.")
        for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
            step(connection)
            connection.execute(insert(schema_versions).values(version=version, applied_at=_now()))
    return max(current, len(MIGRATIONS))


def open_support_log(url: str) -> SupportLog:
    """Connect to the support log at `url` (the `support_log_url` setting) and bring its schema up to date."""
    engine = open_engine(url, "support_log_url", SupportLogError, "support log")
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise SupportLogError(database_message(engine.url, exc, "support_log_url", "support log")) from exc
    except SupportLogError:
        engine.dispose()
        raise
    return SupportLog(engine)


def _now() -> datetime:
    return datetime.now(timezone.utc)


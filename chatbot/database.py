"""Opening a SQLAlchemy database named by a setting (SQLite by default), with errors that name it.

Importing this module imports SQLAlchemy, which is slow to import: callers import it inside the
function that opens a database, so `python -m chatbot --help` stays instant.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Self

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from chatbot.errors import ChatbotError


def open_engine(url: str, setting: str, error: type[ChatbotError], what: str) -> Engine:
    """An engine for `url` (the value of `setting`); failures raise `error` with a message naming both.

    For SQLite the file's folder is created and WAL journal mode is used, so readers (the chat)
    never wait for a writer. Any SQLAlchemy URL works with its driver installed, e.g.
    `postgresql+psycopg://shop@db.example/support`.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise error(f"The `{setting}` setting is not a database URL: expected e.g. "
                    f"sqlite:///data/{what}.db or postgresql+psycopg://user@host/{what}.") from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    database = parsed.database or ""
    if is_sqlite and database not in ("", ":memory:") and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise error(f"Cannot create the folder for the {what} database {database} ({exc.strerror}). "
                        f"Check the `{setting}` setting.") from exc
    try:
        engine = create_engine(parsed)
    except (SQLAlchemyError, ImportError) as exc:
        raise error(f"Cannot use the {what} database {parsed.render_as_string(hide_password=True)} "
                    f"({exc}). Check the `{setting}` setting and that its driver is installed.") from exc
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """A store over one engine; closing it (or leaving its `with` block) releases the connections."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def lock_schema(connection: Connection, name: str) -> None:
    """On PostgreSQL, wait for the lock named `name` until `connection`'s transaction ends; elsewhere nothing.

    Two processes starting on a new database would both find its tables missing and both create
    them, and PostgreSQL refuses the second CREATE TABLE (duplicate key in pg_type). Taken first
    in the transaction that creates or migrates tables, this lets one process at a time do it;
    the next then finds the tables made. SQLite's file lock already serialises writers.
    """
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def database_message(url: URL, exc: BaseException, setting: str, what: str) -> str:
    """What to tell the user when a query or write fails."""
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return (f"The {what} database {url.render_as_string(hide_password=True)} cannot be used ({detail}). "
            f"Check the `{setting}` setting: the database must exist, be reachable and be writable.")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()

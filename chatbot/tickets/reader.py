"""Reading helpdesk ticket exports (CSV or JSONL, optionally gzipped): find the id and text
columns, turn HTML bodies into text, and keep a broken row as a row with an error."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from chatbot.errors import TicketFileError

# Column names seen in Zendesk, Freshdesk, Help Scout and Gorgias exports, most specific first.
ID_COLUMNS = ("ticket_id", "ticket id", "id", "conversation_id", "conversation id", "number", "ticket number")
SUBJECT_COLUMNS = ("subject", "title", "summary")
BODY_COLUMNS = (
    "description", "body", "message", "first_comment", "first comment", "first message", "content", "text", "question",
)
_TAG = re.compile(r"<\s*(p|br|div|li|html|body|span|a|b|i|strong|em|table|tr|td)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Ticket:
    """One ticket: its id, the text to answer, where it was in the file, and why it can't be read."""

    id: str
    text: str
    line: int
    error: str = ""


def read_tickets(path: str | Path, id_column: str | None = None, text_columns: Sequence[str] | None = None) -> list[Ticket]:
    """Every ticket in a `.csv`, `.jsonl`, `.csv.gz` or `.jsonl.gz` export, in file order.

    Without `id_column` / `text_columns` the columns are found by their usual names (see
    ID_COLUMNS, SUBJECT_COLUMNS, BODY_COLUMNS); the text is the subject and the body joined.
    A row that cannot be read becomes a Ticket with an `error`, so the run can carry on.
    """
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if not name.endswith((".csv", ".jsonl")):
        raise TicketFileError(f"{path}: expected a .csv or .jsonl export (optionally .gz).")
    text = _read_text(path)
    rows = _csv_rows(text) if name.endswith(".csv") else _jsonl_rows(text)
    return list(_tickets(rows, path, id_column, text_columns))


def duplicate_ids(tickets: Iterable[Ticket]) -> list[str]:
    """Ids that occur more than once, in order of first appearance.

    >>> duplicate_ids([Ticket("1", "a", 2), Ticket("2", "b", 3), Ticket("1", "c", 4)])
    ['1']
    """
    counts = Counter(t.id for t in tickets)
    return [ticket_id for ticket_id, n in counts.items() if n > 1]


def html_to_text(text: str) -> str:
    """Text of an HTML body (paragraphs and line breaks kept as new lines); plain text unchanged.

    >>> html_to_text("<p>Hi,</p><p>Where is my <b>order</b>?<br>Thanks</p>")
    'Hi,\\nWhere is my order?\\nThanks'
    """
    if not _TAG.search(text):
        return text.strip()
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"]):
        block.append("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().split("\n"))
    return "\n".join(line for line in lines if line)


def _read_text(path: Path) -> str:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix.lower() == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise TicketFileError(f"Cannot read {path}: {error}") from error
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Helpdesks on Windows export cp1252; every byte decodes, so nothing is lost silently.
        return raw.decode("cp1252", errors="replace")


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """(line, row, error) for each record; quoted newlines stay inside their field."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise TicketFileError(f"The CSV header cannot be read: {error}") from error
    header = [h.strip() for h in header]
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield line, None, f"unreadable CSV row: {error}"
            continue
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) != len(header):
            yield line, None, f"expected {len(header)} columns, found {len(values)}"
            continue
        yield line, dict(zip(header, values)), ""


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError as error:
            yield line, None, f"not valid JSON: {error}"
            continue
        if not isinstance(row, dict):
            yield line, None, "expected a JSON object"
            continue
        yield line, {str(k): "" if v is None else v if isinstance(v, str) else json.dumps(v) for k, v in row.items()}, ""


def _tickets(
    rows: Iterable[tuple[int, dict[str, str] | None, str]],
    path: Path,
    id_column: str | None,
    text_columns: Sequence[str] | None,
) -> Iterator[Ticket]:
    columns: tuple[str, list[str]] | None = None
    for line, row, error in rows:
        if row is None:
            yield Ticket(f"line-{line}", "", line, error)
            continue
        if columns is None:
            columns = _choose_columns(list(row), path, id_column, text_columns)
        id_name, text_names = columns
        ticket_id = str(row.get(id_name, "")).strip() or f"line-{line}"
        parts = [html_to_text(str(row.get(name, ""))) for name in text_names]
        text = "\n".join(p for p in parts if p)
        yield Ticket(ticket_id, text, line, "" if text else "empty ticket: no subject or body")


def _choose_columns(
    names: list[str], path: Path, id_column: str | None, text_columns: Sequence[str] | None
) -> tuple[str, list[str]]:
    lower = {n.lower().strip(): n for n in names}

    def find(wanted: Iterable[str]) -> str | None:
        return next((lower[w] for w in wanted if w in lower), None)

    def named(column: str) -> str:
        if column.lower() not in lower:
            raise TicketFileError(f"{path} has no column {column!r}; its columns are {', '.join(names)}.")
        return lower[column.lower()]

    chosen_id = named(id_column) if id_column else find(ID_COLUMNS)
    if chosen_id is None:
        raise TicketFileError(f"{path}: no id column ({', '.join(ID_COLUMNS)}); name one with --id-column. Columns: {', '.join(names)}.")
    if text_columns:
        chosen_text = [named(c) for c in text_columns]
    else:
        chosen_text = [c for c in (find(SUBJECT_COLUMNS), find(BODY_COLUMNS)) if c]
        if not chosen_text:
            raise TicketFileError(
                f"{path}: no subject or body column; name them with --text-columns. Columns: {', '.join(names)}."
            )
    return chosen_id, chosen_text

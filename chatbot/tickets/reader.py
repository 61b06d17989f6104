"""Reading helpdesk ticket exports (CSV or JSONL, optionally gzipped): decode them, find the id
and text columns, turn HTML bodies into text, and keep a broken row as a ticket with an error
(records.py splits the text so that a broken row costs no other ticket)."""

from __future__ import annotations

import codecs
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from chatbot.errors import TicketFileError
from chatbot.tickets.records import Record, csv_header, csv_records, id_in_broken_json, jsonl_records, split_lines

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
    A row that cannot be read becomes a Ticket with an `error`, under the id read from it where
    one can be (else `line-N`), and the rows after it are read as usual (see records.py), so the
    run answers every intact ticket and gives the broken one an error row.
    """
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if not name.endswith((".csv", ".jsonl")):
        raise TicketFileError(f"{path}: expected a .csv or .jsonl export (optionally .gz).")
    text = _read_text(path)
    if name.endswith(".csv"):
        lines = split_lines(text)
        layout = csv_header(lines)
        if not layout.columns:
            return []  # an empty file
        id_name, text_names = _choose_columns(layout.columns, path, id_column, text_columns)
        records = list(csv_records(lines, replace(layout, id_index=layout.columns.index(id_name))))
    else:
        records = list(jsonl_records(text))
        keys = dict.fromkeys(k for r in records if r.fields for k in r.fields)  # every row's keys, in order
        if not keys:
            return [_broken(r) for r in records]
        id_name, text_names = _choose_columns(list(keys), path, id_column, text_columns)
        records = [replace(r, ticket_id=id_in_broken_json(r.source, id_name)) if r.error else r for r in records]
    return [_ticket(r, id_name, text_names, fallback=not text_columns and name.endswith(".jsonl")) for r in records]


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
    return decode_export(raw)


def decode_export(raw: bytes) -> str:
    r"""An export's text: UTF-16 where it starts with a byte order mark (Excel's "Unicode
    text"), else UTF-8 (a BOM dropped); a file that is not all UTF-8 is decoded line by line,
    each line that is not UTF-8 read as cp1252 (helpdesks on Windows), so the UTF-8 lines of a
    mixed file keep their accents and nothing is lost silently.

    >>> decode_export("1,Caf\u00e9\n".encode() + "2,Cr\u00e8me".encode("cp1252")) == "1,Caf\u00e9\n2,Cr\u00e8me"
    True
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "\n".join(_decode_line(line) for line in raw.removeprefix(codecs.BOM_UTF8).split(b"\n"))


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")  # cp1252 leaves 5 bytes undefined: those become U+FFFD


def _broken(record: Record) -> Ticket:
    return Ticket(record.ticket_id or f"line-{record.line}", "", record.line, record.error)


def _ticket(record: Record, id_name: str, text_names: Sequence[str], fallback: bool = False) -> Ticket:
    """The ticket of one record: its id and text, or the error that keeps it from being answered.
    With `fallback`, a row without the chosen text fields is read from its own subject or body field."""
    row = record.fields
    if row is None:
        return _broken(record)
    ticket_id = str(row.get(id_name, "")).strip()
    if not ticket_id:
        return Ticket(f"line-{record.line}", "", record.line,
                      f"no ticket id: the {id_name!r} field is empty or missing; give every ticket an id")
    text = _text(row, text_names)
    if not text and fallback:  # a JSONL export whose rows name their text differently ("body" here, "message" there)
        lower = {str(key).lower().strip(): key for key in row}
        text = _text(row, [lower[name] for name in (*SUBJECT_COLUMNS, *BODY_COLUMNS) if name in lower])
    return Ticket(ticket_id, text, record.line, "" if text else "empty ticket: no subject or body")


def _text(row: Mapping[str, object], names: Sequence[str]) -> str:
    """The named fields' text, joined; a missing or null field is no text ("None" is not a question)."""
    parts = [html_to_text(str(value)) for name in names if (value := row.get(name)) is not None]
    return "\n".join(part for part in parts if part.strip())


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

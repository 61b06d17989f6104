"""Splitting an export's text into records, so that a broken record costs only its own ticket:
a CSV row with an unclosed quote or a wrong column count, or a JSONL line that is not JSON,
becomes one error record (with the ticket id read from it where one can be), and reading goes
on from the next line that starts a ticket."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from chatbot.errors import TicketFileError

# A ticket id as exports write them: "1008", "M-4", "ZD-10452", "#1234", a UUID. It must hold a
# digit: a line of a ticket's body such as "Hi, I ordered a shirt, size M" is not taken for a row.
_ROW_ID = re.compile(r"#?[\w.:/-]*\d[\w.:/-]*")
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Record:
    """One record: the line it starts on, its fields, or why it cannot be read (`error`) with the
    ticket id read from it (`ticket_id`, "" where none can be) and its raw text (`source`)."""

    line: int
    fields: dict[str, str] | None
    error: str = ""
    ticket_id: str = ""
    source: str = ""


def split_lines(text: str) -> list[str]:
    """The file's lines with their endings. Only \\n, \\r\\n and \\r end a line: `str.splitlines`
    also splits at U+2028 and form feeds, which a ticket's body may hold.

    >>> split_lines("a\\r\\nb\\u2028c\\rd")
    ['a\\r\\n', 'b\\u2028c\\r', 'd']
    """
    return list(io.StringIO(text, newline=""))


def readable_id(value: str) -> str:
    """`value` as a ticket id if it can be one (1 to 64 characters, no spaces), else "".

    >>> readable_id(" M-3 "), readable_id("The quote never closes")
    ('M-3', '')
    """
    value = value.strip()
    return value if 0 < len(value) <= 64 and not any(c.isspace() for c in value) else ""


@dataclass(frozen=True)
class CsvLayout:
    """The header of a CSV export: its column names, delimiter and where the id column is."""

    columns: list[str]
    delimiter: str
    id_index: int = 0


def csv_header(lines: Sequence[str]) -> CsvLayout:
    """The header on the first line; the delimiter is the one of `,` `;` tab that splits it into
    the most columns (Excel writes `;` in some locales and tabs in its "Unicode text")."""
    if not lines:
        return CsvLayout([], ",")
    header = lines[0]
    try:
        parsed = {d: next(csv.reader([header], delimiter=d, strict=True)) for d in _DELIMITERS}
    except csv.Error as error:
        raise TicketFileError(f"The CSV header cannot be read: {error}. Fix the first line of the export.") from error
    delimiter = max(_DELIMITERS, key=lambda d: len(parsed[d]))  # a tie keeps the comma (first)
    return CsvLayout([name.strip() for name in parsed[delimiter]], delimiter)


def csv_records(lines: Sequence[str], layout: CsvLayout) -> Iterator[Record]:
    """The records after the header, in file order; quoted newlines stay inside their field.

    A record on one line is read leniently, as exporters write them (`"Urgent" - help` is one
    field). One that runs over several lines must be strictly whole (each quote closed before a
    delimiter or a line end) and have the header's columns; else it is broken. Its lines up to
    the first that starts a ticket's row (an id in the id column, holding a digit, with the
    columns to go with it) become one error record, named by the id on its first line, and
    reading resumes there, so an unclosed quote cannot swallow the tickets after it. Where none
    of its lines starts a row, the broken record keeps them all if every row read so far had an
    id of that shape; else reading resumes at its second line, so that no ticket is lost when the
    ids hold no digit (a broken body's lines may then come out as error records of their own).
    """
    columns = len(layout.columns)
    ids_read = ids_of_row_shape = 0
    start = 1
    while start < len(lines):
        if not lines[start].strip():
            start += 1
            continue
        read = _read_record(lines, start, layout)
        values = _fit(read.fields, columns)
        error = read.unreadable or (read.not_whole if read.end > start + 1 else "")
        if values is None and not error:
            error = f"expected {columns} columns, found {len(read.fields)}"
        if not error:
            assert values is not None
            if [v.strip().lstrip("\ufeff") for v in values] != layout.columns:  # a header repeated by joined exports
                ids_read += 1
                ids_of_row_shape += bool(_ROW_ID.fullmatch(values[layout.id_index].strip()))
                yield Record(start + 1, dict(zip(layout.columns, values)))
            start = read.end
            continue
        end = read.end
        if read.row_starts:
            end = read.row_starts[0]
        elif end > start + 1 and (not ids_read or ids_read != ids_of_row_shape):
            end = start + 1  # no line is known to start a row: read each again
        first = _fields(lines[start], layout.delimiter)[0]
        ticket_id = readable_id(first[layout.id_index]) if layout.id_index < len(first) else ""
        span = f"line {start + 1}" if end == start + 1 else f"lines {start + 1}-{end}"
        yield Record(start + 1, None, f"{span}: {error}", ticket_id, "".join(lines[start:end]))
        start = end


# A quoted body may hold lines that look like rows (a numbered list: "1. The mug, size M, broken");
# past this many the record is taken for an unclosed quote, without reading to the end of the file.
_MAX_ROW_LIKE_LINES = 10


@dataclass(frozen=True)
class _Read:
    fields: list[str]
    end: int  # the line after the record
    row_starts: list[int]  # lines inside it that start a ticket's row
    not_whole: str  # why it is not strictly whole ("" when it is)
    unreadable: str = ""  # why it cannot be read at all


def _read_record(lines: Sequence[str], start: int, layout: CsvLayout) -> _Read:
    """The record at `start`, read leniently, and whether it is strictly whole."""
    row_starts: list[int] = []

    def feed() -> Iterator[str]:
        for k in range(start, len(lines)):
            if k > start and _starts_row(lines[k], layout):
                row_starts.append(k)
                if len(row_starts) > _MAX_ROW_LIKE_LINES:
                    return
            yield lines[k]

    lenient = csv.reader(feed(), delimiter=layout.delimiter)
    try:
        fields = next(lenient, [])
    except csv.Error as error:  # a field over the csv module's size limit
        return _Read([], start + max(lenient.line_num, 1), [], "", f"unreadable CSV row: {error}")
    end = start + lenient.line_num
    strict = csv.reader(lines[start:end], delimiter=layout.delimiter, strict=True)
    try:
        whole = next(strict, []) == fields and strict.line_num == end - start and len(row_starts) <= _MAX_ROW_LIKE_LINES
        problem = "" if whole else "a quote is not closed"
    except csv.Error as error:
        problem = str(error)
    if problem and row_starts:
        problem = "a quote opened in this row is not closed before the next ticket's row; fix the quote"
    elif problem:
        problem = f"unreadable CSV row: {problem}"
    return _Read(fields, end, row_starts, problem)


def _fit(fields: list[str], columns: int) -> list[str] | None:
    """The row's values, one per column: empty trailing fields past the header (some exporters
    pad rows) are dropped; a row with more or fewer values than columns has none."""
    if len(fields) > columns and not any(f.strip() for f in fields[columns:]):
        return fields[:columns]
    return fields if len(fields) == columns else None


def _fields(line: str, delimiter: str) -> tuple[list[str], bool]:
    """The fields on one line, and whether they make a whole record (no quote left open)."""
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True), []), True
    except csv.Error:
        return next(csv.reader([line], delimiter=delimiter), []), False


def _starts_row(line: str, layout: CsvLayout) -> bool:
    """Whether `line` begins a ticket's row: an id in the id column, and the header's number of
    columns (or, on a line that ends inside a quoted field, no more than that)."""
    fields, whole = _fields(line, layout.delimiter)
    columns = len(layout.columns)
    if len(fields) <= layout.id_index or (len(fields) < columns if whole else len(fields) > columns):
        return False
    return bool(_ROW_ID.fullmatch(fields[layout.id_index].strip()))


def jsonl_records(text: str) -> Iterator[Record]:
    """One record per JSON object line. A line that is not JSON takes the lines after it that
    start no object (`{`): read together they are one object broken by a raw new line (read as
    such), else one error record, so a ticket split over lines gives one row, not several."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    number = 0
    while number < len(lines):
        raw = lines[number]
        if not raw.strip():
            number += 1
            continue
        try:
            row = json.loads(raw)
        except ValueError as error:
            end = number + 1
            while end < len(lines) and lines[end].strip() and not lines[end].lstrip().startswith("{"):
                end += 1
            joined = "\n".join(lines[number:end])
            yield _joined_record(number + 1, joined, end - number, error)
            number = end
            continue
        yield _object_record(number + 1, row, raw)
        number += 1


def _joined_record(line: int, joined: str, count: int, error: ValueError) -> Record:
    if count > 1:
        try:  # strict=False: control characters (a raw new line) are allowed inside strings
            return _object_record(line, json.loads(joined, strict=False), joined)
        except ValueError:
            pass  # not one object either: the first line's error says what is wrong
    span = f"line {line}" if count == 1 else f"lines {line}-{line + count - 1}"
    return Record(line, None, f"{span}: not valid JSON: {error}", source=joined)


def _object_record(line: int, row: object, raw: str) -> Record:
    if not isinstance(row, dict):
        return Record(line, None, "expected a JSON object", source=raw)
    return Record(line, {str(k): "" if v is None else v if isinstance(v, str) else json.dumps(v) for k, v in row.items()})


def id_in_broken_json(source: str, id_name: str) -> str:
    """The ticket id in the text of a line that is not valid JSON, where it can be read.

    >>> id_in_broken_json('{"ticket_id": 1008, "body": "Where is my refund?}', "ticket_id")
    '1008'
    """
    found = re.search(rf'"{re.escape(id_name)}"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,}}\]]+))', source)
    return readable_id(found.group(1) if found and found.group(1) is not None else found.group(2) if found else "")

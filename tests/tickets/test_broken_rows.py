"""Broken rows in ticket exports cost only their own ticket: unclosed quotes, extra columns, lines
that are not JSON, missing ids, and odd encodings (issue 35)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from chatbot.tickets.answering import answer_tickets
from chatbot.tickets.reader import Ticket, read_tickets

# The issue's first export: the quote opened in row 3 (M-3) closes only in M-7's quoted subject,
# so the old reader read M-3 to M-7 as one row of 4 columns (an error row "line-4") and lost M-4..M-7.
UNCLOSED_QUOTE_CSV = (
    "ticket_id,subject,body\n"
    "M-1,Returns,How many days to return full-price items?\n"
    "M-2,Shipping,Do you ship to Canada?\n"
    'M-3,Broken,"The quote never closes here\n'
    "M-4,Klarna,Can I pay with Klarna?\n"
    "M-5,Refund,How long does a refund take?\n"
    "M-6,Password,How do I reset my password?\n"
    'M-7,"Price match",Do you price match?\n'
    "M-8,Gift,Do you sell gift cards?\n"
)
# The second: ticket 1007's body opens a quote that 1008's quoted subject closes; the old
# reader gave one error row "line-8" ("expected 3 columns, found 4") and no row for 1008.
EXTRA_COLUMN_CSV = (
    "ticket_id,subject,body\n"
    + "".join(f"{n},Question {n},Is item {n} in stock?\n" for n in range(1001, 1007))
    + '1007,Wrong size,"I got an M, not an L\n'
    '1008,"Refund",Where is my refund?\n'
    "1009,Gift,Do you sell gift cards?\n"
    "1010,Hours,When are you open?\n"
)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_an_unclosed_quote_costs_only_its_own_ticket(tmp_path: Path) -> None:
    tickets = read_tickets(write(tmp_path, "m.csv", UNCLOSED_QUOTE_CSV))
    assert [t.id for t in tickets] == [f"M-{n}" for n in range(1, 9)]
    assert tickets[2] == Ticket(
        "M-3", "", 4, "line 4: a quote opened in this row is not closed before the next ticket's row; fix the quote"
    )
    assert [t.text for t in tickets[3:]] == [
        "Klarna\nCan I pay with Klarna?", "Refund\nHow long does a refund take?", "Password\nHow do I reset my password?",
        "Price match\nDo you price match?", "Gift\nDo you sell gift cards?",
    ]
    assert [t.error for t in tickets if t.id != "M-3"] == [""] * 7


def test_a_row_that_gains_a_column_is_named_by_its_id_and_the_next_ticket_is_kept(tmp_path: Path) -> None:
    tickets = read_tickets(write(tmp_path, "t.csv", EXTRA_COLUMN_CSV))
    assert [t.id for t in tickets] == [str(n) for n in range(1001, 1011)]
    assert (tickets[6].line, tickets[6].error) == (
        8, "line 8: a quote opened in this row is not closed before the next ticket's row; fix the quote"
    )
    assert tickets[7] == Ticket("1008", "Refund\nWhere is my refund?", 9)
    plain_extra = "id,subject,body\n7,Refund,too,many\n8,Hello,Where is my parcel?\n"
    assert read_tickets(write(tmp_path, "x.csv", plain_extra)) == [
        Ticket("7", "", 2, "line 2: expected 3 columns, found 4"), Ticket("8", "Hello\nWhere is my parcel?", 3)
    ]


@pytest.mark.parametrize(
    ("export", "broken", "error"),
    [
        (UNCLOSED_QUOTE_CSV, "M-3", "line 4: a quote opened in this row is not closed before the next ticket's row; fix the quote"),
        (EXTRA_COLUMN_CSV, "1007", "line 8: a quote opened in this row is not closed before the next ticket's row; fix the quote"),
    ],
)
def test_every_intact_ticket_of_a_broken_export_is_answered(pipeline, tmp_path: Path, export: str, broken: str, error: str) -> None:
    path = write(tmp_path, "export.csv", export)
    out = tmp_path / "answers.jsonl"
    summary = answer_tickets(pipeline(full="Within 30 days [1]."), read_tickets(path), out)
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    ids = [row.split(",")[0] for row in export.splitlines()[1:]]
    assert [r["id"] for r in written] == ids  # one row per ticket, in the export's order
    assert [(r["id"], r["error"]) for r in written if r["error"]] == [(broken, error)]
    assert all(r["reason"] for r in written if r["id"] != broken)  # each answered or escalated by the pipeline
    assert (summary.done, summary.errors) == (len(ids), 1)
    if export == UNCLOSED_QUOTE_CSV:
        assert (written[0]["answer"], written[0]["reason"]) == ("Within 30 days [1].", "answered")


def test_a_quote_left_open_in_the_last_ticket_takes_the_rest_of_the_file(tmp_path: Path) -> None:
    text = 'id,body\n1,"Hi,\nmy parcel is late"\n2,"Hello\nit never came\nplease help\n'
    assert read_tickets(write(tmp_path, "t.csv", text)) == [
        Ticket("1", "Hi,\nmy parcel is late", 2),  # a quoted new line is no break
        Ticket("2", "", 4, "lines 4-6: unreadable CSV row: unexpected end of data"),
    ]


def test_ids_without_digits_lose_no_ticket_after_a_broken_row(tmp_path: Path) -> None:
    # No line looks like a row start, so reading resumes on the line after the broken one.
    text = 'id,body\nabc,"Where is my order\ndef,Can I return it?\n'
    assert read_tickets(write(tmp_path, "t.csv", text)) == [
        Ticket("abc", "", 2, "line 2: unreadable CSV row: unexpected end of data"),
        Ticket("def", "Can I return it?", 3),
    ]


def test_a_missing_id_is_an_error_row_and_padding_and_repeated_headers_are_ignored(tmp_path: Path) -> None:
    text = "id,body\n,No id here\n5,Padded row,,\nid,body\n6,After a second header\n"
    assert read_tickets(write(tmp_path, "t.csv", text)) == [
        Ticket("line-2", "", 2, "no ticket id: the 'id' field is empty or missing; give every ticket an id"),
        Ticket("5", "Padded row", 3),
        Ticket("6", "After a second header", 5),
    ]


def test_broken_jsonl_lines_are_named_by_their_id_and_a_split_object_is_read_whole(tmp_path: Path) -> None:
    lines = [
        json.dumps({"ticket_id": "A1", "subject": "Klarna"}),  # no body key here: the body column comes from later rows
        '{"ticket_id": "A2", "body": "Where is my refund?}',  # the string is never closed
        '{"ticket_id": "A3", "body": "Line one',  # a raw new line inside a string
        'line two"}',
        '{"body": "No id"}',
        json.dumps({"ticket_id": "A5", "body": "Do you ship to Canada?"}),
    ]
    tickets = read_tickets(write(tmp_path, "t.jsonl", "\n".join(lines) + "\n"))
    assert [(t.id, t.text, t.line) for t in tickets] == [
        ("A1", "Klarna", 1), ("A2", "", 2), ("A3", "Line one\nline two", 3), ("line-5", "", 5),
        ("A5", "Do you ship to Canada?", 6),
    ]
    assert tickets[1].error.startswith("line 2: not valid JSON: Unterminated string")
    assert tickets[3].error == "no ticket id: the 'ticket_id' field is empty or missing; give every ticket an id"


def test_a_jsonl_fragment_that_is_not_json_either_stays_with_its_ticket(tmp_path: Path) -> None:
    text = '{"id": 1, "body": "Hello\n  world", "x": }\n{"id": 2, "body": "Refund?"}\n'
    tickets = read_tickets(write(tmp_path, "t.jsonl", text))
    assert [(t.id, t.line) for t in tickets] == [("1", 1), ("2", 3)]
    assert tickets[0].error.startswith("lines 1-2: not valid JSON")


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_excels_utf16_tab_separated_export_is_read(tmp_path: Path, bom: bytes) -> None:
    text = "Ticket ID\tSubject\tDescription\n1\tCaf\u00e9\tMy mug arrived broken \u2013 refund?\n"
    codec = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    path = write(tmp_path, "t.csv", bom + text.encode(codec))
    assert read_tickets(path) == [Ticket("1", "Caf\u00e9\nMy mug arrived broken \u2013 refund?", 2)]


def test_a_semicolon_export_with_a_bom_and_mixed_encodings_keeps_every_accent(tmp_path: Path) -> None:
    data = (
        codecs.BOM_UTF8 + "id;subject;body\n1;Caf\u00e9;Where is my order?\n".encode("utf-8")
        + "2;Cr\u00e8me;Can I return it?\n".encode("cp1252")
    )
    assert read_tickets(write(tmp_path, "t.csv", data)) == [
        Ticket("1", "Caf\u00e9\nWhere is my order?", 2), Ticket("2", "Cr\u00e8me\nCan I return it?", 3)
    ]


def test_an_empty_export_has_no_tickets(tmp_path: Path) -> None:
    assert read_tickets(write(tmp_path, "t.csv", "")) == []
    assert read_tickets(write(tmp_path, "t.jsonl", "\n")) == []


def test_a_body_with_lines_like_rows_is_one_ticket_when_its_quotes_close(tmp_path: Path) -> None:
    body = "My order:\n1. The mug, size M, arrived broken\n2. The plate, size L, is missing"
    text = f'id,subject,body\n11,Broken,"{body}"\n12,"Urgent" - help,Where is my parcel?\n'
    assert read_tickets(write(tmp_path, "t.csv", text)) == [
        Ticket("11", f"Broken\n{body}", 2),
        Ticket("12", "Urgent - help\nWhere is my parcel?", 5),  # a quoted word, then more: read as exporters mean it
    ]

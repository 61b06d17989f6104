"""Reading helpdesk exports: column detection, quoted newlines, HTML bodies, encodings, broken rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from chatbot.errors import TicketFileError
from chatbot.tickets.reader import Ticket, duplicate_ids, html_to_text, read_tickets

ZENDESK_CSV = (
    "Ticket ID,Subject,Description,Status\n"
    '101,Where is my order?,"Hi,\nI ordered on Monday and nothing yet.",open\n'
    "102,,<p>Can I return a <b>sale</b> item?</p><p>Thanks</p>,open\n"
    "103,,,open\n"
    "104,Refund,too,many,columns\n"
    "101,Again,Duplicate id,open\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name", ["tickets.csv", "tickets.csv.gz"])
def test_a_zendesk_style_csv_is_read_row_by_row(tmp_path: Path, name: str) -> None:
    tickets = read_tickets(write(tmp_path, name, ZENDESK_CSV))
    assert tickets == [
        Ticket("101", "Where is my order?\nHi,\nI ordered on Monday and nothing yet.", 2),
        Ticket("102", "Can I return a sale item?\nThanks", 4),
        Ticket("103", "", 5, "empty ticket: no subject or body"),
        Ticket("104", "", 6, "line 6: expected 4 columns, found 5"),  # named by its own id
        Ticket("101", "Again\nDuplicate id", 7),
    ]
    assert duplicate_ids(tickets) == ["101"]


def test_jsonl_with_a_broken_line_and_named_columns(tmp_path: Path) -> None:
    rows = [{"id": 7, "subject": "Klarna", "body": "Can I pay in 3?"}, {"id": 8, "subject": None, "body": "Lost parcel"}]
    text = json.dumps(rows[0]) + "\n{not json\n\n" + json.dumps(rows[1]) + "\n[1, 2]\n"
    tickets = read_tickets(write(tmp_path, "export.jsonl", text))
    assert [(t.id, t.text, t.line) for t in tickets] == [
        ("7", "Klarna\nCan I pay in 3?", 1), ("line-2", "", 2), ("8", "Lost parcel", 4), ("line-5", "", 5)
    ]
    assert tickets[1].error.startswith("line 2: not valid JSON") and tickets[3].error == "expected a JSON object"
    only_body = read_tickets(write(tmp_path, "e.jsonl", json.dumps(rows[0])), id_column="ID", text_columns=["body"])
    assert only_body == [Ticket("7", "Can I pay in 3?", 1)]


def test_a_jsonl_row_that_names_its_text_differently_is_read_from_its_own_field(tmp_path: Path) -> None:
    rows = [{"id": 1, "body": "Do you deliver on Saturdays?"}, {"id": 2, "message": "where is my order 12345"},
            {"id": 3, "body": None}]
    tickets = read_tickets(write(tmp_path, "mixed.jsonl", "\n".join(json.dumps(row) for row in rows)))
    assert tickets == [Ticket("1", "Do you deliver on Saturdays?", 1), Ticket("2", "where is my order 12345", 2),
                       Ticket("3", "", 3, "empty ticket: no subject or body")]
    # columns named by the user are the only ones read
    named = read_tickets(write(tmp_path, "m.jsonl", "\n".join(json.dumps(row) for row in rows)), text_columns=["body"])
    assert named[1] == Ticket("2", "", 2, "empty ticket: no subject or body")


def test_a_cp1252_export_is_read_without_losing_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "id,message\n1,Caf\u00e9 mug arrived broken \u2013 refund?\n", encoding="cp1252")
    assert read_tickets(path) == [Ticket("1", "Caf\u00e9 mug arrived broken \u2013 refund?", 2)]


def test_a_utf8_bom_does_not_hide_the_id_column(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "\ufeffticket_id,body\n9,Hello\n")
    assert read_tickets(path) == [Ticket("9", "Hello", 2)]


@pytest.mark.parametrize(
    ("name", "text", "options", "message"),
    [
        ("t.txt", "x", {}, "expected a .csv or .jsonl"),
        ("t.csv", "subject,body\na,b\n", {}, "no id column"),
        ("t.csv", "id,status\n1,open\n", {}, "no subject or body column"),
        ("t.csv", "id,body\n1,x\n", {"text_columns": ["comment"]}, "no column 'comment'"),
    ],
)
def test_an_unusable_export_is_a_clear_error(tmp_path: Path, name: str, text: str, options: dict, message: str) -> None:
    with pytest.raises(TicketFileError, match=message):
        read_tickets(write(tmp_path, name, text), **options)


def test_a_broken_gzip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(TicketFileError, match="Cannot read"):
        read_tickets(path)


def test_html_bodies_become_text() -> None:
    html = "<div><p>Hello&nbsp;team,</p><ul><li>Order 10452</li><li>Arrived <i>broken</i></li></ul><script>x()</script></div>"
    assert html_to_text(html) == "Hello team,\nOrder 10452\nArrived broken"
    assert html_to_text("a < b and c > d") == "a < b and c > d"

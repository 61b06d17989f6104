"""Batch answering of ticket exports with fake models: one row per ticket, errors kept, resume, no overwrite."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from chatbot.errors import SettingsError, TicketFileError
from chatbot.support.triage import TicketTriage
from chatbot.tickets.answering import DeferredAnswerer, answer_tickets, finished_tickets
from chatbot.tickets.reader import read_tickets
from chatbot.tickets.report import write_batch_report
from tests.fakes import ToyEmbedder

EXPORT = (
    "ticket_id,subject,description\n"
    "1,Returns,How many days to return full-price items?\n"
    "2,,\n"
    "3,Refund,too,many\n"
    "4,Sale,<p>How many days to return <b>sale</b> items?</p>\n"
    "1,Again,How many days to return full-price items?\n"
    "5,Capital,What is the capital of France?\n"
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return path


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_ticket_gets_one_row(pipeline, export: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    summary = answer_tickets(pipeline(full="Within 30 days [1].", sale="Within 14 days [1]."), read_tickets(export), out)
    written = rows(out)
    assert [(r["id"], r["answer"], r["escalate"], r["reason"]) for r in written] == [
        ("1", "Within 30 days [1].", False, "answered"),
        ("2", "", True, ""),
        ("3", "", True, ""),  # the broken row, under its own id
        ("4", "Within 14 days [1].", False, "answered"),
        ("1", "", True, ""),
        ("5", written[5]["answer"], True, "no_evidence"),
    ]
    assert [r["error"] for r in written][1:5] == [
        "empty ticket: no subject or body", "line 4: expected 3 columns, found 4", "",
        "duplicate id: the first ticket with id 1 is answered",
    ]
    assert written[0]["sources"][0]["id"] == "returns#return-window"
    assert (summary.answered, dict(summary.escalated), summary.errors, summary.duplicates) == (2, {"no_evidence": 1}, 3, ["1"])


def test_an_existing_output_is_not_overwritten(pipeline, export: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    out.write_text('{"id": "1"}\n', encoding="utf-8")
    with pytest.raises(TicketFileError, match="--resume"):
        answer_tickets(pipeline(), read_tickets(export), out)
    assert out.read_text() == '{"id": "1"}\n'


def test_resume_finishes_what_a_crash_left(pipeline, export: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    tickets = read_tickets(export)
    answer_tickets(pipeline(full="Within 30 days [1]."), tickets, out, limit=2)
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"id": "3", "answ')  # killed while writing the third row
    summary = answer_tickets(pipeline(sale="Within 14 days [1]."), tickets, out, resume=True)
    assert [r["id"] for r in rows(out)] == ["1", "2", "3", "4", "1", "5"]
    assert summary.skipped == 2 and summary.done == 4


def test_resume_takes_the_counts_its_caller_read_before_loading_the_models(
    pipeline, export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "answers.jsonl"
    tickets = read_tickets(export)
    answer_tickets(pipeline(full="Within 30 days [1]."), tickets, out, limit=2)
    finished = finished_tickets(out, resume=True)
    reads = []
    monkeypatch.setattr("chatbot.tickets.answering._finished_ids", lambda path: reads.append(path) or Counter())
    summary = answer_tickets(pipeline(sale="Within 14 days [1]."), tickets, out, resume=True, finished=finished)
    assert reads == []  # the output was not read again
    assert [r["id"] for r in rows(out)] == ["1", "2", "3", "4", "1", "5"]
    assert summary.skipped == 2 and summary.done == 4


def test_csv_output_and_resume(pipeline, export: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers.csv"
    answer_tickets(pipeline(full="Within 30 days [1]."), read_tickets(export), out, limit=1)
    answer_tickets(pipeline(sale="Within 14 days [1]."), read_tickets(export), out, resume=True)
    import csv

    table = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["id"] for r in table] == ["1", "2", "3", "4", "1", "5"]
    assert json.loads(table[3]["sources"])[0]["id"] == "returns#sale-items"


def test_a_long_ticket_is_answered_from_its_start(pipeline, tmp_path: Path) -> None:
    export = tmp_path / "long.jsonl"
    export.write_text(json.dumps({"id": "9", "body": "How many days to return sale items? " + "blah " * 1000}) + "\n")
    out = tmp_path / "answers.jsonl"
    answer_tickets(pipeline(sale="Within 14 days [1]."), read_tickets(export), out)
    assert rows(out)[0]["error"] == "" and rows(out)[0]["reason"]  # answered or escalated, not refused as too long


def test_tickets_are_written_in_batches(pipeline, export: Path, tmp_path: Path) -> None:
    make = pipeline(batch_size=3, window=1, full="Within 30 days [1].", sale="Within 14 days [1].")
    answer_tickets(make, read_tickets(export), tmp_path / "a.jsonl")
    # groups of 3 tickets: (1, 2, 3) has one to write, (4, 1-again, 5) one; 5 escalates unwritten
    assert make.pipeline.generator.batches == [1, 1]
    assert [r["id"] for r in rows(tmp_path / "a.jsonl")] == ["1", "2", "3", "4", "1", "5"]


def test_a_window_of_batches_is_answered_together(pipeline, export: Path, tmp_path: Path) -> None:
    make = pipeline(batch_size=3, window=2, full="Within 30 days [1].", sale="Within 14 days [1].")
    answer_tickets(make, read_tickets(export), tmp_path / "a.jsonl")
    assert make.pipeline.generator.batches == [2]  # the two to write, from both groups of 3
    assert [r["id"] for r in rows(tmp_path / "a.jsonl")] == ["1", "2", "3", "4", "1", "5"]


TRIAGE_EXAMPLES = """
[intent]
return = ["how many days to return items", "return this"]
other = ["capital of france", "what is the capital"]
[sentiment]
negative = ["awful terrible", "angry"]
neutral = ["how many days", "the capital of france"]
[urgency]
high = ["urgent now", "asap"]
low = ["how many days", "what is the capital"]
"""


def test_rows_carry_the_triage(pipeline, export: Path, tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    examples = tmp_path / "triage.toml"
    examples.write_text(TRIAGE_EXAMPLES, encoding="utf-8")
    make = pipeline(triage=TicketTriage(toy_embedder, examples), full="Within 30 days [1].")
    answer_tickets(make, read_tickets(export), tmp_path / "a.jsonl")
    labels = [(r["id"], r["intent"], r["sentiment"], r["urgency"], r["language"]) for r in rows(tmp_path / "a.jsonl")]
    assert labels == [
        ("1", "return", "neutral", "low", "en"),
        ("2", "", "", "", ""),  # empty: an error row, no triage
        ("3", "", "", "", ""),
        ("4", "return", "neutral", "low", "en"),
        ("1", "", "", "", ""),
        ("5", "other", "neutral", "low", "en"),
    ]


def test_the_report_counts_the_whole_output(pipeline, export: Path, tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    examples = tmp_path / "triage.toml"
    examples.write_text(TRIAGE_EXAMPLES, encoding="utf-8")
    make = pipeline(triage=TicketTriage(toy_embedder, examples), full="Within 30 days [1].")
    out = tmp_path / "answers.jsonl"
    answer_tickets(make, read_tickets(export), out, limit=2)
    summary = answer_tickets(make, read_tickets(export), out, resume=True)
    md, svg = write_batch_report(out, summary)
    assert md.name == "answers.report.md" and svg.name == "answers.report.svg"
    report = md.read_text()
    assert "6 tickets: 1 answered, 2 escalated, 3 errors." in report  # both runs' rows
    assert "| no_evidence | 1 |" in report and "| return | 2 |" in report and "| other | 1 |" in report
    chart = svg.read_text()
    assert chart.count("<rect") == 4 and ">Escalation reasons<" in chart  # return, other; two reasons


def test_triage_examples_need_two_labels_per_field(tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    examples = tmp_path / "triage.toml"
    examples.write_text('[intent]\nreturn = ["return this"]\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="intent, sentiment, urgency"):
        TicketTriage(toy_embedder, examples)


def test_a_finished_resume_loads_no_model(pipeline, export: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    answer_tickets(pipeline(full="Within 30 days [1]."), read_tickets(export), out)
    made: list[str] = []
    deferred = DeferredAnswerer(lambda: made.append("loaded") or pipeline())
    summary = answer_tickets(deferred, read_tickets(export), out, resume=True)
    assert made == [] and (summary.done, summary.skipped) == (0, 6)
    more = tmp_path / "more.csv"
    more.write_text(EXPORT + "6,Sale,How many days to return sale items?\n", encoding="utf-8")
    summary = answer_tickets(deferred, read_tickets(more), out, resume=True)
    assert made == ["loaded"] and (summary.done, summary.skipped) == (1, 6)
    assert [r["id"] for r in rows(out)] == ["1", "2", "3", "4", "1", "5", "6"]

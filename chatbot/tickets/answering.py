"""Answering a ticket export through the same pipeline as the chat, one output row per ticket,
each written and flushed as it is finished, so a crashed run resumes where it stopped."""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Protocol

from chatbot.answer.pipeline import Pipeline
from chatbot.errors import ChatbotError, TicketFileError
from chatbot.support.triage import TicketTriage
from chatbot.text.redaction import redact
from chatbot.tickets.reader import Ticket

COLUMNS = ("id", "answer", "sources", "confidence", "escalate", "reason", "intent", "sentiment", "urgency", "language", "error")
TRIAGE_COLUMNS = ("intent", "sentiment", "urgency", "language")


@dataclass
class BatchSummary:
    """What a run did: counts by outcome, the escalation reasons, and the pace."""

    answered: int = 0
    escalated: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    skipped: int = 0  # finished by an earlier run (--resume)
    duplicates: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return self.answered + sum(self.escalated.values()) + self.errors

    @property
    def tickets_per_minute(self) -> float:
        return 60 * self.done / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "escalated": dict(self.escalated),
            "errors": self.errors,
            "skipped": self.skipped,
            "duplicate_ids": self.duplicates,
            "tickets_per_minute": round(self.tickets_per_minute, 1),
        }


def answer_rows(
    pipeline: Pipeline, tickets: Sequence[Ticket], batch_size: int, triage: TicketTriage | None = None
) -> list[dict[str, Any]]:
    """The output rows for some tickets, answered together (`Pipeline.answer_batch`) and, with
    `triage`, labelled; a ticket that cannot be read, or that the pipeline refuses, gets an
    `error` instead of an answer."""
    max_chars = pipeline.settings.max_question_chars
    readable = [t for t in tickets if not t.error]
    texts = [shorten(t.text, max_chars) for t in readable]
    lines = [t.line for t in readable]
    answers = dict(zip(lines, pipeline.answer_batch(texts, batch_size)))
    labels = dict(zip(lines, (t.as_dict() for t in triage.classify(texts)))) if triage else {}
    rows = []
    for ticket in tickets:
        answer = answers.get(ticket.line)
        if ticket.error or isinstance(answer, ChatbotError) or answer is None:
            rows.append(_error_row(ticket.id, ticket.error or str(answer)))
            continue
        data = answer.as_dict()
        rows.append(
            {"id": ticket.id, **{k: data[k] for k in ("answer", "sources", "confidence", "escalate", "reason")},
             **labels.get(ticket.line, dict.fromkeys(TRIAGE_COLUMNS, "")), "error": ""}
        )
    return rows


def shorten(text: str, max_chars: int) -> str:
    """A long ticket (quoted history, signatures) cut to its first `max_chars`, at a line or word.

    >>> shorten("Where is my order? It was due on Monday and", 30)
    'Where is my order? It was due'
    """
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    cut = max(head.rfind("\n"), head.rfind(" "))
    return head[: cut if cut > max_chars // 2 else max_chars].strip()


class Answerer(Protocol):
    """Turns tickets into output rows: the local pipeline (`LocalAnswerer`) or a Ray job."""

    def answer(self, tickets: Sequence[Ticket]) -> Iterator[list[dict[str, Any]]]:
        """The rows of `tickets`, one per ticket, yielded in groups as they are finished."""
        ...


@dataclass
class LocalAnswerer:
    """Answers with a pipeline in this process, `batch_size` replies at a time. Tickets are
    taken `window` batches at a time and sorted by length inside it, so that each batch the
    decoder writes has prompts of similar length (less padding); a kill loses at most a window."""

    pipeline: Pipeline
    triage: TicketTriage | None = None
    batch_size: int = 16
    window: int = 4

    def answer(self, tickets: Sequence[Ticket]) -> Iterator[list[dict[str, Any]]]:
        step = self.batch_size * self.window
        for first in range(0, len(tickets), step):
            yield answer_rows(self.pipeline, tickets[first : first + step], self.batch_size, self.triage)


class DeferredAnswerer:
    """An answerer made by `make` (which loads the models) on its first ticket, so that a run
    with nothing left to answer (a finished `--resume`) loads nothing."""

    def __init__(self, make: Callable[[], Answerer]) -> None:
        self.make = make
        self.answerer: Answerer | None = None

    def answer(self, tickets: Sequence[Ticket]) -> Iterator[list[dict[str, Any]]]:
        if not tickets:
            return iter(())
        if self.answerer is None:
            self.answerer = self.make()
        return self.answerer.answer(tickets)


class ProgressBar(Protocol):
    def update(self, n: int) -> object: ...

    def close(self) -> None: ...


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class TicketsLeft:
    """What a run has to do: the tickets to answer (a repeated id's later ones carry an error),
    how many an earlier run finished, and the ids that occur more than once."""

    todo: list[Ticket]
    skipped: int
    duplicates: list[str]

    def summary(self) -> BatchSummary:
        """The summary of a run that answered nothing (yet)."""
        return BatchSummary(skipped=self.skipped, duplicates=list(self.duplicates))


def tickets_left(tickets: Sequence[Ticket], finished: Counter[str], limit: int | None = None) -> TicketsLeft:
    """The tickets still to answer, given how many rows each id has in the output (a ticket id
    that occurs k times in the input is finished when it occurs k times in the output). Cheap,
    so that `answer-tickets --resume` on a finished output stops before it loads the models.

    >>> left = tickets_left([Ticket("1", "a", 2), Ticket("2", "b", 3), Ticket("1", "c", 4)], Counter({"1": 1}))
    >>> [(t.id, t.error) for t in left.todo], left.skipped, left.duplicates
    ([('2', ''), ('1', 'duplicate id: the first ticket with id 1 is answered')], 1, ['1'])
    """
    skipped = 0
    duplicates: list[str] = []
    seen: dict[str, int] = {}
    todo: list[Ticket] = []
    for ticket in tickets:
        occurrence = seen.get(ticket.id, 0)
        seen[ticket.id] = occurrence + 1
        if occurrence == 1:
            duplicates.append(ticket.id)
        if occurrence < finished.get(ticket.id, 0):
            skipped += 1
            continue
        if occurrence:
            ticket = replace(ticket, error=f"duplicate id: the first ticket with id {ticket.id} is answered")
        todo.append(ticket)
    return TicketsLeft(todo if limit is None else todo[:limit], skipped, duplicates)


def answer_tickets(
    answerer: Answerer,
    tickets: Sequence[Ticket],
    out: str | Path,
    resume: bool = False,
    limit: int | None = None,
    progress: Callable[[int], ProgressBar] = lambda total: _NoProgress(),
    finished: Counter[str] | None = None,
) -> BatchSummary:
    """Answer `tickets` into `out` (.jsonl, or .csv), appending one flushed row per ticket as
    the `answerer` finishes them; `progress(total)` makes the bar that counts them.

    An existing `out` is refused unless `resume`, which skips the tickets it already has (see
    `tickets_left`). A later occurrence of an id gets an error row, so every input row ends with
    one output row. `finished`: what `finished_tickets(out, resume)` gave a caller that checked
    `out` before loading the models, so that a long output is not read again; else it is read here.
    """
    out = Path(out)
    finished = finished_tickets(out, resume) if finished is None else finished
    left = tickets_left(tickets, finished, limit)
    summary = left.summary()
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    bar = progress(len(left.todo))
    try:
        with _RowWriter(out) as writer:
            for rows in answerer.answer(left.todo):
                for row in rows:
                    writer.write(row)
                    _count(summary, row)
                bar.update(len(rows))
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _count(summary: BatchSummary, row: dict[str, Any]) -> None:
    if row["error"]:
        summary.errors += 1
    elif row["escalate"]:
        summary.escalated[row["reason"]] += 1
    else:
        summary.answered += 1


def _error_row(ticket_id: str, error: str) -> dict[str, Any]:
    # Redacted: a parse error may quote the ticket, and the output goes to other systems.
    return {"id": ticket_id, "answer": "", "sources": [], "confidence": 0.0, "escalate": True, "reason": "",
            **dict.fromkeys(TRIAGE_COLUMNS, ""), "error": redact(error)}


class _RowWriter:
    """Appends rows to JSONL or CSV, flushed and synced one by one, so a kill loses at most the
    row being written; `_finished_ids` drops such a half row before a resumed run appends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.csv = path.name.lower().endswith(".csv")
        self.handle: IO[str] | None = None

    def __enter__(self) -> _RowWriter:
        new = not self.path.exists() or self.path.stat().st_size == 0
        self.handle = open(self.path, "a", encoding="utf-8", newline="")
        if self.csv and new:
            csv.writer(self.handle).writerow(COLUMNS)
        return self

    def write(self, row: dict[str, Any]) -> None:
        assert self.handle is not None
        if self.csv:
            flat = {**row, "sources": json.dumps(row["sources"], ensure_ascii=False)}
            csv.writer(self.handle).writerow([flat[c] for c in COLUMNS])
        else:
            self.handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def __exit__(self, *_: object) -> None:
        if self.handle:
            self.handle.close()


def finished_tickets(out: str | Path, resume: bool) -> Counter[str]:
    """How many rows each ticket id already has in `out` where `resume`, else nothing; an existing
    `out` without `resume`, or one this command did not write, is refused. Cheap, so that a run
    can check before it loads the models."""
    out = Path(out)
    if not resume and out.exists() and out.stat().st_size > 0:
        raise TicketFileError(f"{out} already exists: add --resume to finish it, or choose another --out.")
    return _finished_ids(out) if resume else Counter()


def _finished_ids(path: Path) -> Counter[str]:
    """How many rows each ticket id has in an earlier run's output; a half-written last row
    (the run was killed while writing it) is cut off so that it is answered again."""
    if not path.exists():
        return Counter()
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]  # everything up to the last finished line
    if len(complete) != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(len(complete))
    text = complete.decode("utf-8")
    if path.name.lower().endswith(".csv"):
        rows = list(csv.DictReader(text.splitlines()))
        return Counter(row["id"] for row in rows if row.get("id") is not None)
    ids: Counter[str] = Counter()
    for number, line in enumerate(text.splitlines(), 1):
        try:
            ids[json.loads(line)["id"]] += 1
        except (ValueError, KeyError, TypeError) as error:
            raise TicketFileError(f"{path}, line {number}: not a row this command wrote ({error}); cannot resume it.") from error
    return ids

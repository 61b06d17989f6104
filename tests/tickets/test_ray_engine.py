"""answer-tickets as a Ray Data job on a local Ray instance: the same rows as the local engine."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from chatbot.errors import ChatbotError, IndexMissingError
from chatbot.service import create_ticket_answerer
from chatbot.support.triage import TicketTriage
from chatbot.tickets.answering import COLUMNS, Answerer, LocalAnswerer, answer_tickets
from chatbot.tickets.ray_engine import RAY_MISSING, RayAnswerer, TicketActor, rows_from_batch
from chatbot.tickets.reader import Ticket, read_tickets

TICKETS = [
    ("T1", "How many days do I have to return an item?"),
    ("T2", ""),  # empty: an error row
    ("T3", "Do you ship to Canada?"),
    ("T1", "How many days do I have to return an item?"),  # a duplicate id: an error row
    ("T4", "How long does a refund take?"),
    ("T5", "What is the capital of France?"),  # nothing in the policies: escalated
]


class Recording:
    """Passes an answerer's rows on to the writer and keeps them, to see their Python types."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer
        self.rows: list[dict[str, Any]] = []

    def answer(self, tickets: Sequence[Ticket]) -> Iterator[list[dict[str, Any]]]:
        for rows in self.answerer.answer(tickets):
            self.rows.extend(rows)
            yield rows


def typed(rows: list[dict[str, Any]]) -> list[dict[str, tuple[type, Any]]]:
    # True == 1 == 1.0, so equal rows may still hold different types: compare (type, value).
    return [{key: (type(value), value) for key, value in row.items()} for row in rows]


@pytest.mark.real
def test_ray_job_gives_the_rows_of_the_local_engine(
    real_settings,
    real_index,
    real_embedder,
    real_pipeline,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("ray.data", reason="Ray is not installed: pip install -e '.[ray]'")
    import ray

    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps({"id": i, "body": text}) + "\n" for i, text in TICKETS), encoding="utf-8")
    tickets = read_tickets(export)

    by_ray = Recording(RayAnswerer(real_settings, create_ticket_answerer, batch_size=4, actors=1))
    capfd.readouterr()
    summary = answer_tickets(by_ray, tickets, tmp_path / "ray.jsonl")
    assert capfd.readouterr().out == ""  # Ray's logs stay off stdout, where the CLI prints its JSON
    assert not ray.is_initialized()  # the run started Ray, so it shut it down

    # What create_ticket_answerer builds in the actor (no reranker, no abstention model, by
    # default), from the session's models. The six tickets are one group for both engines, so
    # the decoder gets the same batches, and greedy decoding writes the same replies here as there.
    local = LocalAnswerer(real_pipeline, TicketTriage(real_embedder, real_settings.triage_file), batch_size=4)
    by_local = Recording(local)
    answer_tickets(by_local, tickets, tmp_path / "local.jsonl")

    written = [json.loads(line) for line in (tmp_path / "ray.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in written] == [ticket_id for ticket_id, _ in TICKETS]
    assert all(tuple(row) == COLUMNS for row in by_ray.rows)
    assert typed(by_ray.rows) == typed(by_local.rows)
    assert (summary.done, summary.errors) == (6, 2)  # the empty ticket and the duplicate id
    assert summary.answered  # so written replies were compared, not only escalations


def test_without_ray_the_error_says_what_to_install(toy_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError, as when it is absent
    with pytest.raises(ChatbotError, match=re.escape(RAY_MISSING)) as raised:
        RayAnswerer(toy_settings, create_ticket_answerer)
    assert isinstance(raised.value.__cause__, ImportError)


@pytest.mark.real
def test_an_actor_without_an_index_says_which_command_builds_it(real_settings, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow", reason="Ray is not installed: pip install -e '.[ray]'")
    # In this process: Ray would carry the same table, as it carries the answered rows above.
    settings = dataclasses.replace(real_settings, index_dir=tmp_path / "no-index", triage_file="")
    actor = TicketActor(settings, batch_size=4, load=create_ticket_answerer)
    tickets = pa.Table.from_pylist([{"id": "T1", "text": "Do you ship to Canada?", "line": 2, "error": ""}])
    with pytest.raises(IndexMissingError, match="python -m chatbot build-index --index"):
        rows_from_batch(actor(tickets))

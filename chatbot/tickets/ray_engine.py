"""Answering a ticket export as a Ray Data job (`answer-tickets --engine ray`): the tickets become a
dataset, and `map_batches` sends it through a pool of actors that each load the models once."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from chatbot import errors
from chatbot.errors import ChatbotError, SettingsError
from chatbot.settings import Settings
from chatbot.tickets.answering import COLUMNS, LocalAnswerer, answer_rows
from chatbot.tickets.reader import Ticket

if TYPE_CHECKING:
    import pyarrow as pa

RAY_MISSING = "--engine ray needs Ray: pip install -e '.[ray]'"
# The store that carries tickets and rows between processes: small, because on a small machine
# the models (in each actor's own memory) need the room. Ray spills to disk beyond it.
OBJECT_STORE_BYTES = 256 * 1024**2
FAILURE = "load_failure"  # an extra column: why an actor could not load its models, else ""


@dataclass(frozen=True)
class RayAnswerer:
    """Answers with `actors` Ray actors, each holding its own pipeline made by `load(settings,
    batch_size)` (the wiring's `create_ticket_answerer`, a module-level function Ray can send) and sent `batch_size * window` tickets at a time, as `LocalAnswerer` takes them.

    Joins the Ray instance this process already has, else the cluster at `RAY_ADDRESS`, else
    starts a local one for the run. Rows come back in ticket order (a resumed run relies on it)
    with the keys and value types of `answer_rows`, so the writer cannot tell the engines apart.
    """

    settings: Settings
    load: Callable[[Settings, int], LocalAnswerer]
    batch_size: int = 16
    actors: int = 1
    window: int = LocalAnswerer.window

    def __post_init__(self) -> None:
        if self.actors < 1:
            raise SettingsError(f"--actors must be at least 1, not {self.actors}.")
        _import_ray()  # fail before the command opens its output file

    def answer(self, tickets: Sequence[Ticket]) -> Iterator[list[dict[str, Any]]]:
        if not tickets:
            return  # nothing left to answer (a finished --resume): no need to start Ray
        ray = _import_ray()
        connected, cpus_per_actor = _join_or_start(ray, self.actors)
        try:
            records = [{"id": t.id, "text": t.text, "line": t.line, "error": t.error} for t in tickets]
            answered = ray.data.from_items(records).map_batches(
                TicketActor,
                fn_constructor_kwargs={"settings": self.settings, "batch_size": self.batch_size, "load": self.load},
                batch_size=self.batch_size * self.window,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=self.actors),
                num_cpus=cpus_per_actor,
            )
            answered.context.execution_options.preserve_order = True
            answered.context.enable_progress_bars = False  # the command counts the tickets with its own bar
            for batch in answered.iter_batches(batch_size=None, batch_format="pyarrow"):
                yield rows_from_batch(batch)
        finally:
            if connected:
                ray.shutdown()


class TicketActor:
    """One Ray actor: loads the models once, then answers each batch of tickets it is sent."""

    def __init__(self, settings: Settings, batch_size: int, load: Callable[[Settings, int], LocalAnswerer]) -> None:
        # A ChatbotError here (no index, a bad settings file) goes back with the first batch, not
        # raised: Ray would report "actor died" with the user's message buried in a traceback.
        self.answerer: LocalAnswerer | None = None
        self.failure: ChatbotError | None = None
        try:
            self.answerer = load(settings, batch_size)
        except ChatbotError as error:
            self.failure = error

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        if self.answerer is None:
            failure = json.dumps([type(self.failure).__name__, str(self.failure)])
            return pa.Table.from_pylist([{FAILURE: failure}], schema=row_schema())
        tickets = [Ticket(**record) for record in batch.to_pylist()]
        rows = answer_rows(self.answerer.pipeline, tickets, self.answerer.batch_size, self.answerer.triage)
        # Sources (a list of dicts) travel as JSON text, so Arrow never infers a nested type.
        flat = [{**row, "sources": json.dumps(row["sources"], ensure_ascii=False), FAILURE: ""} for row in rows]
        return pa.Table.from_pylist(flat, schema=row_schema())


def row_schema() -> pa.Schema:
    """The Arrow schema of what an actor sends back: COLUMNS (text unless said otherwise), then FAILURE."""
    import pyarrow as pa

    kinds = {"confidence": pa.float64(), "escalate": pa.bool_()}
    return pa.schema([(column, kinds.get(column, pa.string())) for column in (*COLUMNS, FAILURE)])


def rows_from_batch(batch: pa.Table) -> list[dict[str, Any]]:
    """What an actor sent back, as the rows `answer_rows` gave it; if the actor could not load
    its models, its error (IndexMissingError, ...) raised here, with the message it had there."""
    rows = []
    for record in batch.to_pylist():
        failure = record.pop(FAILURE)
        if failure:
            name, message = json.loads(failure)
            kind = getattr(errors, name, None)
            raise (kind if isinstance(kind, type) and issubclass(kind, ChatbotError) else ChatbotError)(message)
        rows.append({**record, "sources": json.loads(record["sources"])})
    return rows


def _join_or_start(ray: ModuleType, actors: int) -> tuple[bool, int]:
    """Whether this call connected to Ray (and so must shut it down), and the CPUs for each actor.

    A local instance is sized to this machine and its cores shared among the actors (Ray sets
    each actor's torch threads to its share); on a cluster each actor asks for one CPU.
    """
    if ray.is_initialized():
        return False, 1
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}  # stdout is the command's JSON
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"], **quiet)
        return True, 1
    cores = os.cpu_count() or 1
    # A local instance for one run: Ray would otherwise try to send usage statistics over the network.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # More logical CPUs than cores when actors > cores, so that every actor of the pool can start.
    ray.init(num_cpus=max(cores, actors), object_store_memory=OBJECT_STORE_BYTES, include_dashboard=False, **quiet)
    return True, max(1, cores // actors)


def _import_ray() -> ModuleType:
    try:
        import ray
        import ray.data  # needs the [data] extra (pyarrow, pandas)
    except ImportError as error:
        raise SettingsError(RAY_MISSING) from error
    return ray

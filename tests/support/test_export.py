"""The conversations export: each answer's timings as the chat logged them, first words included."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from chatbot.support.export import TURN_COLUMNS, export
from chatbot.support.log import SupportLog, open_support_log
from chatbot.values import Answer, Passage

RETURNS = Passage("returns#window", "returns", "Returns", "30 days.", "returns.md", score=0.7)


@pytest.fixture
def log(tmp_path: Path):
    with open_support_log(f"sqlite:///{tmp_path / 'support.db'}") as opened:
        yield opened


def timed(timings: dict[str, float]) -> Answer:
    return Answer("You have 30 days [1].", (RETURNS,), 0.8, False, "answered", timings)


def record_two_turns(log: SupportLog) -> None:
    """One answer timed as the chat showed it, one logged before the chat timed its first words."""
    conversation = log.new_conversation()
    log.record_turn(conversation, "Return window?", timed({"total_ms": 900.0, "first_token_ms": 40.0, "first_visible_ms": 310.0}))
    log.record_turn(conversation, "And sale items?", timed({"total_ms": 800.0, "first_token_ms": 35.0}))


def test_conversations_export_first_visible_words_beside_the_first_token(log: SupportLog, tmp_path: Path) -> None:
    record_two_turns(log)
    assert export(log, "conversations", tmp_path / "log.jsonl") == 2
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["total_ms"], r["first_token_ms"], r["first_visible_ms"]) for r in rows] == [(900.0, 40.0, 310.0),
                                                                                         (800.0, 35.0, None)]
    assert list(rows[0]) == list(TURN_COLUMNS)


def test_the_csv_export_has_a_first_visible_column_after_the_first_token(log: SupportLog, tmp_path: Path) -> None:
    record_two_turns(log)
    export(log, "conversations", tmp_path / "log.csv")
    with (tmp_path / "log.csv").open(encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    header = list(table[0])
    assert header.index("first_visible_ms") == header.index("first_token_ms") + 1
    assert [(row["first_token_ms"], row["first_visible_ms"]) for row in table] == [("40.0", "310.0"), ("35.0", "")]

"""Exports of the support log: conversations with their feedback, agents' drafts, and eval cases
made from thumbs-down answers and edited drafts (CSV or JSONL, by the file name)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatbot.errors import ChatbotError
from chatbot.support.analytics import day_range

if TYPE_CHECKING:
    from chatbot.support.log import SupportLog

TURN_COLUMNS = ("conversation_id", "turn_id", "created_at", "question", "answer", "reason", "escalate", "confidence",
                "sources", "total_ms", "first_token_ms", "first_visible_ms", "model", "index_version", "feedback",
                "feedback_comment")
DRAFT_COLUMNS = ("draft_id", "agent", "conversation_id", "message", "draft", "reason", "next_action", "rating", "final_text")


def turn_record(row: dict[str, Any]) -> dict[str, Any]:
    """One logged turn as an export row (already redacted when it was written)."""
    timings = row.get("timings") or {}
    return {
        "conversation_id": row["conversation_id"], "turn_id": row["id"], "created_at": _iso(row["created_at"]),
        "question": row["question"], "answer": row["answer"], "reason": row["reason"], "escalate": bool(row["escalate"]),
        "confidence": row["confidence"], "sources": [s["doc_id"] for s in row["sources"] or []],
        "total_ms": timings.get("total_ms"), "first_token_ms": timings.get("first_token_ms"),
        # What the shopper waited for the first words, as the chat showed them (None in older rows).
        "first_visible_ms": timings.get("first_visible_ms"), "model": row.get("model"),
        "index_version": row.get("index_version"), "feedback": row.get("feedback"), "feedback_comment": row.get("feedback_comment"),
    }


def draft_records(log: SupportLog) -> list[dict[str, Any]]:
    return [{"draft_id": d.id, "agent": d.agent, "conversation_id": d.conversation_id, "message": d.message, "draft": d.draft,
             "reason": d.reason, "next_action": d.next_action, "rating": d.rating, "final_text": d.final_text}
            for d in log.drafts()]


def write_records(records: Iterable[dict[str, Any]], path: str | Path, columns: tuple[str, ...]) -> int:
    """Write rows to `path`: CSV when it ends in .csv (lists joined with "|"), else JSONL."""
    path = Path(path)
    records = list(records)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as out:
            if path.suffix.lower() == ".csv":
                writer = csv.DictWriter(out, fieldnames=columns)
                writer.writeheader()
                for record in records:
                    writer.writerow({k: "|".join(v) if isinstance(v, list) else v for k, v in record.items()})
            else:
                for record in records:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as error:
        raise ChatbotError(f"Cannot write {path}: {error.strerror or error}.") from error
    return len(records)


def export(log: SupportLog, what: str, path: str | Path, since: date | None = None, until: date | None = None) -> int:
    """Write `what` to `path` (CSV or JSONL by its name) and return how many rows: "conversations"
    (one row per answer from `since` to `until`, both days included, with its feedback), "drafts"
    or "eval_cases" (all of them)."""
    if what == "conversations":
        return write_records((turn_record(row) for row in log.turn_rows(*day_range(since, until))), path, TURN_COLUMNS)
    if what == "drafts":
        return write_records(draft_records(log), path, DRAFT_COLUMNS)
    if what == "eval_cases":
        return write_records(eval_cases(log), path, ())
    raise ChatbotError(f"Export conversations, drafts or eval_cases, not {what!r}.")


def eval_cases(log: SupportLog) -> list[dict[str, Any]]:
    """Eval cases (the evals/*.jsonl format) from what people said was wrong:

    - an agent's edited draft: the customer's message, the documents the draft cited as
      `expected`, and the text the agent sent as `reference`;
    - a shopper's thumbs down: the question, with the documents the bot cited as `expected`.
      The bot may have cited the wrong ones, so these carry `"review": true` until a person checks.

    Each case has `from` ("draft:ID" or "turn:ID"), so the same one is never added twice.
    """
    cases = []
    for draft in log.drafts("edited"):
        cited = _cited(draft.sources)
        cases.append({"question": draft.message, "expected": cited, "answerable": bool(cited), "reference": draft.final_text,
                      "from": f"draft:{draft.id}"})
    for row in log.turn_rows():
        if row.get("feedback") == "down":
            cited = _cited(row["sources"] or ())
            cases.append({"question": row["question"], "expected": cited, "answerable": bool(cited), "review": True,
                          "bot_answer": row["answer"], "comment": row.get("feedback_comment") or "", "from": f"turn:{row['id']}"})
    return cases


def add_eval_cases(cases: list[dict[str, Any]], path: str | Path) -> int:
    """Append the cases `path` does not have yet (by `from`); returns how many were added."""
    path = Path(path)
    try:
        existing = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        have = {json.loads(line).get("from") for line in existing if line.strip()}
    except (OSError, ValueError) as error:
        raise ChatbotError(f"Cannot read the eval file {path}: {error}") from error
    new = [case for case in cases if case["from"] not in have]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            for case in new:
                out.write(json.dumps(case, ensure_ascii=False) + "\n")
    except OSError as error:
        raise ChatbotError(f"Cannot write {path}: {error.strerror or error}.") from error
    return len(new)


def _cited(sources: Iterable[dict[str, Any]]) -> list[str]:
    """The cited documents' ids, each once, in citation order."""
    return list(dict.fromkeys(source["doc_id"] for source in sources))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None

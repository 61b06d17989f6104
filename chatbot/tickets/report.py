"""The report after an answer-tickets run: counts over the whole output file (earlier, resumed
runs included) by outcome, escalation reason, intent, sentiment, urgency and language, with an
SVG bar chart of the intents and the escalation reasons."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from chatbot.tickets.answering import BatchSummary

BREAKDOWNS = ("reason", "intent", "sentiment", "urgency", "language")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an answer-tickets output (.jsonl or .csv)."""
    text = path.read_text(encoding="utf-8")
    if path.name.lower().endswith(".csv"):
        rows: list[dict[str, Any]] = list(csv.DictReader(text.splitlines()))
        for row in rows:
            row["escalate"] = row.get("escalate") == "True"
        return rows
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def tally(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts by outcome and by each breakdown; escalation reasons count escalated rows only.

    >>> tally([{"error": "", "escalate": False, "reason": "answered", "intent": "refund"},
    ...        {"error": "", "escalate": True, "reason": "no_evidence", "intent": "other"},
    ...        {"error": "empty ticket", "escalate": True, "reason": "", "intent": ""}])["escalated_by_reason"]
    {'no_evidence': 1}
    """
    readable = [r for r in rows if not r.get("error")]
    escalated = [r for r in readable if r.get("escalate")]
    counts: dict[str, Any] = {
        "tickets": len(rows),
        "answered": len(readable) - len(escalated),
        "escalated": len(escalated),
        "errors": len(rows) - len(readable),
        "escalated_by_reason": dict(Counter(r["reason"] for r in escalated).most_common()),
    }
    for field in BREAKDOWNS[1:]:
        counts[f"by_{field}"] = dict(Counter(r.get(field) or "unknown" for r in readable).most_common())
    return counts


def write_batch_report(out: Path, summary: BatchSummary) -> list[Path]:
    """OUT.report.md and OUT.report.svg beside the output `out`; returns their paths."""
    counts = tally(read_rows(out))
    stem = out.name.split(".")[0]
    md, svg = out.with_name(f"{stem}.report.md"), out.with_name(f"{stem}.report.svg")
    svg.write_text(
        bar_charts([("Intents", counts["by_intent"]), ("Escalation reasons", counts["escalated_by_reason"])]), encoding="utf-8"
    )
    lines = [
        f"# Ticket run: {out.name}",
        "",
        f"{counts['tickets']} tickets: {counts['answered']} answered, {counts['escalated']} escalated, {counts['errors']} errors.",
        f"This run: {summary.done} tickets at {summary.tickets_per_minute:.1f} a minute"
        + (f", {summary.skipped} finished earlier." if summary.skipped else "."),
    ]
    if summary.duplicates:
        lines.append(f"Duplicate ids (later ones got an error row): {', '.join(summary.duplicates)}.")
    lines += ["", f"![intents and escalation reasons]({svg.name})", ""]
    for title, key in [("Escalated, by reason", "escalated_by_reason")] + [(f"By {f}", f"by_{f}") for f in BREAKDOWNS[1:]]:
        lines += [f"## {title}", "", "| | tickets |", "|---|---:|"]
        lines += [f"| {label} | {n} |" for label, n in counts[key].items()] or ["| none | 0 |"]
        lines.append("")
    md.write_text("\n".join(lines), encoding="utf-8")
    return [md, svg]


def bar_charts(charts: Sequence[tuple[str, dict[str, int]]], width: int = 560, bar: int = 18) -> str:
    """Horizontal bar charts stacked in one SVG, one titled block per (title, counts)."""
    label_width, gap = 150, 6
    scale_width = width - label_width - 50
    parts: list[str] = []
    y = 0
    for title, counts in charts:
        y += 22
        parts.append(f'<text x="0" y="{y}" font-weight="bold">{escape(title)}</text>')
        y += 8
        top = max(counts.values(), default=0) or 1
        for label, n in counts.items() or [("none", 0)]:
            length = round(scale_width * n / top)
            parts.append(f'<text x="{label_width - 6}" y="{y + bar - 5}" text-anchor="end">{escape(str(label))}</text>')
            parts.append(f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar}" fill="#4c78a8"/>')
            parts.append(f'<text x="{label_width + length + 4}" y="{y + bar - 5}">{n}</text>')
            y += bar + gap
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" font-family="sans-serif" font-size="12">'
    return "\n".join([head, *parts, "</svg>"]) + "\n"

"""The staff dashboard (a tab of the assist panel, behind the same login): volume, deflection,
feedback, latency and the questions the bot could not answer, with exports. chatbot/support/analytics.py
computes it; this only shows it. The charts are drawn here as SVG: Gradio's bar plots stretched one
day into one wide bar and counted two questions in halves."""

from __future__ import annotations

import html
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from chatbot.errors import ChatbotError
from chatbot.knowledge.embedding import Embedder
from chatbot.support.analytics import Report, build_report, parse_day
from chatbot.support.export import export as export_log
from chatbot.support.log import SupportLog

EXPORTS = ("conversations.csv", "conversations.jsonl", "drafts.csv", "eval_cases.jsonl")
OUTCOMES = {  # by_day's keys: what the chart calls them, and their colours
    "deflected": ("answered, no person needed", "#2e7d32"),
    "answered_not_deflected": ("answered, then thumbs down or a person", "#f9a825"),
    "escalated": ("escalated", "#c62828"),
}


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _ms(value: float | None) -> str:
    """A wait as staff read it: 40 ms, 1.2 s (composed answers take well under a second)."""
    if value is None:
        return "–"
    return f"{value:.0f} ms" if round(value) < 1000 else f"{value / 1000:.1f} s"


def summary_markdown(report: Report) -> str:
    latency = report.latency_ms
    older = report.first_words_from_server
    stand_in = (f" ({older} older answers, logged before the chat timed what it showed, count the server's first "
                "token instead: earlier than the shopper saw)") if older else ""
    return (
        f"**{report.turns}** questions in **{report.conversations}** conversations · "
        "answered without a person (deflection: no thumbs down, no escalation after) "
        f"**{_share(report.deflection_rate)}** · escalated **{report.escalated}**  \n"
        f"feedback on **{_share(report.feedback_rate)}** of answers, **{_share(report.feedback_score)}** thumbs up "
        f"({report.thumbs_up} up, {report.thumbs_down} down)  \n"
        f"answer time p50 **{_ms(latency['p50_total_ms'])}**, p95 **{_ms(latency['p95_total_ms'])}** · "
        f"first words as the shopper saw them p50 **{_ms(latency['p50_first_words_ms'])}**, "
        f"p95 **{_ms(latency['p95_first_words_ms'])}**{stand_in}"
    )


def count_ticks(top: int) -> list[int]:
    """Axis ticks for counts: whole numbers from 0 to at least `top`, six at most, so that a day
    of two questions is not drawn on an axis counting in halves.

    >>> count_ticks(0), count_ticks(3), count_ticks(7), count_ticks(240)
    ([0, 1], [0, 1, 2, 3], [0, 2, 4, 6, 8], [0, 50, 100, 150, 200, 250])
    """
    top, magnitude = max(top, 1), 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if -(-top // step) <= 5:
                return list(range(0, -(-top // step) * step + 1, step))
        magnitude *= 10


def outcomes_svg(by_day: list[dict[str, Any]], width: int = 640, height: int = 260) -> str:
    """Questions per day as bars stacked by outcome, the day's total above each bar. A bar is at
    most 48 px wide (one day is one bar, not the whole chart) and the axis counts whole questions."""
    if not by_day:
        return "<p>No questions in this range.</p>"
    left, top, bottom, legend = 40, 20, 40, 24
    plot_w, plot_h = width - left - 10, height - top - bottom - legend
    ticks = count_ticks(max(day["questions"] for day in by_day))
    scale = plot_h / ticks[-1]
    slot = plot_w / len(by_day)
    bar = min(48.0, slot * 0.7)
    label_every = -(-len(by_day) // 12)  # a readable date under at most 12 bars
    parts = [f'<svg class="chart" role="img" aria-label="Questions per day by outcome" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">']
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, day in enumerate(by_day):
        x, base = left + slot * i + (slot - bar) / 2, top + plot_h
        for key, (name, colour) in OUTCOMES.items():
            if day[key]:
                h = day[key] * scale
                base -= h
                parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                             f'<title>{day["day"]}: {day[key]} {name}</title></rect>')
        centre = x + bar / 2
        parts.append(f'<text x="{centre:.1f}" y="{base - 4:.1f}" text-anchor="middle">{day["questions"]}</text>')
        if i % label_every == 0:
            parts.append(f'<text x="{centre:.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle">{day["day"]}</text>')
    x = left
    for name, colour in OUTCOMES.values():
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="{height - 5}">{name}</text>')
        x += 14 + 6 * len(name) + 16
    return "".join(parts) + "</svg>"


def reasons_svg(reasons: dict[str, int], width: int = 640) -> str:
    """Escalations by reason as horizontal bars, the most frequent first, each with its count."""
    if not reasons:
        return "<p>No escalations in this range.</p>"
    label_w, row = 190, 26
    height = row * len(reasons) + 8
    longest = max(reasons.values())
    parts = [f'<svg class="chart" role="img" aria-label="Escalations by reason" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">']
    for i, (reason, count) in enumerate(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))):
        y, length = 4 + i * row, (width - label_w - 50) * count / longest
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{html.escape(reason)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" fill="#c62828">'
                     f'<title>{html.escape(reason)}: {count}</title></rect>'
                     f'<text x="{label_w + length + 6:.1f}" y="{y + 15}">{count}</text>')
    return "".join(parts) + "</svg>"


def question_groups(report: Report) -> pd.DataFrame:
    """The unanswered question groups, as the table wants them."""
    return pd.DataFrame(
        [(g.count, g.example, " | ".join(q for q in g.questions if q != g.example)[:300]) for g in report.unanswered],
        columns=["asked", "question", "also asked as"],
    )


def add_dashboard(tab: gr.Tab, log: SupportLog, embedder: Embedder | None, retention_days: int = 0) -> None:
    """The dashboard's components and events, inside `tab` of the staff panel. Conversations past
    `retention_days` are deleted whenever it is updated."""

    def update(since_text: str, until_text: str) -> tuple[Any, ...]:
        try:
            since, until = parse_day(since_text, "from"), parse_day(until_text, "to")
            if retention_days > 0:
                log.delete_older_than(retention_days)
            report = build_report(log, since, until, embedder)
        except ChatbotError as error:
            raise gr.Error(str(error)) from error
        return (summary_markdown(report), outcomes_svg(report.by_day), reasons_svg(report.reasons),
                question_groups(report))

    def export(kind: str, since_text: str, until_text: str) -> str:
        try:
            since, until = parse_day(since_text, "from"), parse_day(until_text, "to")
            path = Path(tempfile.mkdtemp(prefix="support-export-")) / f"{date.today():%Y-%m-%d}-{kind}"
            export_log(log, kind.partition(".")[0], path, since, until)
        except ChatbotError as error:
            raise gr.Error(str(error)) from error
        return str(path)

    with gr.Row():
        since = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="all time", scale=2)
        until = gr.Textbox(label="To (YYYY-MM-DD)", placeholder="today", scale=2)
        refresh = gr.Button("Update", variant="primary", scale=1)
    summary = gr.Markdown()
    gr.Markdown("#### Questions per day, by outcome")
    outcomes = gr.HTML()
    gr.Markdown("#### Escalations by reason")
    reasons = gr.HTML()
    gr.Markdown("#### Questions the bot could not answer, grouped (write these policies next)")
    groups = gr.Dataframe(headers=["asked", "question", "also asked as"], interactive=False, wrap=True)
    with gr.Row():
        buttons = [gr.Button(f"Export {kind}", size="sm") for kind in EXPORTS]
    exported = gr.File(label="Export", interactive=False)

    outputs = [summary, outcomes, reasons, groups]
    refresh.click(update, [since, until], outputs, api_name="dashboard")
    for button, kind in zip(buttons, EXPORTS):
        button.click(lambda a, b, kind=kind: export(kind, a, b), [since, until], [exported],
                     api_name=f"export_{kind.replace('.', '_')}")
    tab.select(update, [since, until], outputs, api_visibility="private")  # fresh figures each time it is opened

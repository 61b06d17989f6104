"""The staff dashboard (a tab of the assist panel, behind the same login): volume, deflection,
feedback, latency and the questions the bot could not answer, with exports. chatbot/support/analytics.py
computes it; this only shows it."""

from __future__ import annotations

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


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value / 1000:.1f} s"


def summary_markdown(report: Report) -> str:
    latency = report.latency_ms
    return (
        f"**{report.turns}** questions in **{report.conversations}** conversations · "
        f"answered without a person (deflection) **{_share(report.deflection_rate)}** · escalated **{report.escalated}**  \n"
        f"feedback on **{_share(report.feedback_rate)}** of answers, **{_share(report.feedback_score)}** thumbs up "
        f"({report.thumbs_up} up, {report.thumbs_down} down)  \n"
        f"answer time p50 **{_ms(latency['p50_total_ms'])}**, p95 **{_ms(latency['p95_total_ms'])}** · "
        f"first words p50 **{_ms(latency['p50_first_token_ms'])}**, p95 **{_ms(latency['p95_first_token_ms'])}**"
    )


def report_frames(report: Report) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Volume per day, answered vs escalated per day (long form), escalations by reason, and the
    unanswered question groups, as the plots and the table want them."""
    days = pd.DataFrame(report.by_day, columns=["day", "questions", "answered", "escalated"])
    outcomes = days.melt(id_vars="day", value_vars=["answered", "escalated"], var_name="outcome", value_name="count")
    reasons = pd.DataFrame(list(report.reasons.items()), columns=["reason", "count"])
    groups = pd.DataFrame(
        [(g.count, g.example, " | ".join(q for q in g.questions if q != g.example)[:300]) for g in report.unanswered],
        columns=["asked", "question", "also asked as"],
    )
    return days, outcomes, reasons, groups


def _from_zero(counts: pd.Series) -> list[float | None]:
    return [0, max(1, int(counts.max()) if len(counts) else 1)]


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
        days, outcomes, reasons, groups = report_frames(report)
        # The y axis starts at 0 (one day or equal counts would otherwise collapse it).
        return (summary_markdown(report), gr.BarPlot(days, y_lim=_from_zero(days["questions"])), outcomes,
                gr.BarPlot(reasons, y_lim=_from_zero(reasons["count"])), groups)

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
    with gr.Row():
        volume = gr.BarPlot(x="day", y="questions", title="Questions per day", x_title="day", y_title="questions")
        outcome = gr.BarPlot(x="day", y="count", color="outcome", title="Answered vs escalated", y_title="questions")
    with gr.Row():
        reasons = gr.BarPlot(x="reason", y="count", title="Escalations by reason", sort="-y")
    gr.Markdown("#### Questions the bot could not answer, grouped (write these policies next)")
    groups = gr.Dataframe(headers=["asked", "question", "also asked as"], interactive=False, wrap=True)
    with gr.Row():
        buttons = [gr.Button(f"Export {kind}", size="sm") for kind in EXPORTS]
    exported = gr.File(label="Export", interactive=False)

    outputs = [summary, volume, outcome, reasons, groups]
    refresh.click(update, [since, until], outputs, api_name="dashboard")
    for button, kind in zip(buttons, EXPORTS):
        button.click(lambda a, b, kind=kind: export(kind, a, b), [since, until], [exported],
                     api_name=f"export_{kind.replace('.', '_')}")
    tab.select(update, [since, until], outputs, api_visibility="private")  # fresh figures each time it is opened

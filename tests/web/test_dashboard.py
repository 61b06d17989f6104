"""The dashboard as staff read it: first words as the shopper saw them (and what stands in for
older rows), deflection, and charts that stay readable with a day or two of data."""

from __future__ import annotations

import re

from chatbot.support.analytics import build_report
from chatbot.values import Answer, Passage
from chatbot.web.dashboard import count_ticks, outcomes_svg, reasons_svg, summary_markdown

RETURNS = Passage("returns#window", "returns", "Returns", "30 days.", "returns.md", score=0.7)


def shown_after(ms: float) -> Answer:
    """An answer the chat showed `ms` after the message arrived (the server's first token at 20 ms)."""
    timings = {"total_ms": ms - 10, "first_token_ms": 20.0, "first_visible_ms": ms}
    return Answer("You have 30 days [1].", (RETURNS,), 0.8, False, "answered", timings)


def test_first_words_are_the_chats_and_older_rows_are_named(log) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "Return window?", shown_after(300.0))
    log.record_turn(conversation, "Sale items?", shown_after(2400.0))
    summary = summary_markdown(build_report(log))
    assert "first words as the shopper saw them p50 **300 ms**, p95 **2.4 s**" in summary
    assert "older answers" not in summary
    old = Answer("30 days [1].", (RETURNS,), 0.8, False, "answered", {"total_ms": 900.0, "first_token_ms": 600.0})
    log.record_turn(conversation, "Logged before the chat timed it", old)
    summary = summary_markdown(build_report(log))
    assert "p50 **600 ms**, p95 **2.4 s** (1 older answers, logged before the chat timed what it showed, count the " \
           "server's first token instead" in summary


def test_deflection_in_the_summary_leaves_out_thumbs_down(log) -> None:
    conversation = log.new_conversation()
    log.record_turn(conversation, "Return window?", shown_after(300.0))
    log.record_feedback(log.record_turn(conversation, "Sale items?", shown_after(300.0)), "down")
    assert "(deflection: no thumbs down, no escalation after) **50%**" in summary_markdown(build_report(log))


def test_count_axes_use_whole_numbers() -> None:
    assert count_ticks(2) == [0, 1, 2] and count_ticks(11) == [0, 5, 10, 15]
    assert count_ticks(1000) == [0, 200, 400, 600, 800, 1000]


def test_one_day_is_one_narrow_bar_on_a_whole_number_axis() -> None:
    day = {"day": "2026-11-01", "questions": 2, "deflected": 1, "answered_not_deflected": 0, "escalated": 1}
    svg = outcomes_svg([day])
    assert re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg) == ["48.0", "48.0", "10", "10", "10"]
    assert re.findall(r'text-anchor="end">([^<]+)<', svg) == ["0", "1", "2"]
    assert "<title>2026-11-01: 1 answered, no person needed</title>" in svg
    assert "<title>2026-11-01: 1 escalated</title>" in svg


def test_a_month_of_days_labels_at_most_twelve_of_them() -> None:
    days = [{"day": f"2026-11-{d:02d}", "questions": d, "deflected": d, "answered_not_deflected": 0, "escalated": 0}
            for d in range(1, 31)]
    svg = outcomes_svg(days)
    assert re.findall(r'text-anchor="middle">(2026-11-\d\d)<', svg) == [f"2026-11-{d:02d}" for d in range(1, 31, 3)]


def test_reasons_are_bars_with_their_counts_most_frequent_first() -> None:
    svg = reasons_svg({"off_topic": 1, "no_evidence": 3, "<script>": 1})
    assert re.findall(r"<title>([^<]+)</title>", svg) == ["no_evidence: 3", "&lt;script&gt;: 1", "off_topic: 1"]
    assert outcomes_svg([]) == "<p>No questions in this range.</p>"
    assert reasons_svg({}) == "<p>No escalations in this range.</p>"

"""The staff panel's queue and dashboard in a real browser (headless Debian chromium driven by
Playwright), over a support log written here: no model is loaded, the desk only reads the log.

Skipped, saying why, where chromium or playwright is missing (`make test` installs chromium where
it can). A failing test saves a screenshot in $CHATBOT_TEST_ARTIFACTS (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from chatbot.values import Answer
from tests.web.server import STAFF_NAME, STAFF_PASSWORD, serving

pytestmark = pytest.mark.browser
TIMEOUT_MS = 60_000
SOFA = "Can I return a sofa bed that was delivered damaged three weeks ago, now that the box has gone to recycling?"
FINAL_SALE = "What about items marked Final Sale?"


@pytest.fixture(scope="module")
def panel_url(tmp_path_factory: pytest.TempPathFactory):
    """The panel at /assist/ over a log with one escalated conversation (escalated at its first
    question, answered at its second) and one answered one, each timed as the chat showed it."""
    import gradio as gr

    from chatbot.support.assist import AssistDesk, KnowledgeBaseInUse
    from chatbot.support.log import open_support_log
    from chatbot.support.staff import StaffAccounts, new_account, parse_accounts
    from chatbot.web.assist_panel import build_panel
    from chatbot.web.server import create_server
    from chatbot.web.texts import PANEL, page_texts

    folder = tmp_path_factory.mktemp("panel")
    log = open_support_log(f"sqlite:///{folder / 'support.db'}")
    escalated, answered = log.new_conversation(), log.new_conversation()
    def shown_after(ms: float) -> dict[str, float]:
        return {"total_ms": 40.0, "first_token_ms": 40.0, "first_visible_ms": ms}

    log.record_turn(escalated, SOFA, Answer("Let me get a person.", (), 0.1, True, "no_evidence", shown_after(80.0)))
    log.record_turn(escalated, FINAL_SALE, Answer("No [1].", (), 0.8, False, "answered", shown_after(300.0)))
    log.record_turn(answered, "Return window?", Answer("30 days [1].", (), 0.8, False, "answered", shown_after(500.0)))
    desk = AssistDesk(None, KnowledgeBaseInUse(folder / "kb", 0), log=log)  # the queue and dashboard need no pipeline
    with gr.Blocks() as chat:
        gr.Markdown("The shopper chat is not under test here.")
    staff = StaffAccounts(parse_accounts(new_account(STAFF_NAME, STAFF_PASSWORD, iterations=1000)))
    try:
        texts = page_texts("Maple & Moss"), page_texts("Maple & Moss", texts=PANEL)
        with serving(create_server(chat, build_panel(desk, "Maple & Moss"), staff, chat_texts=texts[0], panel_texts=texts[1]),
                     "/config") as url:
            yield f"{url}/assist/"
    finally:
        log.close()


@pytest.fixture
def page(browser, panel_url: str, request: pytest.FixtureRequest, tmp_path: Path):
    opened = browser.new_page(viewport={"width": 1280, "height": 1000})
    opened.set_default_timeout(TIMEOUT_MS)
    opened.goto(panel_url)
    opened.get_by_label("username").fill(STAFF_NAME)
    opened.get_by_label("password").fill(STAFF_PASSWORD)
    opened.get_by_role("button", name="Login").click()
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = Path(os.environ.get("CHATBOT_TEST_ARTIFACTS") or tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{request.node.name}.png"
        opened.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    opened.close()


def test_the_queue_shows_the_escalated_question_whole_beside_its_reason(page) -> None:
    entry = page.get_by_text(re.compile(r"no_evidence · Can I return a sofa bed"))
    entry.wait_for()
    assert entry.inner_text().endswith(f"no_evidence · {SOFA} (then 1 more question)")
    # Whole on the screen: wrapped inside its box, not cut off at its edge.
    assert entry.evaluate("e => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().width > 0")
    assert page.get_by_text("Escalated chats waiting for a person (1)").is_visible()
    assert page.get_by_text(f"· {FINAL_SALE}").count() == 0


def test_the_dashboard_shows_first_visible_words_and_a_readable_day(page) -> None:
    page.get_by_role("tab", name="Dashboard").click()
    summary = page.get_by_text(re.compile(r"questions in \d+ conversations"))
    summary.wait_for()
    assert summary.inner_text().startswith("3 questions in 2 conversations")
    assert "first words as the shopper saw them p50 300 ms, p95 500 ms" in page.locator("body").inner_text()
    chart = page.locator('svg[aria-label="Questions per day by outcome"]')
    chart.wait_for()
    ticks = chart.locator('text[text-anchor="end"]').all_text_contents()
    assert ticks == ["0", "1", "2", "3"]  # whole questions, not halves
    bar = chart.locator("rect").first.bounding_box()
    assert bar is not None and bar["width"] == 48  # one day is one narrow bar, not the chart's width

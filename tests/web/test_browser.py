"""The web app in a real browser (headless Debian chromium driven by Playwright): a shopper sees
the answer stream in with its sources and rates it; staff sign in and see it on the dashboard.

`make test` installs chromium with apt-get where it can; elsewhere these tests skip, saying why.
A failing test saves a screenshot in $CHATBOT_TEST_ARTIFACTS (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.web.server import STAFF_NAME, STAFF_PASSWORD, running_site

pytestmark = [pytest.mark.real, pytest.mark.browser]
SOURCES_BOX = re.compile(r"^Sources \(\d+\)")
TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def site(real_pipeline, real_settings, real_embedder, tmp_path_factory: pytest.TempPathFactory):
    with running_site(real_pipeline, real_settings, real_embedder, tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, tmp_path: Path):
    opened = browser.new_page(viewport={"width": 1280, "height": 1000})
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = Path(os.environ.get("CHATBOT_TEST_ARTIFACTS") or tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{request.node.name}.png"
        opened.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    opened.close()


# Runs in the page: records each reply text the chat shows before a sources box appears, at
# every change of the page (so a short wait between two streamed updates is not missed).
WATCH_STREAMING = """() => {
  window.shownBeforeSources = [];
  new MutationObserver(() => {
    const sources = [...document.querySelectorAll('.bot')].some(b => /Sources \\(\\d+\\)/.test(b.innerText));
    const reply = [...document.querySelectorAll('.bot')].map(b => b.innerText).join(' ').trim();
    if (!sources && reply) window.shownBeforeSources.push(reply);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def ask(page, site, question: str) -> list[str]:
    """Ask in the chat and wait for the answer's sources box; returns the reply texts the page
    showed before that box appeared."""
    page.goto(f"{site.url}/")
    page.evaluate(WATCH_STREAMING)
    box = page.get_by_placeholder("Type your question…")
    box.fill(question)
    box.press("Enter")
    page.get_by_text(SOURCES_BOX).first.wait_for()
    return page.evaluate("window.shownBeforeSources")


def until(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def test_the_answer_streams_in_with_its_sources(page, site) -> None:
    seen = ask(page, site, "How many days do I have to return an item?")
    assert seen, "the reply never showed before its sources box"  # shown while being written
    reply = page.locator(".bot").first.inner_text()
    assert "30" in reply and "[1]" in reply
    page.get_by_text(SOURCES_BOX).first.click()  # the box opens on the cited passage
    assert "30 days" in page.locator(".bot").all_inner_texts()[-1]


def test_a_thumbs_down_with_a_comment_is_stored(page, site) -> None:
    ask(page, site, "Do you ship to Canada?")
    page.get_by_role("button", name="Dislike").first.click()
    comment = page.get_by_placeholder("What was wrong with this answer? (optional)")
    comment.fill("I asked about Canada, not the UK")
    page.get_by_role("button", name="Send comment").click()
    row = until(lambda: next((r for r in site.log.turn_rows() if r["feedback"] == "down" and r["feedback_comment"]), None))
    assert row["question"] == "Do you ship to Canada?" and row["feedback_comment"] == "I asked about Canada, not the UK"
    comment.wait_for(state="hidden", timeout=30_000)  # the comment box closes once sent


def test_staff_sign_in_and_see_the_conversation_on_the_dashboard(page, site) -> None:
    ask(page, site, "How much is delivery in the UK?")
    rows = site.log.turn_rows()
    conversations = len({r["conversation_id"] for r in rows})
    page.goto(f"{site.url}/assist/")
    page.get_by_label("username").fill(STAFF_NAME)
    page.get_by_label("password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Dashboard").click()
    summary = page.get_by_text(re.compile(r"questions in \d+ conversations"))
    summary.wait_for()
    assert summary.inner_text().startswith(f"{len(rows)} questions in {conversations} conversations")
    downs = sum(r["feedback"] == "down" for r in rows)
    assert f"{downs} down" in page.get_by_text(re.compile(r"\d+ up, \d+ down")).inner_text()

"""The chat in Chinese, in a real browser (headless chromium): on the Chinese demo store
(knowledge_base_zh/), a browser that asks for Chinese gets the page in Chinese, and a Chinese
question typed into it gets a Chinese answer with its sources."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from chatbot.settings import REPO_ROOT
from tests.web.server import running_site

pytestmark = [pytest.mark.real, pytest.mark.browser]
TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def site(real_settings, real_embedder, tmp_path_factory: pytest.TempPathFactory):
    from chatbot.service import create_pipeline

    folder = tmp_path_factory.mktemp("zh_site")
    settings = replace(real_settings, kb_dir=REPO_ROOT / "knowledge_base_zh", index_dir=folder / "index")
    pipeline = create_pipeline(settings, build_if_missing=True, embedder=real_embedder)
    with running_site(pipeline, settings, real_embedder, folder) as running:
        yield running


@pytest.fixture
def chinese_page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


def test_a_chinese_browser_gets_the_page_and_the_answer_in_chinese(chinese_page, site) -> None:
    page = chinese_page
    page.goto(f"{site.url}/")
    box = page.get_by_placeholder("请输入您的问题…")
    box.wait_for()
    page.get_by_role("button", name="发送").wait_for()
    page.get_by_role("button", name="转人工客服").wait_for()
    box.fill("退货期限是多少天？")
    box.press("Enter")
    page.get_by_text(re.compile(r"^出处 \(\d+\)")).first.wait_for()
    reply = page.locator(".bot").first.inner_text()
    assert "30天" in reply and "[1]" in reply


def test_an_english_browser_gets_the_page_in_english(browser, site) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{site.url}/")
    page.get_by_placeholder("Type your question…").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Send", exact=True).wait_for(timeout=TIMEOUT_MS)
    context.close()


def test_the_assist_panel_is_in_chinese_for_a_chinese_browser(chinese_page, site) -> None:
    from tests.web.server import STAFF_NAME, STAFF_PASSWORD

    page = chinese_page
    page.goto(f"{site.url}/assist/")
    page.locator("input[type=password]").wait_for()
    page.locator("input:not([type=password])").first.fill(STAFF_NAME)
    page.locator("input[type=password]").fill(STAFF_PASSWORD)
    page.locator("input[type=password]").press("Enter")
    page.get_by_role("tab", name="起草回复").wait_for()
    page.get_by_role("button", name="起草回复").wait_for()
    page.get_by_label("顾客消息或邮件往来").wait_for()

"""Fixtures the web tests share: headless chromium for the browser tests."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("No chromium on this machine (Debian: apt-get install chromium; `make test` tries it): browser tests skipped.")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def log(tmp_path):
    """An empty support log in SQLite."""
    from chatbot.support.log import open_support_log

    with open_support_log(f"sqlite:///{tmp_path / 'support.db'}") as opened:
        yield opened

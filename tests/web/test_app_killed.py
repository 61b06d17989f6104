"""app.py as a real process, killed with SIGKILL while it answers and started again: the support
log keeps every turn it had logged, and the escalation queue comes back as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chatbot.settings import REPO_ROOT
from tests.web.server import free_port

pytestmark = pytest.mark.real


def start_app(port: int, env: dict[str, str], output: Path) -> subprocess.Popen:
    with output.open("a", encoding="utf-8") as log:
        app = subprocess.Popen([sys.executable, str(REPO_ROOT / "app.py"), "--port", str(port)], cwd=REPO_ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert app.poll() is None, output.read_text(encoding="utf-8", errors="replace")[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/config", timeout=2).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    app.kill()
    raise AssertionError("app.py did not start within 240 s")


def post(http: httpx.Client, question: str) -> str:
    """Send one message through the chat's API route; the event id to read the answer from."""
    posted = http.post("/gradio_api/call/chat", json={"data": [question, []]})
    posted.raise_for_status()
    return posted.json()["event_id"]


def ask(http: httpx.Client, question: str) -> str:
    """One message, answered in full: the reply's text."""
    event, kind = post(http, question), ""
    with http.stream("GET", f"/gradio_api/call/chat/{event}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: ") and kind == "complete":
                chat = json.loads(line[len("data: "):])[0]
                return str(chat[1]["content"])
    raise AssertionError(f"no complete answer to {question!r}")


def snapshot(url: str) -> tuple[list[tuple], list[tuple]]:
    """The log's turns and its queue, as plain values to compare."""
    from chatbot.support.log import open_support_log

    with open_support_log(url) as log:
        turns = [(r["id"], r["conversation_id"], r["question"], r["answer"], r["reason"]) for r in log.turn_rows()]
        queue = [(q.id, q.reason, q.last_question, len(q.turns)) for q in log.escalation_queue()]
    return turns, queue


def test_a_killed_app_loses_no_logged_turn_and_keeps_its_queue(real_settings, real_index, tmp_path: Path) -> None:
    support_url = f"sqlite:///{tmp_path / 'support.db'}"
    env = {**os.environ, "CHATBOT_SUPPORT_LOG_URL": support_url, "CHATBOT_ORDERS_URL": f"sqlite:///{tmp_path / 'orders.db'}",
           "CHATBOT_INDEX_DIR": str(real_settings.index_dir), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    port = free_port()
    app = start_app(port, env, tmp_path / "app.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for question in ("How many days do I have to return an item?", "can I talk to a real person please",
                             "I've been charged twice for the same order!!!", "How much is UK delivery?"):
                assert ask(http, question).strip()
            before = snapshot(support_url)
            post(http, "How long do refunds take?")  # killed as soon as it is sent, while it is answered
            app.kill()
            app.wait(30)
    finally:
        if app.poll() is None:
            app.kill()
    turns, queue = before
    assert len(turns) == 4 and sorted(reason for _, reason, _, _ in queue) == ["payment_dispute", "user_asked_for_human"]

    app = start_app(port, env, tmp_path / "app.log")
    try:
        after_turns, after_queue = snapshot(support_url)
        assert after_turns[:4] == turns and len(after_turns) <= 5  # the one being answered may have made it
        assert after_queue == queue
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            assert "£3.95" in ask(http, "How much does standard UK delivery cost?")
        assert len(snapshot(support_url)[0]) == len(after_turns) + 1
    finally:
        app.terminate()
        app.wait(30)

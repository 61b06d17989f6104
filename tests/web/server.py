"""The web server as app.py runs it (chat at /, staff panel at /assist/), on the real models, for
the HTTP and browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

STAFF_NAME, STAFF_PASSWORD = "ana", "a long staff password"


@dataclass
class Site:
    url: str
    store: Any  # OrderStore
    log: Any  # SupportLog
    support_db: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_site(pipeline: Any, settings: Any, embedder: Any, folder: Path) -> Iterator[Site]:
    """Serve the chat and the panel (one staff account) on a free port, with a seeded order store
    and a support log in `folder`; stopped on exit."""
    from chatbot.answer.pipeline import Pipeline
    from chatbot.orders.chat import OrderDesk
    from chatbot.orders.store import open_order_store
    from chatbot.service import create_assist_desk
    from chatbot.support.log import open_support_log
    from chatbot.support.staff import StaffAccounts, new_account, parse_accounts
    from chatbot.web.assist_panel import build_panel
    from chatbot.web.chat import build_app
    from chatbot.web.server import create_server
    from chatbot.web.texts import PANEL, page_texts

    settings = replace(settings, panel_index_dir=folder / "indexes")
    store = open_order_store(f"sqlite:///{folder / 'orders.db'}")
    store.seed_demo(count=120)
    log = open_support_log(f"sqlite:///{folder / 'support.db'}")
    pipeline = Pipeline(pipeline.retriever, pipeline.generator, settings, guard=pipeline.guard, orders=OrderDesk(store),
                        embedder=pipeline.embedder)
    staff = StaffAccounts(parse_accounts(new_account(STAFF_NAME, STAFF_PASSWORD, iterations=1000)))
    panel = build_panel(create_assist_desk(settings, pipeline, embedder, log), settings.store_name, embedder)
    app = create_server(build_app(pipeline, settings, log, "test-index"), panel, staff,
                        chat_texts=page_texts(settings.store_name, settings.ui_language),
                        panel_texts=page_texts(settings.store_name, settings.ui_language, PANEL))
    try:
        with serving(app, "/config") as url:
            yield Site(url, store, log, folder / "support.db")
    finally:
        store.close()
        log.close()


@contextmanager
def serving(app: Any, ready_path: str) -> Iterator[str]:
    """Run an ASGI app on a free local port until exit; yields its base URL once `ready_path` answers 200."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.config.port}"
    deadline = time.monotonic() + 60
    while not _answers(url + ready_path):
        if time.monotonic() > deadline:
            raise RuntimeError("the web server did not start within 60 s")
        time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        server.force_exit = True  # a browser's open stream would hold a graceful shutdown for the whole timeout
        thread.join(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False

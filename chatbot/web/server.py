"""The web server: the shopper chat at / and, with staff accounts, the agent-assist panel at
/assist/ behind a login; `serve` loads everything from the settings, saying what it is doing
and how long each step took, and runs it."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from chatbot.errors import ChatbotError
from chatbot.settings import load_settings

if TYPE_CHECKING:  # gradio takes seconds to import: `serve` says so before it does
    import gradio as gr
    from fastapi import FastAPI

    from chatbot.support.staff import StaffAccounts

log = logging.getLogger(__name__)


def create_server(
    chat: gr.Blocks, panel: gr.Blocks | None = None, staff: StaffAccounts | None = None, chats_at_once: int = 1,
    *, chat_texts: gr.I18n, panel_texts: gr.I18n | None = None,
) -> FastAPI:
    """One web server: the shopper chat at / and, given staff accounts, the assist panel at
    /assist/, where every page and API call needs a staff login (the chat needs none and has no
    route to the panel's functions). Up to `chats_at_once` chat answers run at the same time
    (a batching generator writes them together); as many more may queue, then "busy".
    `chat_texts` and `panel_texts` are the pages' labels (web/texts.page_texts: the pages name
    them by key)."""
    import gradio as gr
    from fastapi import FastAPI

    server = FastAPI()
    if panel is not None:
        if not staff:
            raise ChatbotError("The assist panel needs staff accounts: set `staff_accounts` (see `python -m chatbot staff-account`).")
        panel.queue(default_concurrency_limit=1)
        server = gr.mount_gradio_app(server, panel, "/assist", auth=staff, auth_message="Staff sign-in for the agent-assist panel.",
                                     i18n=panel_texts)
    chat.queue(default_concurrency_limit=chats_at_once, max_size=chats_at_once)
    return gr.mount_gradio_app(server, chat, "/", i18n=chat_texts)


def serve(settings_file: str | None = None, host: str | None = None, port: int | None = None) -> None:
    """Load the models and the index (building it on a first start), then serve until stopped.
    Each step of the start is logged as it begins and with its time (service.timed_step)."""
    import uvicorn

    from chatbot.knowledge.embedding import OneThreadEmbedder
    from chatbot.openmp import release_pool
    from chatbot.service import create_assist_desk, create_pipeline, index_version, load_embedder, timed_step
    from chatbot.support.log import open_support_log
    from chatbot.support.staff import StaffAccounts
    from chatbot.text.redaction import redact_logs

    started = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss.loader", "httpx"):  # library chatter, not the app's
        logging.getLogger(noisy).setLevel(logging.WARNING)
    redact_logs()
    try:
        settings = load_settings(settings_file, host=host, port=port)
        base = f"http://{settings.host}:{settings.port}"
        log.info("Starting the shopper chat for %s/: loading the models and the index first", base)
        staff = StaffAccounts.from_setting(settings.staff_accounts)
        with timed_step("loading the web framework (gradio)"):
            from chatbot.web.chat import build_app
            from chatbot.web.texts import PANEL, page_texts
        embedder = load_embedder(settings)
        if settings.answer_style != "extractive":  # replies are written on the batch thread: leave it the cores
            embedder = OneThreadEmbedder(embedder)
        pipeline = create_pipeline(settings, build_if_missing=True, embedder=embedder, with_orders=True, concurrent=True)
        if pipeline.mentions is not None:
            with timed_step("embedding the pages' words (for questions about what they never mention; typos)"):
                pipeline.mentions.prepare()
        support_log = open_support_log(settings.support_log_url) if settings.support_log_url else None
        if support_log is not None and settings.retention_days > 0:
            log.info("Retention: deleted %d conversations older than %d days",
                     support_log.delete_older_than(settings.retention_days), settings.retention_days)
        panel = None
        if staff:
            from chatbot.web.assist_panel import build_panel

            desk = create_assist_desk(settings, pipeline, embedder, support_log)
            with timed_step("building the agent-assist panel"):
                panel = build_panel(desk, settings.store_name, embedder, settings.retention_days)
    except ChatbotError as error:
        raise SystemExit(f"Error: {error}") from error
    with timed_step("building the shopper chat"):
        chat = build_app(pipeline, settings, support_log, index_version(settings.index_dir))
        server = create_server(chat, panel, staff, chats_at_once=settings.max_batch + settings.max_waiting,
                               chat_texts=page_texts(settings.store_name, settings.ui_language),
                               panel_texts=page_texts(settings.store_name, settings.ui_language, PANEL))
    release_pool()  # loading is done; the batch thread's workers are then the only ones (openmp.py)
    log.info("Loaded in %.1f s; serving the shopper chat at %s/", time.perf_counter() - started, base)
    if panel is not None and staff:
        log.info("Agent-assist panel: %s/assist/ (%d staff accounts)", base, len(staff))
    else:
        log.info("No staff accounts (`staff_accounts`): the agent-assist panel is off. "
                 "Make one with `python -m chatbot staff-account NAME`.")
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning")

"""The shopper chat's message flow on fake models: a message sent while an answer is written
waits and is answered next, a refused message stays in the box with one log line and no
traceback, the offer of a person is a button outside the bot's reply, and each logged turn
records when its first words showed. Fast tests call the chat directly or through
gradio_client; the `browser` ones drive the page in headless chromium (see test_browser.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from chatbot.answer.pipeline import Pipeline
from chatbot.errors import QuestionError
from chatbot.knowledge.index import build_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.settings import Settings
from chatbot.support.log import SupportLog, open_support_log
from chatbot.values import Answer
from chatbot.web.chat import ChatSession, ShopperChat, message_text, offers_person
from chatbot.web.texts import PAGE, SAID, page_texts
from tests.fakes import ScriptedGenerator, ToyEmbedder
from tests.web import test_browser as browser_tests

HUMAN_REQUEST, WAITING_NOTICE, OFFER_LABEL = SAID["en"]["human_request"], SAID["en"]["waiting"], PAGE["en"]["offer"]

RETURNS_QUESTION, RETURNS_REPLY = "How many days to return full-price items?", "You have 30 days to return full-price items [1]."
SALE_QUESTION, SALE_REPLY = "How many days to return sale items?", "Sale items can be returned within 14 days [1]."
OFF_TOPIC = "What is the capital of France?"
WAIT_S = 60  # the most a test waits for the chat thread or the page before it fails
# Headless chromium and a page on it, as the real-model browser tests have them.
page, until = browser_tests.page, browser_tests.until  # `browser` comes from tests/web/conftest.py


class GatedGenerator(ScriptedGenerator):
    """Scripted replies; the first one is written only once `gate` opens, and `started` tells
    that it was asked for, so a test can act while an answer is being written."""

    def __init__(self, *replies: str) -> None:
        super().__init__(*replies)
        self.started, self.gate = threading.Event(), threading.Event()

    def stream(self, messages: Sequence[dict[str, str]], max_new_tokens: int,
               temperature: float | None = None) -> Iterator[str]:
        if not self.started.is_set():
            self.started.set()
            assert self.gate.wait(WAIT_S), "the test never let the first answer be written"
        yield from super().stream(messages, max_new_tokens, temperature)


class FailingGenerator(ScriptedGenerator):
    def stream(self, messages: Sequence[dict[str, str]], max_new_tokens: int,
               temperature: float | None = None) -> Iterator[str]:
        raise RuntimeError("the decoder broke")
        yield ""


class Clock:
    """A clock the test moves by hand, so timings are exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def toy_pipeline(toy_settings: Settings, toy_embedder: ToyEmbedder):
    """A pipeline on the toy knowledge base (returns, sale items, UK delivery) writing with `generator`."""
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)

    def make(generator: ScriptedGenerator) -> Pipeline:
        return Pipeline(HybridRetriever.from_settings(toy_settings, toy_embedder), generator, toy_settings)

    return make


@pytest.fixture
def support_log(tmp_path: Path) -> Iterator[SupportLog]:
    log = open_support_log(f"sqlite:///{tmp_path / 'support.db'}")
    yield log
    log.close()


def texts(history: list[dict]) -> list[tuple[str, str]]:
    """(role, text) of each message, a sources box as its title."""
    return [(m["role"], (m.get("metadata") or {}).get("title") or message_text(m["content"])) for m in history]


def test_a_message_sent_while_an_answer_is_written_is_answered_next(toy_pipeline, toy_settings, support_log) -> None:
    generator, clock = GatedGenerator(RETURNS_REPLY, SALE_REPLY), Clock()
    chat, session = ShopperChat(toy_pipeline(generator), toy_settings, support_log, clock=clock), ChatSession()
    shown: list[list[dict]] = []

    assert chat.send(RETURNS_QUESTION, session) is False  # nothing before it
    answering = threading.Thread(target=lambda: shown.extend(h for h, _ in chat.answer_waiting([], session)))
    answering.start()
    assert generator.started.wait(WAIT_S)
    clock.now = 101.0
    assert chat.send(f"  {SALE_QUESTION} ", session) is True  # it waits behind the answer
    assert list(chat.answer_waiting([], session)) == []  # a second answerer leaves it to the first
    clock.now = 101.5
    generator.gate.set()
    answering.join(WAIT_S)

    assert not answering.is_alive()
    assert texts(shown[-1]) == [
        ("user", RETURNS_QUESTION), ("assistant", RETURNS_REPLY), ("assistant", "Sources (1)"),
        ("user", SALE_QUESTION), ("assistant", SALE_REPLY), ("assistant", "Sources (1)"),
    ]
    rows = support_log.turn_rows()
    assert [(r["question"], r["conversation_id"]) for r in rows] == [
        (RETURNS_QUESTION, session.conversation_id), (SALE_QUESTION, session.conversation_id)]
    # first words shown: 1.5 s after the first message came, 0.5 s after the second (it waited)
    assert [r["timings"]["first_visible_ms"] for r in rows] == [1500.0, 500.0]
    assert session.answers == {1: rows[0]["id"], 2: rows[0]["id"], 4: rows[1]["id"], 5: rows[1]["id"]}


def test_a_failed_answer_leaves_the_next_message_waiting_for_the_next_answerer(toy_pipeline, toy_settings) -> None:
    failing = toy_pipeline(FailingGenerator())
    chat, session = ShopperChat(failing, toy_settings), ChatSession()
    chat.send(RETURNS_QUESTION, session)
    chat.send(SALE_QUESTION, session)
    with pytest.raises(RuntimeError, match="the decoder broke"):
        list(chat.answer_waiting([], session))
    chat.pipeline = toy_pipeline(ScriptedGenerator(SALE_REPLY))
    assert texts(list(chat.answer_waiting([], session))[-1][0])[:2] == [
        ("user", SALE_QUESTION), ("assistant", SALE_REPLY)]


@pytest.mark.parametrize(("message", "expected"), [("   ", "Please type a question"), ("x" * 20_000, "limit is 2,000")])
def test_a_refused_message_is_not_taken(toy_pipeline, toy_settings, message: str, expected: str) -> None:
    chat, session = ShopperChat(toy_pipeline(ScriptedGenerator()), toy_settings), ChatSession()
    with pytest.raises(QuestionError, match=expected):
        chat.send(message, session)
    assert list(chat.answer_waiting([], session)) == []


def test_first_visible_ms_is_when_the_reply_first_shows(toy_pipeline, toy_settings, support_log) -> None:
    reply = f"{RETURNS_REPLY} Sale items can be returned within 14 days [2]."
    clock = Clock()
    chat = ShopperChat(toy_pipeline(ScriptedGenerator(reply)), toy_settings, support_log, clock=clock)
    shown = []
    for history, _ in chat.answer(RETURNS_QUESTION, 100.0, [], ChatSession()):
        shown.append(texts(history)[1:])
        clock.now += 0.25  # each update shown a quarter second after the one before
    # the shopper's message (at +0), the first checked sentence (+0.25 s), the final answer (+0.5 s)
    assert shown == [[], [("assistant", f"{RETURNS_REPLY} ")], [("assistant", reply), ("assistant", "Sources (2)")]]
    [row] = support_log.turn_rows()
    assert row["timings"]["first_visible_ms"] == 250.0
    assert {"retrieval_ms", "total_ms"} <= row["timings"].keys()


def test_first_visible_ms_of_a_reply_shown_only_when_final(toy_pipeline, toy_settings, support_log) -> None:
    clock = Clock()
    chat = ShopperChat(toy_pipeline(ScriptedGenerator("Bananas are yellow.")), toy_settings, support_log, clock=clock)
    shown = []
    for history, _ in chat.answer(RETURNS_QUESTION, 99.0, [], ChatSession()):
        shown.append(len(history))
        clock.now += 0.25
    # nothing the decoder wrote was supported: the passage is quoted, in the final answer only
    assert shown == [1, 3]
    [row] = support_log.turn_rows()
    assert (row["reason"], row["timings"]["first_visible_ms"]) == ("quoted", 1250.0)


def test_the_offer_of_a_person_is_not_in_the_reply(toy_pipeline, toy_settings) -> None:
    chat, session = ShopperChat(toy_pipeline(ScriptedGenerator()), toy_settings), ChatSession()
    history, answer = list(chat.answer(OFF_TOPIC, 0.0, [], session))[-1]
    assert answer is not None and (answer.escalate, answer.reason) == (True, "no_evidence")
    assert offers_person(answer) and "options" not in history[-1]
    assert not offers_person(replace(answer, reason="user_asked_for_human")) and not offers_person(None)
    assert not offers_person(Answer("You have 30 days [1]."))


# Through Gradio: the public /chat API as a client calls it, and what the server prints.


@pytest.fixture
def served(toy_pipeline, toy_settings):
    from gradio_client import Client

    from chatbot.web.chat import build_app

    def serve(generator: ScriptedGenerator) -> Client:
        demo = build_app(toy_pipeline(generator), toy_settings).queue()
        demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
        apps.append(demo)
        return Client(demo.local_url, verbose=False)

    apps: list = []
    yield serve
    for demo in apps:
        demo.close()


def test_the_api_answers_with_the_reply_and_its_sources(served) -> None:
    history = served(ScriptedGenerator(RETURNS_REPLY)).predict(RETURNS_QUESTION, [], api_name="/chat")
    assert texts(history) == [("user", RETURNS_QUESTION), ("assistant", RETURNS_REPLY), ("assistant", "Sources (1)")]


def test_an_input_error_is_one_log_line_without_a_traceback(served, capfd, caplog) -> None:
    caplog.set_level(logging.INFO, logger="chatbot.web.chat")
    client = served(ScriptedGenerator())
    with pytest.raises(Exception, match="limit is 2,000"):
        client.predict("x" * 20_000, [], api_name="/chat")
    with pytest.raises(Exception, match="Please type a question"):
        client.predict("   ", [], api_name="/chat")
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out
    assert [(r.name, r.levelname, r.exc_info) for r in caplog.records] == [("chatbot.web.chat", "INFO", None)] * 2
    assert caplog.messages[1] == "Refused a message: Please type a question."


def test_an_unexpected_error_keeps_its_traceback(served, capfd) -> None:
    with pytest.raises(Exception, match="raised an exception"):
        served(FailingGenerator()).predict(RETURNS_QUESTION, [], api_name="/chat")
    printed = capfd.readouterr()
    assert "Traceback" in printed.err and "RuntimeError: the decoder broke" in printed.err


# In a real browser.


@pytest.fixture
def site(toy_pipeline, toy_settings, tmp_path: Path, support_log):
    """The chat as the server mounts it, answering with a gated generator, and its support log."""
    from chatbot.web.chat import build_app
    from chatbot.web.server import create_server
    from tests.web.server import serving

    generator = GatedGenerator(RETURNS_REPLY, SALE_REPLY)
    app = create_server(build_app(toy_pipeline(generator), toy_settings, support_log, "test-index"), chats_at_once=4,
                        chat_texts=page_texts(toy_settings.store_name))
    with serving(app, "/config") as url:
        yield url, generator


def bubbles(page) -> list[str]:
    """The chat's bubbles as the page shows them, 'user: ...' or 'bot: ...' (a reply's bubble
    holds its sources box)."""
    return page.evaluate("""() => [...document.querySelectorAll('.message-row')]
        .map(m => (m.classList.contains('user-row') ? 'user: ' : 'bot: ') + m.innerText.trim())""")


@pytest.mark.browser
def test_a_message_sent_mid_answer_is_answered_next_in_the_browser(page, site) -> None:
    url, generator = site
    page.goto(f"{url}/")
    box = page.get_by_placeholder("Type your question…")
    box.fill(RETURNS_QUESTION)
    box.press("Enter")
    assert generator.started.wait(WAIT_S)  # the first answer is being written, held at the gate
    box.fill(SALE_QUESTION)
    box.press("Enter")
    page.get_by_text(WAITING_NOTICE).wait_for(timeout=WAIT_S * 1000)
    assert box.input_value() == ""
    generator.gate.set()
    until(lambda: len(shown := bubbles(page)) == 4 and "Sources (1)" in shown[3], WAIT_S)
    shown = bubbles(page)
    assert [b.split("\n")[0] for b in shown] == [
        f"user: {RETURNS_QUESTION}", f"bot: {RETURNS_REPLY}", f"user: {SALE_QUESTION}", f"bot: {SALE_REPLY}"], shown
    assert "Sources (1)" in shown[1]


@pytest.mark.browser
def test_an_over_long_message_stays_in_the_box_with_the_error(page, site, capfd) -> None:
    url, _ = site
    page.goto(f"{url}/")
    box = page.get_by_placeholder("Type your question…")
    box.fill("x" * 20_000)
    box.press("Enter")
    page.get_by_text("Your message is 20,000 characters long; the limit is 2,000.").wait_for(timeout=WAIT_S * 1000)
    assert box.input_value() == "x" * 20_000
    assert bubbles(page) == []
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.browser
def test_the_offer_of_a_person_is_a_button_outside_the_reply(page, site, support_log) -> None:
    url, generator = site
    generator.gate.set()
    page.goto(f"{url}/")
    box = page.get_by_placeholder("Type your question…")
    box.fill(OFF_TOPIC)
    box.press("Enter")
    offer = page.get_by_role("button", name=OFFER_LABEL)
    offer.wait_for(timeout=WAIT_S * 1000)
    assert "connect you with a person" in bubbles(page)[-1]
    # Gradio drew the old option inside the chat's message area, under the bubble
    assert page.locator(".message-wrap button", has_text="person").count() == 0
    assert offer.evaluate("b => b.closest('.message-wrap') === null")
    offer.click()
    until(lambda: len(bubbles(page)) == 4, WAIT_S)
    assert bubbles(page)[2] == f"user: {HUMAN_REQUEST}"
    assert bubbles(page)[3].startswith("bot: I have passed this conversation to a member of the Maple & Moss support team")
    offer.wait_for(state="hidden", timeout=WAIT_S * 1000)
    until(lambda: [c.reason for c in support_log.escalation_queue()] == ["user_asked_for_human"], WAIT_S)

"""The shopper chat (Gradio): answers streamed and cited, their sources shown, thumbs up or down,
and a way to reach a person; a message sent while an answer is written waits its turn. server.py
mounts it at / beside the staff's panel."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import gradio as gr

from chatbot.answer.pipeline import REASON_ASKED_FOR_HUMAN, Pipeline, clean_question
from chatbot.errors import BusyError, ChatbotError, QuestionError, SupportLogError
from chatbot.orders.chat import OrderSession, client_key
from chatbot.settings import Settings
from chatbot.text.words import reply_language
from chatbot.values import Answer
from chatbot.web.texts import EXAMPLES, checked_language, error_text, named, page_texts, said, shopper_language

if TYPE_CHECKING:
    from chatbot.support.log import SupportLog

log = logging.getLogger(__name__)

# Refusals a shopper meets in ordinary use: shown to them, logged as one line, no traceback.
ORDINARY_ERRORS = (QuestionError, BusyError)


def message_text(content: Any) -> str:
    """The text of a chat message, whether Gradio gives it as a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, list):
        return " ".join(message_text(part) for part in content).strip()
    return ""


def conversation(history: list[dict]) -> list[dict[str, str]]:
    """The shopper's and the bot's turns, without the sources boxes shown under answers."""
    turns = []
    for message in history:
        if (message.get("metadata") or {}).get("title"):
            continue
        text = message_text(message.get("content"))
        if text and message.get("role") in ("user", "assistant"):
            turns.append({"role": message["role"], "content": text})
    return turns


def sources_markdown(answer: Answer) -> str:
    lines = [f"**[{n}] {p.title}**" + (f" › {' › '.join(p.headings)}" if p.headings else "") + f"  \n{p.snippet()}"
             for n, p in enumerate(answer.sources, 1)]
    return "\n\n".join(lines)


def answer_messages(answer: Answer) -> list[dict]:
    """The bot's reply and its sources box (titled in the reply's language)."""
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": answer.text}]
    if answer.sources:
        messages.append({
            "role": "assistant",
            "content": sources_markdown(answer),
            "metadata": {"title": f"{said('sources', reply_language(answer.text) or 'en')} ({len(answer.sources)})"},
        })
    return messages


def offers_person(answer: Answer | None) -> bool:
    """Whether the bot's answer offers a person (it escalated without being asked to)."""
    return answer is not None and answer.escalate and answer.reason != REASON_ASKED_FOR_HUMAN


class Outbox:
    """A browser session's messages not yet answered, in the order sent, each with when it came.
    One answerer at a time takes them, so a message sent while an answer is being written waits
    for it and is answered next, below it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: deque[tuple[str, float]] = deque()
        self._answering = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Outbox:
        # Gradio copies the session state's first value for each browser session: a new session
        # has nothing waiting, and a lock of its own (a lock cannot be copied).
        return Outbox()

    def put(self, message: str, received: float) -> bool:
        """Add a message that came at `received`; True when it waits behind an answer being
        written or another message."""
        with self._lock:
            self._messages.append((message, received))
            return self._answering or len(self._messages) > 1

    def claim(self) -> bool:
        """Become the answerer; False when another one is at work (it answers the new message too)."""
        with self._lock:
            if self._answering:
                return False
            self._answering = True
            return True

    def take(self) -> tuple[str, float] | None:
        """The oldest waiting message and when it came; None ends the claim. Both happen under one
        lock, so a message put meanwhile is taken by this answerer or by the next one."""
        with self._lock:
            if self._messages:
                return self._messages.popleft()
            self._answering = False
            return None

    def release(self) -> None:
        """End the claim when an answer failed; what still waits is answered by the next answerer."""
        with self._lock:
            self._answering = False


@dataclass
class ChatSession:
    """One browser session: its order checks (kept across "New conversation", so the attempt
    limit holds), the messages waiting for an answer, and the conversation in the support log."""

    orders: OrderSession = field(default_factory=OrderSession)
    outbox: Outbox = field(default_factory=Outbox)
    conversation_id: str | None = None
    answers: dict[int, int] = field(default_factory=dict)  # chat message index -> logged turn id
    disliked: int | None = None  # the turn a comment box below the chat is asking about


def note_client(session: ChatSession, request: gr.Request | None) -> None:
    """Remember which client address the session's messages come from (as a digest), so the
    order desk counts its failed identity checks across the sessions it opens."""
    client = getattr(request, "client", None) if request is not None else None
    host = getattr(client, "host", "") or ""
    if host and not session.orders.client:
        session.orders.client = client_key(host)


def thumbs(liked: bool | str | None) -> str | None:
    """The rating a chat's like event carries: Gradio sends True (Like), False (Dislike), a
    custom option's text, or "" when a thumb is clicked off (no rating: nothing is stored).

    >>> thumbs(True), thumbs(False), thumbs(""), thumbs(None)
    ('up', 'down', None, None)
    """
    if liked is None or liked == "":
        return None
    return "up" if liked is True else "down"


def liked_turn(session: ChatSession, index: int | tuple[int, int] | list[int]) -> int | None:
    """The logged answer a thumbs click was on (its reply or its sources box)."""
    position = index if isinstance(index, int) else index[0]
    return session.answers.get(position)


Shown = tuple[list[dict], Answer | None]  # the chat as it is now, and the answer once it is final


class ShopperChat:
    """What the chat does with a shopper's messages, apart from Gradio: each is checked as it is
    sent, answered in the order sent (one waits while another is answered), shown as it is
    written, and logged with its timings, among them `first_visible_ms`: from the message's
    arrival to the first words of the reply shown, on `clock` (seconds)."""

    def __init__(
        self,
        pipeline: Pipeline,
        settings: Settings,
        support_log: SupportLog | None = None,
        index_version: str = "",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.support_log = support_log
        self.index_version = index_version
        self.clock = clock

    def send(self, message: str, session: ChatSession) -> bool:
        """Take a message to answer; True when it waits behind another. An empty or over-long
        message raises `QuestionError` here, before it is taken, so the shopper can fix it."""
        return session.outbox.put(clean_question(message, self.pipeline.settings.max_question_chars), self.clock())

    def answer_waiting(self, history: list[dict], session: ChatSession) -> Iterator[Shown]:
        """Answer the session's waiting messages in turn, each below the one before; nothing when
        another call is already answering them (that one answers the newest as well)."""
        if not session.outbox.claim():
            return
        try:
            while (waiting := session.outbox.take()) is not None:
                message, received = waiting
                for shown in self.answer(message, received, history, session):
                    history = shown[0]
                    yield shown
        except BaseException:
            session.outbox.release()
            raise

    def answer(self, message: str, received: float, history: list[dict], session: ChatSession) -> Iterator[Shown]:
        """One message answered: the chat with the shopper's message, then with the reply as it is
        written, then with the final reply and its sources, logged. `received`: its arrival on
        `clock`. A bad message raises `QuestionError` before anything is shown."""
        answering = self.pipeline.stream(message, conversation(history), session.orders)
        history = [*history, {"role": "user", "content": message.strip()}]
        yield history, None  # the shopper's message shows while the answer is written and checked
        partial, first_visible = "", None
        for item in answering:
            if isinstance(item, Answer):
                if first_visible is None and item.text.strip():
                    first_visible = (self.clock() - received) * 1000
                if first_visible is not None:
                    item = replace(item, timings={**item.timings, "first_visible_ms": first_visible})
                self.record(session, message.strip(), item, len(history))
                yield [*history, *answer_messages(item)], item
                return
            partial += item
            if first_visible is None and partial.strip():
                first_visible = (self.clock() - received) * 1000
            yield [*history, {"role": "assistant", "content": partial}], None

    def record(self, session: ChatSession, message: str, answer: Answer, position: int) -> None:
        """Log the turn (with a support log); the reply at `position` and its sources box can then be rated."""
        if self.support_log is None:
            return
        try:
            session.conversation_id = session.conversation_id or self.support_log.new_conversation()
            turn = self.support_log.record_turn(
                session.conversation_id, message, answer, self.settings.model, self.index_version
            )
        except SupportLogError as error:  # the shopper still gets the answer; the operator sees why
            log.error("Not logged: %s", error)
            return
        session.answers |= {position: turn, position + 1: turn}  # the reply and its sources box


def shown_error(error: ChatbotError, message: str = "", language: str = "en", limit: int = 0) -> gr.Error:
    """The error as the shopper sees it, an ordinary refusal (an empty or over-long `message`, a
    busy moment) in their `language` and as one log line: Gradio prints a raised gr.Error's
    traceback unless told not to."""
    if isinstance(error, ORDINARY_ERRORS):
        log.info("Refused a message: %s", error)
        return gr.Error(error_text(error, message, language, limit), print_exception=False)
    return gr.Error(str(error))


def accepted_languages(request: gr.Request | None) -> str:
    """The browser's Accept-Language header ("" without one)."""
    headers = getattr(request, "headers", None) if request is not None else None
    return str(headers.get("accept-language", "")) if headers is not None else ""


def build_app(
    pipeline: Pipeline, settings: Settings, support_log: SupportLog | None = None, index_version: str = ""
) -> gr.Blocks:
    """The shopper chat. The pipeline does all the work; this only shows it. With `support_log`,
    each question and answer is logged (redacted) with the model and `index_version`, shoppers can
    rate answers, and escalated conversations join the staff queue.

    A message sent while an answer is being written waits and is answered next; one that is
    refused (empty, too long) stays in the box beside the error. The public API `/chat` takes a
    message and the history and returns the history with the answer."""
    shopper = ShopperChat(pipeline, settings, support_log, index_version)
    ui_language = checked_language(settings.ui_language) if settings.ui_language else ""
    texts = page_texts(settings.store_name, ui_language)
    limit = settings.max_question_chars

    def language(message: str, request: gr.Request | None) -> str:
        return shopper_language(message, accepted_languages(request), ui_language)

    def rate_answer(session: ChatSession, data: gr.LikeData) -> tuple[Any, Any]:
        turn, rating = liked_turn(session, data.index), thumbs(data.liked)
        if support_log is None or turn is None or rating is None:
            return gr.update(visible=False), gr.update()
        comment = data.liked if isinstance(data.liked, str) else ""  # a custom option's text
        try:
            support_log.record_feedback(turn, rating, comment)
        except ChatbotError as error:
            raise gr.Error(str(error)) from error
        session.disliked = turn if rating == "down" else None
        return gr.update(visible=rating == "down"), gr.update(value="")

    def send_comment(comment: str, session: ChatSession, request: gr.Request) -> tuple[Any, Any]:
        if support_log is not None and session.disliked is not None and comment.strip():
            try:
                support_log.record_feedback(session.disliked, "down", comment)
            except ChatbotError as error:
                raise gr.Error(str(error)) from error
            gr.Info(said("thanks", language(comment, request)))
        session.disliked = None
        return gr.update(visible=False), gr.update(value="")

    def send_message(message: str, session: ChatSession, request: gr.Request) -> str:
        # A refused message raises before the box is emptied, so the shopper keeps what they typed.
        note_client(session, request)
        try:
            waits = shopper.send(message, session)
        except ChatbotError as error:
            raise shown_error(error, message, language(message, request), limit) from error
        if waits:
            gr.Info(said("waiting", language(message, request)))
        return ""

    def ask_for_person(session: ChatSession, request: gr.Request) -> None:
        spoken = language("", request)
        if shopper.send(said("human_request", spoken), session):
            gr.Info(said("waiting", spoken))

    def answer_waiting(history: list[dict], session: ChatSession, request: gr.Request) -> Iterator[tuple[Any, Any]]:
        answered = False
        try:
            for shown, answer in shopper.answer_waiting(history, session):
                answered = True
                yield shown, gr.update(visible=offers_person(answer))
        except ChatbotError as error:
            raise shown_error(error, language=language("", request), limit=limit) from error
        if not answered:  # another call answers the waiting messages; nothing here changes
            yield gr.skip(), gr.skip()

    def respond(message: str, history: list[dict], session: ChatSession, request: gr.Request) -> Iterator[list[dict]]:
        note_client(session, request)
        try:
            for shown, _ in shopper.answer(message, shopper.clock(), history, session):
                yield shown
        except ChatbotError as error:
            raise shown_error(error, message, language(message, request), limit) from error

    def new_conversation(session: ChatSession) -> Any:
        session.conversation_id, session.answers, session.disliked = None, {}, None
        return gr.update(visible=False)

    with gr.Blocks(title=named("{store} help", settings.store_name)) as demo:
        gr.Markdown(texts("heading"))
        chat = gr.Chatbot(label=texts("chat"), height=460, placeholder=str(texts("chat_placeholder")))
        offer = gr.Button(texts("offer"), variant="primary", visible=False)  # shown while the bot offers a person
        with gr.Row():
            box = gr.Textbox(show_label=False, placeholder=texts("box"), scale=5, max_lines=6, autofocus=True)
            send = gr.Button(texts("send"), variant="primary", scale=1)
        with gr.Row():
            person = gr.Button(texts("person"), size="sm")
            clear = gr.ClearButton([chat, box], value=str(texts("new")), size="sm")
        with gr.Row(visible=False) as comment_row:
            comment = gr.Textbox(show_label=False, placeholder=texts("comment"), scale=5)
            send_comment_button = gr.Button(texts("send_comment"), size="sm", scale=1)
        # Questions the pages can answer, so in the pages' language.
        gr.Examples(EXAMPLES["zh" if pipeline.pages_languages() == {"zh"} else "en"], inputs=box, label=texts("examples"))
        session = gr.State(ChatSession())  # kept on the server, per browser session

        # Each message joins the session's outbox; the answering step that follows runs once
        # more after the one in progress ("always_last"), so a message sent meanwhile is
        # answered by one or the other, never dropped.
        for sent in (gr.on([box.submit, send.click], send_message, [box, session], [box], api_visibility="private"),
                     gr.on([person.click, offer.click], ask_for_person, [session], None, api_visibility="private")):
            sent.success(answer_waiting, [chat, session], [chat, offer], trigger_mode="always_last",
                         api_visibility="private")
        gr.on([], respond, [box, chat, session], [chat], api_name="chat")  # for API clients, not the page
        clear.click(new_conversation, [session], [offer], api_visibility="private")
        if support_log is not None:
            chat.like(rate_answer, [session], [comment_row, comment], api_visibility="private")
            send_comment_button.click(send_comment, [comment, session], [comment_row, comment], api_visibility="private")
            comment.submit(send_comment, [comment, session], [comment_row, comment], api_visibility="private")
    return demo

"""The shopper chat (Gradio): answers streamed and cited, their sources shown, thumbs up or down,
and a way to reach a person. server.py mounts it at / beside the staff's panel."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gradio as gr

from chatbot.answer.pipeline import Pipeline
from chatbot.errors import ChatbotError, SupportLogError
from chatbot.orders.chat import OrderSession
from chatbot.settings import Settings
from chatbot.values import Answer

if TYPE_CHECKING:
    from chatbot.support.log import SupportLog

log = logging.getLogger(__name__)

EXAMPLES = [
    "How many days do I have to return an item?",
    "How much is delivery in the UK?",
    "Do you ship to Canada?",
    "My payment was declined, what should I do?",
    "Can I cancel my order?",
]
HUMAN_REQUEST = "I'd like to talk to a person, please."
SOURCES_TITLE = "Sources"


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
    """The bot's reply, its sources box, and (when escalated) the offer of a person."""
    reply: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.escalate and answer.reason != "user_asked_for_human":
        reply["options"] = [{"label": "Talk to a person", "value": HUMAN_REQUEST}]
    messages = [reply]
    if answer.sources:
        messages.append({
            "role": "assistant",
            "content": sources_markdown(answer),
            "metadata": {"title": f"{SOURCES_TITLE} ({len(answer.sources)})"},
        })
    return messages


@dataclass
class ChatSession:
    """One browser session: its order checks (kept across "New conversation", so the attempt
    limit holds) and the conversation being written to the support log."""

    orders: OrderSession = field(default_factory=OrderSession)
    conversation_id: str | None = None
    answers: dict[int, int] = field(default_factory=dict)  # chat message index -> logged turn id
    disliked: int | None = None  # the turn a comment box below the chat is asking about


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


def build_app(
    pipeline: Pipeline, settings: Settings, support_log: SupportLog | None = None, index_version: str = ""
) -> gr.Blocks:
    """The shopper chat. The pipeline does all the work; this only shows it. With `support_log`,
    each question and answer is logged (redacted) with the model and `index_version`, shoppers can
    rate answers, and escalated conversations join the staff queue."""

    def record(session: ChatSession, message: str, answer: Answer, position: int) -> None:
        if support_log is None:
            return
        try:
            session.conversation_id = session.conversation_id or support_log.new_conversation()
            turn = support_log.record_turn(session.conversation_id, message, answer, settings.model, index_version)
        except SupportLogError as error:  # the shopper still gets the answer; the operator sees why
            log.error("Not logged: %s", error)
            return
        session.answers |= {position: turn, position + 1: turn}  # the reply and its sources box

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

    def send_comment(comment: str, session: ChatSession) -> tuple[Any, Any]:
        if support_log is not None and session.disliked is not None and comment.strip():
            try:
                support_log.record_feedback(session.disliked, "down", comment)
            except ChatbotError as error:
                raise gr.Error(str(error)) from error
            gr.Info("Thank you, your comment was saved.")
        session.disliked = None
        return gr.update(visible=False), gr.update(value="")

    def respond(message: str, history: list[dict], session: ChatSession) -> Iterator[list[dict]]:
        try:  # an empty or oversized message raises here, before the message is shown
            answering = pipeline.stream(message, conversation(history), session.orders)
        except ChatbotError as error:
            raise gr.Error(str(error)) from error
        history = [*history, {"role": "user", "content": message.strip()}]
        yield history  # the shopper's message shows while the answer is written and checked
        partial = ""
        try:
            for item in answering:
                if isinstance(item, Answer):
                    record(session, message.strip(), item, len(history))
                    yield [*history, *answer_messages(item)]
                    return
                partial += item
                yield [*history, {"role": "assistant", "content": partial}]
        except ChatbotError as error:
            raise gr.Error(str(error)) from error

    def take_message(message: str) -> tuple[str, str]:
        # Empty the box at once; the answer streams into the chat alone, so typing the next
        # question is never overwritten by a streamed update.
        return "", message

    def ask_for_person(history: list[dict], session: ChatSession) -> Iterator[list[dict]]:
        yield from respond(HUMAN_REQUEST, history, session)

    def choose_option(history: list[dict], session: ChatSession, selection: gr.SelectData) -> Iterator[list[dict]]:
        yield from respond(str(selection.value), history, session)

    def new_conversation(session: ChatSession) -> None:
        session.conversation_id, session.answers, session.disliked = None, {}, None

    with gr.Blocks(title=f"{settings.store_name} help") as demo:
        gr.Markdown(f"## {settings.store_name} customer help\nAnswers come from our store policies, with their sources.")
        chat = gr.Chatbot(label="Chat", height=460, placeholder="Ask about returns, delivery, payments or your account.")
        with gr.Row():
            box = gr.Textbox(show_label=False, placeholder="Type your question…", scale=5, max_lines=6, autofocus=True)
            send = gr.Button("Send", variant="primary", scale=1)
        with gr.Row():
            person = gr.Button("Talk to a person", size="sm")
            clear = gr.ClearButton([chat, box], value="New conversation", size="sm")
        with gr.Row(visible=False) as comment_row:
            comment = gr.Textbox(show_label=False, placeholder="What was wrong with this answer? (optional)", scale=5)
            send_comment_button = gr.Button("Send comment", size="sm", scale=1)
        gr.Examples(EXAMPLES, inputs=box, label="Try asking")
        question = gr.Textbox(visible=False)
        session = gr.State(ChatSession())  # kept on the server, per browser session

        box.submit(take_message, [box], [box, question], api_visibility="private").then(
            respond, [question, chat, session], [chat], api_name="chat"
        )
        send.click(take_message, [box], [box, question], api_visibility="private").then(
            respond, [question, chat, session], [chat], api_visibility="private"
        )
        person.click(ask_for_person, [chat, session], [chat], api_visibility="private")
        chat.option_select(choose_option, [chat, session], [chat], api_visibility="private")
        clear.click(new_conversation, [session], None, api_visibility="private")
        if support_log is not None:
            chat.like(rate_answer, [session], [comment_row, comment], api_visibility="private")
            send_comment_button.click(send_comment, [comment, session], [comment_row, comment], api_visibility="private")
            comment.submit(send_comment, [comment, session], [comment_row, comment], api_visibility="private")
    return demo

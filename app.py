"""The shopper chat in the browser (Gradio): streamed, cited answers and a way to reach a person.

Run `python app.py [--host HOST] [--port PORT] [--settings FILE]`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from chatbot.errors import ChatbotError
from chatbot.order_chat import OrderSession
from chatbot.pipeline import Pipeline, clean_question
from chatbot.settings import Settings, load_settings
from chatbot.values import Answer

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


def build_app(pipeline: Pipeline, settings: Settings) -> gr.Blocks:
    """The shopper chat. The pipeline does all the work; this only shows it."""

    def respond(message: str, history: list[dict], session: OrderSession) -> Iterator[list[dict]]:
        try:
            clean_question(message, settings.max_question_chars)  # empty or oversized: say so at once
        except ChatbotError as error:
            raise gr.Error(str(error)) from error
        history = [*history, {"role": "user", "content": message.strip()}]
        yield history  # the shopper's message shows while the answer is written and checked
        partial = ""
        try:
            for item in pipeline.stream(message, conversation(history[:-1]), session):
                if isinstance(item, Answer):
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

    def ask_for_person(history: list[dict], session: OrderSession) -> Iterator[list[dict]]:
        yield from respond(HUMAN_REQUEST, history, session)

    def choose_option(history: list[dict], session: OrderSession, selection: gr.SelectData) -> Iterator[list[dict]]:
        yield from respond(str(selection.value), history, session)

    with gr.Blocks(title=f"{settings.store_name} help") as demo:
        gr.Markdown(f"## {settings.store_name} customer help\nAnswers come from our store policies, with their sources.")
        chat = gr.Chatbot(label="Chat", height=460, placeholder="Ask about returns, delivery, payments or your account.")
        with gr.Row():
            box = gr.Textbox(show_label=False, placeholder="Type your question…", scale=5, max_lines=6, autofocus=True)
            send = gr.Button("Send", variant="primary", scale=1)
        with gr.Row():
            person = gr.Button("Talk to a person", size="sm")
            gr.ClearButton([chat, box], value="New conversation", size="sm")
        gr.Examples(EXAMPLES, inputs=box, label="Try asking")
        question = gr.Textbox(visible=False)
        # This browser session's order checks (orders it proved are its own, failed attempts); kept
        # on the server, and not reset by "New conversation", so the attempt limit holds.
        session = gr.State(OrderSession())

        box.submit(take_message, [box], [box, question], api_visibility="private").then(
            respond, [question, chat, session], [chat], api_name="chat"
        )
        send.click(take_message, [box], [box, question], api_visibility="private").then(
            respond, [question, chat, session], [chat], api_visibility="private"
        )
        person.click(ask_for_person, [chat, session], [chat], api_visibility="private")
        chat.option_select(choose_option, [chat, session], [chat], api_visibility="private")
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="Address to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, help="Port (default 7860).")
    parser.add_argument("--settings", help="TOML settings file.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss.loader", "httpx"):  # library chatter, not the app's
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from chatbot.redaction import redact_logs

    redact_logs()

    from chatbot.service import create_pipeline

    settings = load_settings(args.settings, host=args.host, port=args.port)
    try:
        pipeline = create_pipeline(settings, build_if_missing=True, with_orders=True)
    except ChatbotError as error:
        raise SystemExit(f"Error: {error}") from error
    build_app(pipeline, settings).queue(default_concurrency_limit=1).launch(
        server_name=settings.host, server_port=settings.port
    )


if __name__ == "__main__":
    main()

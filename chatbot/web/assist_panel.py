"""The agent-assist panel for support staff (Gradio), served behind a login beside the shopper chat.

A customer's message (pasted, or an escalated chat from the queue) in; the passages that matter,
a checked draft reply to edit, the order it names and the next action out. The desk
(chatbot/support/assist.py) does the work; this only shows it.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from chatbot.errors import ChatbotError
from chatbot.knowledge.embedding import Embedder
from chatbot.orders.store import OrderRecord
from chatbot.support.assist import AssistDesk, Draft, highlight
from chatbot.support.log import QueuedConversation
from chatbot.values import Answer, Passage
from chatbot.web.dashboard import add_dashboard
from chatbot.web.texts import PANEL, named, page_texts

NO_CONVERSATION = "Pasted message (not from the queue)."


def passages_html(passages: Sequence[Passage], query: str) -> str:
    """The ranked passages with their scores, the words they share with the query marked."""
    if not passages:
        return "<p>No passage found.</p>"
    items = []
    for rank, passage in enumerate(passages, 1):
        marked = "".join(f"<mark>{html.escape(text)}</mark>" if hit else html.escape(text)
                         for text, hit in highlight(passage.text, query))
        where = " › ".join(html.escape(h) for h in dict.fromkeys((passage.title, *passage.headings)))
        items.append(
            f'<div class="passage"><p><b>{rank}. {where}</b> <code>similarity {passage.score:.3f}</code> '
            f"<small>{html.escape(passage.source)}</small></p><p>{marked}</p></div>"
        )
    return "\n".join(items)


def cited_markdown(answer: Answer) -> str:
    if not answer.sources:
        return "_The draft cites no passage._"
    return "\n".join(f"- **[{n}] {p.title}**" + (f" › {' › '.join(p.headings)}" if p.headings else "")
                     for n, p in enumerate(answer.sources, 1))


def dropped_markdown(answer: Answer) -> str:
    """The sentences the grounding check removed from the draft, each with why."""
    if not answer.dropped:
        return "_Nothing was removed: every sentence the model wrote is supported by its sources._"
    return "\n".join(f"- ~~{sentence.strip()}~~  \n  _{reason}_" for sentence, reason in answer.dropped)


def order_markdown(draft: Draft) -> str:
    if draft.order is not None:
        return order_card(draft.order)
    if draft.order_number:
        return f"**Order {draft.order_number}** is not in the order store."
    return "_No order number in the message._"


def order_card(order: OrderRecord) -> str:
    """The order's record as staff see it (no identity check), with its status history."""
    facts = "  \n".join(html.escape(line) for line in order.as_text().splitlines())
    history = "  \n".join(f"{event.at:%d %b %Y %H:%M} · {event.status.replace('_', ' ')}" for event in order.history)
    return f"### {order.title}\n{facts}\n\n**History**  \n{history}"


def action_markdown(draft: Draft) -> str:
    lines = [f"### Next: {draft.next_action.label}", draft.next_action.reason]
    if draft.triage is not None:
        t = draft.triage
        lines.append(f"Intent **{t.intent.replace('_', ' ')}** · sentiment **{t.sentiment}** · urgency **{t.urgency}** · "
                     f"language **{t.language}**")
    lines.append(f"Bot's outcome: `{draft.answer.reason}`, confidence {draft.answer.confidence:.2f}")
    return "\n\n".join(lines)


def transcript_markdown(question: str, history: Sequence[dict[str, str]], reason: str) -> str:
    turns = [f"**{'Shopper' if m['role'] == 'user' else 'Bot'}:** {m['content']}" for m in history]
    return "\n\n".join([f"Escalated: `{reason}`", *turns, f"**Shopper (to answer):** {question}"])


def queue_choices(queue: Sequence[QueuedConversation]) -> list[tuple[str, str]]:
    """Each waiting conversation as (label, id): when it was escalated, why, and the question that
    was escalated, in full; and how many questions the shopper asked after it, when they did (those
    were answered, so they are not the reason it waits)."""
    choices = []
    for waiting in queue:
        escalated = waiting.escalated_turn
        if escalated is None:  # queued with no escalated turn left: show what there is
            label = f"{waiting.updated_at:%d %b %H:%M} · {waiting.reason} · {waiting.last_question}"
        else:
            later = waiting.asked_since_escalation
            after = f" (then {later} more question{'s' if later != 1 else ''})" if later else ""
            label = f"{escalated.created_at:%d %b %H:%M} · {waiting.reason} · {escalated.question}{after}"
        choices.append((label, waiting.id))
    return choices


def _user(request: gr.Request | None) -> str:
    return getattr(request, "username", None) or "staff"


def _errors_shown(handler: Callable[..., Any]) -> Callable[..., Any]:
    """The handler, with a ChatbotError shown to the agent as a message instead of a crash."""

    @functools.wraps(handler)  # Gradio reads the handler's signature (gr.Request, gr.Progress) through this
    def shown(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except ChatbotError as error:
            raise gr.Error(str(error)) from error

    return shown


def build_panel(desk: AssistDesk, store_name: str, embedder: Embedder | None = None, retention_days: int = 0) -> gr.Blocks:
    """The staff panel; serve it only behind a login (app.py mounts it with the staff accounts).
    With the support log on it has the dashboard too (`embedder` groups unanswered questions)."""

    @_errors_shown
    def write_draft(message: str, linked: dict | None, request: gr.Request, regenerate: bool = False) -> tuple:
        linked = linked or {}
        draft = desk.draft(message, _user(request), linked.get("history", ()), linked.get("id"), regenerate)
        remembered = {"id": draft.id, "text": draft.answer.text}
        return (draft.answer.text, cited_markdown(draft.answer), dropped_markdown(draft.answer), order_markdown(draft),
                action_markdown(draft), passages_html(draft.passages, draft.message), remembered, "")

    def regenerate(message: str, linked: dict | None, request: gr.Request) -> tuple:
        return write_draft(message, linked, request, regenerate=True)

    def rater(rating: str) -> Callable[..., str]:
        @_errors_shown
        def rate(reply: str, drafted: dict | None) -> str:
            drafted = drafted or {}
            chosen = rating
            if rating == "good" and drafted.get("text") is not None and reply.strip() != drafted["text"].strip():
                chosen = "edited"  # sent, but not as drafted
            record = desk.rate(drafted.get("id"), chosen, reply if chosen == "edited" else "")
            return f"Saved: draft {record.id} marked **{record.rating}**."

        rate.__name__ = f"rate_{rating}"
        return rate

    @_errors_shown
    def refresh_queue() -> gr.Radio:
        choices = queue_choices(desk.queue())
        return gr.Radio(choices=choices, value=None, label=f"Escalated chats waiting for a person ({len(choices)})")

    @_errors_shown
    def open_conversation(conversation_id: str | None) -> tuple[str, dict | None, str]:
        if not conversation_id:
            raise gr.Error("Pick a conversation from the queue first.")
        question, history, reason = desk.conversation(conversation_id)
        return question, {"id": conversation_id, "history": history}, transcript_markdown(question, history, reason)

    def unlink() -> tuple[None, str]:
        return None, NO_CONVERSATION

    @_errors_shown
    def search(query: str) -> str:
        return passages_html(desk.search(query), query)

    def knowledge_base_markdown() -> str:
        kb = desk.knowledge_base
        notes = "".join(f"\n- skipped {line}" for line in kb.skipped)
        return f"In use: **{kb.folder}** ({kb.passages} passages).{notes}"

    @_errors_shown
    def load_folder(folder: str, progress: gr.Progress = gr.Progress()) -> str:
        progress(0, desc="Reading the folder")

        def embedded(done: int, total: int) -> None:
            progress(done / total, desc=f"Embedding passages {done}/{total}")

        kb = desk.use_knowledge_base(folder, embedded)
        return f"Indexed {kb.passages} passages ({kb.embedded} embedded, the rest unchanged).\n\n" + knowledge_base_markdown()

    texts = page_texts(store_name, texts=PANEL)
    with gr.Blocks(title=named("{store} agent assist", store_name)) as panel:
        gr.Markdown(texts("heading"))
        linked = gr.State(None)  # the queued conversation being answered: {"id", "history"}
        drafted = gr.State(None)  # the draft shown: {"id", "text"}, for feedback
        with gr.Tab(texts("draft_tab")):
            with gr.Row():
                with gr.Column(scale=4):
                    # A list, not a dropdown: each entry's question is shown whole, wrapped.
                    queue = gr.Radio(label=texts("queue"), choices=[])
                    with gr.Row():
                        refresh = gr.Button(texts("refresh"), size="sm")
                        open_button = gr.Button(texts("open"), size="sm")
                    transcript = gr.Markdown(NO_CONVERSATION)
                    message = gr.Textbox(label=texts("message"), lines=8, max_lines=20)
                    draft_button = gr.Button(texts("draft"), variant="primary")
                    order = gr.Markdown(label="Order")
                    action = gr.Markdown()
                with gr.Column(scale=5):
                    reply = gr.Textbox(label=texts("reply"), lines=8, max_lines=20,
                                       interactive=True, buttons=["copy"])
                    with gr.Row():
                        good = gr.Button(texts("sent"), size="sm")
                        edited = gr.Button(texts("edited"), size="sm")
                        bad = gr.Button(texts("unusable"), size="sm")
                        again = gr.Button(texts("regenerate"), size="sm")
                    saved = gr.Markdown()
                    cited = gr.Markdown()
                    gr.Markdown(texts("removed"))
                    dropped = gr.Markdown()
                with gr.Column(scale=5):
                    gr.Markdown(texts("passages"))
                    passages = gr.HTML()
        with gr.Tab(texts("search_tab")):
            query = gr.Textbox(label=texts("search"), placeholder=texts("search_placeholder"))
            search_button = gr.Button(texts("search"))
            results = gr.HTML()
        with gr.Tab(texts("kb_tab")):
            current = gr.Markdown()
            folder = gr.Textbox(label=texts("folder"), placeholder=texts("folder_placeholder"))
            load_button = gr.Button(texts("load"), variant="primary")
            loaded = gr.Markdown()
        if desk.log is not None:
            with gr.Tab(texts("dashboard_tab")) as dashboard_tab:
                add_dashboard(dashboard_tab, desk.log, embedder, retention_days)

        outputs = [reply, cited, dropped, order, action, passages, drafted, saved]
        draft_button.click(write_draft, [message, linked], outputs, api_name="draft")
        message.submit(write_draft, [message, linked], outputs, api_visibility="private")
        again.click(regenerate, [message, linked], outputs, api_name="regenerate")
        message.input(unlink, None, [linked, transcript], api_visibility="private")
        for button, rating in ((good, "good"), (edited, "edited"), (bad, "bad")):
            button.click(rater(rating), [reply, drafted], [saved], api_name=f"rate_{rating}")
        refresh.click(refresh_queue, None, [queue], api_name="queue")
        open_button.click(open_conversation, [queue], [message, linked, transcript], api_name="open_conversation")
        search_button.click(search, [query], [results], api_name="search")
        query.submit(search, [query], [results], api_visibility="private")
        load_button.click(load_folder, [folder], [loaded], api_name="load_knowledge_base").then(
            knowledge_base_markdown, None, [current], api_visibility="private")
        panel.load(refresh_queue, None, [queue], api_visibility="private")
        panel.load(knowledge_base_markdown, None, [current], api_visibility="private")
    return panel

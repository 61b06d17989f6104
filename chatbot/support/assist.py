"""The agent-assist desk behind the staff panel: from a customer's message to the passages that
matter, a checked draft reply, the order it names and what to do next, and the agents' feedback.

Everything here is the same pipeline the shopper chat and batch use; the panel (web/assist_panel.py)
only shows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatbot.answer.guardrails import REASON_OFF_TOPIC, REASON_SENSITIVE
from chatbot.answer.pipeline import Pipeline
from chatbot.errors import ChatbotError, QuestionError
from chatbot.knowledge.index import Progress
from chatbot.llm.base import Message
from chatbot.orders.chat import about_an_order, latest_found, order_numbers
from chatbot.support.triage import TicketTriage, Triage
from chatbot.text.words import content_words
from chatbot.values import Answer, Passage

if TYPE_CHECKING:  # SQLAlchemy is imported only when a database is opened
    from chatbot.orders.store import OrderRecord, OrderStore
    from chatbot.support.log import DraftRecord, QueuedConversation, SupportLog

ANSWER = "answer"
ASK_FOR_ORDER_NUMBER = "ask_for_order_number"
ESCALATE = "escalate_to_specialist"
ACTION_WORDS = {ANSWER: "Answer", ASK_FOR_ORDER_NUMBER: "Ask for the order number", ESCALATE: "Escalate to a specialist"}

# Where the newest message of a pasted email thread ends: the quoted earlier messages start.
_QUOTE_START = re.compile(
    r"^\s*(On\b.{0,200}\bwrote:\s*$|-{2,}\s*Original Message\s*-{2,}|From:\s.+|_{5,}\s*$|Sent from my\b)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class NextAction:
    action: str  # ANSWER, ASK_FOR_ORDER_NUMBER or ESCALATE
    reason: str

    @property
    def label(self) -> str:
        return ACTION_WORDS[self.action]


@dataclass(frozen=True)
class Draft:
    """What the panel shows for one customer message."""

    message: str  # the customer's newest message, which the draft answers
    passages: tuple[Passage, ...]  # ranked, with their retrieval scores
    answer: Answer  # the checked draft: text, cited sources, dropped sentences with reasons
    next_action: NextAction
    order: OrderRecord | None = None
    order_number: str = ""
    triage: Triage | None = None
    id: int | None = None  # in the support log, for the agent's feedback


@dataclass(frozen=True)
class KnowledgeBaseInUse:
    folder: Path
    passages: int
    embedded: int = 0
    skipped: tuple[str, ...] = ()  # "file: why" for files that could not be read


# Builds (or reuses) the index of a knowledge-base folder: (folder, progress(done, total)) ->
# the pipeline over it and what was indexed. The service layer supplies it.
OpenKnowledgeBase = Callable[[Path, Progress | None], tuple[Pipeline, KnowledgeBaseInUse]]


def latest_message(thread: str) -> str:
    """The newest message of a pasted email thread: lines quoted with '>' and everything from the
    first quoted earlier message ("On Mon, ... wrote:", "From: ...", "-----Original Message-----")
    are left out. A thread that starts with a quote is read whole.

    >>> latest_message("Still nothing!\\n\\nOn Mon, 3 Nov 2026, Maple & Moss wrote:\\n> Your parcel is on its way.")
    'Still nothing!'
    """
    start = _QUOTE_START.search(thread)
    newest = thread[: start.start()] if start and thread[: start.start()].strip() else thread
    lines = [line for line in newest.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip() or thread.strip()


def highlight(text: str, query: str) -> list[tuple[str, bool]]:
    """The text in pieces, each flagged when it is a word the query shares (compared as the
    grounding check compares words: stemmed, without stopwords, numbers in one spelling).

    >>> highlight("Refunds take 5 days.", "how long does my refund take")
    [('Refunds take', True), (' 5 days.', False)]
    """
    wanted = content_words(query)
    words = [piece for piece in re.split(r"(\w+(?:[.,:]\d+)*)", text) if piece]
    flags = [bool(p[0].isalnum() and content_words(p) and content_words(p) <= wanted) for p in words]
    for i in range(1, len(words) - 1):  # "sale items": one mark, not two
        flags[i] = flags[i] or (words[i].isspace() and flags[i - 1] and flags[i + 1])
    pieces: list[tuple[str, bool]] = []
    for piece, matched in zip(words, flags):
        if pieces and pieces[-1][1] == matched:
            pieces[-1] = (pieces[-1][0] + piece, matched)
        else:
            pieces.append((piece, matched))
    return pieces


def next_action(message: str, answer: Answer, number: str, order: OrderRecord | None, triage: Triage | None) -> NextAction:
    """What the agent should do, and why, from the draft's outcome and the message."""
    if number and order is None:
        return NextAction(ASK_FOR_ORDER_NUMBER, f"Order {number} is not in the order store: ask the customer to check the number.")
    if triage is not None and triage.payment_dispute:
        return NextAction(ESCALATE, "A disputed payment (charged twice, chargeback, fraud or an unauthorised charge): "
                                    "a person should check the payment records and reply.")
    if answer.reason == REASON_SENSITIVE:
        return NextAction(ESCALATE, "A sensitive request (legal, medical, security, abuse or a payment card): a specialist should reply.")
    if triage is not None and triage.urgency == "high" and triage.sentiment == "negative":
        return NextAction(ESCALATE, f"Urgent and upset ({triage.intent.replace('_', ' ')}): a specialist should reply today.")
    if order is not None:
        return NextAction(ANSWER, f"Order {order.number} is {order.status.replace('_', ' ')}: the draft gives its status from the record.")
    if about_an_order(message):
        return NextAction(ASK_FOR_ORDER_NUMBER, "The customer asks about an order without giving its number.")
    if answer.reason == REASON_OFF_TOPIC:
        return NextAction(ANSWER, "Not about the shop: the draft declines politely.")
    if answer.escalate:
        return NextAction(ESCALATE, "No passage in the knowledge base answers this: a specialist should reply "
                                    "(and the answer may be worth adding to the knowledge base).")
    cited = len(answer.sources)
    return NextAction(ANSWER, f"The draft is supported by {cited} cited passage{'s' if cited != 1 else ''}.")


class AssistDesk:
    """Drafts replies for staff on the pipeline, over the shop's order store and support log."""

    def __init__(
        self,
        pipeline: Pipeline,
        knowledge_base: KnowledgeBaseInUse,
        orders: OrderStore | None = None,
        log: SupportLog | None = None,
        triage: TicketTriage | None = None,
        open_knowledge_base: OpenKnowledgeBase | None = None,
        passages: int = 6,
        regenerate_temperature: float = 0.7,
    ) -> None:
        self.pipeline = pipeline
        self.knowledge_base = knowledge_base
        self.orders = orders
        self.log = log
        self.triage = triage
        self._open_knowledge_base = open_knowledge_base
        self.passages = passages
        self.regenerate_temperature = regenerate_temperature

    def draft(
        self,
        thread: str,
        agent: str,
        history: Sequence[Message] = (),
        conversation_id: str | None = None,
        regenerate: bool = False,
    ) -> Draft:
        """Read a pasted message or email thread (or a queued conversation's last question, with
        its earlier turns as `history`) and draft the reply. With `regenerate` the decoder samples
        another wording. The draft is stored in the support log (redacted) for feedback."""
        message = latest_message(thread or "")
        if not message:
            raise QuestionError("Paste the customer's message first.")
        earlier = [turn["content"] for turn in history if turn.get("role") == "user"]
        number = next(iter(latest_found(order_numbers, message, earlier)), "")
        order = self.orders.find_order(number) if self.orders is not None and number else None
        temperature = self.regenerate_temperature if regenerate else None
        answer = self.pipeline.draft(message, history, order=order, temperature=temperature)
        passages = tuple(self.pipeline.search(message, history, self.passages))
        triage = self.triage.classify([message])[0] if self.triage else None
        action = next_action(message, answer, number if self.orders is not None else "", order, triage)
        draft_id = self.log.record_draft(agent, message, answer, action.action, conversation_id) if self.log else None
        return Draft(message, passages, answer, action, order, number, triage, draft_id)

    def search(self, query: str, k: int | None = None) -> list[Passage]:
        """The knowledge base searched by hand, as the bot searches it."""
        if not query.strip():
            raise QuestionError("Type what to search for.")
        return self.pipeline.search(query.strip(), k=k or self.passages)

    def rate(self, draft_id: int | None, rating: str, final_text: str = "") -> DraftRecord:
        """Store the agent's verdict on a draft (good / bad / edited with the text sent)."""
        if self.log is None:
            raise ChatbotError("Feedback is not stored: the support log is off (set `support_log_url`).")
        if draft_id is None:
            raise ChatbotError("Draft a reply first, then rate it.")
        return self.log.rate_draft(draft_id, rating, final_text)

    def queue(self, limit: int = 50) -> list[QueuedConversation]:
        """Escalated shopper conversations waiting for a person (empty when the log is off)."""
        return self.log.escalation_queue(limit) if self.log else []

    def conversation(self, conversation_id: str) -> tuple[str, list[Message], str]:
        """A queued conversation as (its last question, the turns before it as chat messages, and
        why it was escalated, or "handled" once staff have answered it)."""
        found = self.log.conversation(conversation_id) if self.log else None
        if found is None or not found.turns:
            raise ChatbotError(f"Conversation {conversation_id!r} is not in the support log.")
        history: list[Message] = []
        for turn in found.turns[:-1]:
            history += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer}]
        return found.turns[-1].question, history, "handled" if found.handled else found.reason

    def use_knowledge_base(self, folder: str | Path, progress: Progress | None = None) -> KnowledgeBaseInUse:
        """Index another store's knowledge-base folder (unchanged passages are not embedded
        again) and answer from it from now on."""
        if self._open_knowledge_base is None:
            raise ChatbotError("This panel cannot load other knowledge bases.")
        text = str(folder).strip()
        if not text:  # Path("") would be the server's working folder
            raise ChatbotError("Give the path of a knowledge-base folder on the server.")
        folder = Path(text).expanduser()
        if not folder.is_dir():
            raise ChatbotError(f"No folder {folder}: give the path of a knowledge-base folder on the server.")
        self.pipeline, self.knowledge_base = self._open_knowledge_base(folder.resolve(), progress)
        return self.knowledge_base

"""The agent-assist desk behind the staff panel: from a customer's message to the passages that
matter, a checked draft reply, the order it names and what to do next, and the agents' feedback.

Everything here is the same pipeline the shopper chat and batch use; the panel (web/assist_panel.py)
only shows it. The draft is the pipeline's cited answer to the message's questions between a
greeting and the shop's sign-off (prompts/draft_reply.j2); the customer's own greeting and
signature are never passed on to be imitated. When the knowledge base answers nothing, the draft
says so with the next action (prompts/draft_unanswered.j2) instead of a reply that pretends to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from chatbot.answer.guardrails import REASON_OFF_TOPIC, REASON_SENSITIVE
from chatbot.answer.pipeline import Pipeline
from chatbot.answer.prompts import render_prompt
from chatbot.errors import ChatbotError, QuestionError
from chatbot.knowledge.index import Progress
from chatbot.llm.base import Message
from chatbot.orders.chat import about_an_order, latest_found, order_numbers
from chatbot.support.triage import TicketTriage, Triage
from chatbot.text.words import content_words, passage_sentences
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
# A greeting that opens the message: "Hi Maple & Moss team,", "Hello!", "Dear Sir/Madam,", "Hi,".
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|hiya|dear|greetings|good\s+(?:morning|afternoon|evening))\b"
    r"(?:\s+(?:there|all|team|everyone|folks|guys|the|and|or|&|(?-i:[A-Z][\w'’./-]*)))*"
    # ...ended by punctuation, or straight into the message: "hi whats the fee", "Hey I need help"
    r"(?:\s*(?:[,!:.]+|$)|\s+(?=(?:i|i'\w+|we|my|our|can|could|where|what|whats|how|when|do|does|did|is|are|will|would)\b))",
    re.IGNORECASE,
)
# A person's name as they sign: "Sam", "Sam O'Neill", "Mrs Smith", "Zoë".
_WORD_OF_NAME = r"[A-ZÀ-ÖØ-Þ](?=[^\W\d_]*[a-zß-ÿ])[^\W\d_]+(?:['’-][^\W\d_]+)*"  # not "ASAP"
_NAME = rf"(?-i:(?:(?:Mrs?|Ms|Miss|Mx|Dr)\.?\s+)?{_WORD_OF_NAME}(?:\s+{_WORD_OF_NAME}){{0,2}})"
_NOT_NAMES = {"team", "all", "everyone", "again", "guys", "folks", "you", "much", "so", "lots", "heaps", "regards", "i"}
# A sign-off: "Thanks, Sam", "Many thanks!", "Kind regards,", "Cheers Sam", "Thanks for your help, Sam".
_CLOSING = re.compile(
    r"^\W*(?:(?:many|kind|best|warm|warmest|with)\s+)?(?:thanks|thank\s+you|thx|ta|cheers|regards|best\s+wishes|best|"
    r"all\s+the\s+best|sincerely|yours(?:\s+(?:sincerely|faithfully|truly))?|take\s+care)\b"
    r"(?:\s+(?:so\s+much|very\s+much|a\s+lot|again|in\s+advance|for\s[^,.!?]{1,40}))?\s*[,.!\-–—]*\s*"
    rf"(?:(?P<name>{_NAME})|(?:the\s+)?(?:(?-i:[A-Z]\S*)\s+|&\s+|and\s+)*team|all|everyone)?\s*[.!]*$",
    re.IGNORECASE,
)
_SIGNED = re.compile(rf"^\W*(?P<name>{_NAME})\W*$")  # a name alone on the line after the sign-off
_DASH_SIGNED = re.compile(rf"^\s*[-–—~]+\s*(?P<name>{_NAME})\s*$")  # "- Sam", "—Sam"


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


@dataclass(frozen=True)
class CustomerMessage:
    """A customer's message as the draft reads it: what they ask or say, without their greeting
    and sign-off, and the name they signed with ("" when they did not sign with one)."""

    body: str
    name: str = ""


def read_customer_message(message: str) -> CustomerMessage:
    """The message without its opening greeting and its closing sign-off and signature, and the
    name it is signed with. A name is only taken from a signature (after "Thanks," or "Kind
    regards," or on a "- Sam" line), never guessed from the body.

    >>> read_customer_message("Hi Maple & Moss team,\\nWhere is my refund?\\n\\nKind regards,\\nSam Jones\\n07700 900123")
    CustomerMessage(body='Where is my refund?', name='Sam')
    >>> read_customer_message("hi, can I return a rug? thanks!")
    CustomerMessage(body='can I return a rug?', name='')
    """
    lines = message.strip().splitlines()
    name = ""
    if len(lines) > 1 and (dashed := _DASH_SIGNED.match(lines[-1])):
        name, lines = _first_name(dashed["name"]), lines[:-1]
    pieces = passage_sentences("\n".join(lines))
    if pieces:
        pieces[0] = pieces[0][_opening_greeting_end(pieces[0]):].strip()
        pieces = [piece for piece in pieces if piece]
    for i in range(max(1, len(pieces) - 3), len(pieces)):
        closing, after = _CLOSING.match(pieces[i]), pieces[i + 1:]
        # What follows a sign-off is a signature: the name, a phone number, no more questions.
        if closing is None or len(after) > 2 or any("?" in piece or len(piece.split()) > 6 for piece in after):
            continue
        signed = closing["name"] or ""
        if not signed and after and (alone := _SIGNED.match(after[0])):
            signed = alone["name"]
        name, pieces = _first_name(signed) or name, pieces[:i]
        break
    return CustomerMessage(" ".join(pieces) or message.strip(), name)


def _opening_greeting_end(piece: str) -> int:
    greeting = _GREETING.match(piece)
    return greeting.end() if greeting else 0


def _first_name(signed: str) -> str:
    """How to greet someone who signed `signed`: "Sam Jones" -> "Sam", "Mrs Smith" stays whole."""
    words = signed.split()
    if not words or words[0].lower() in _NOT_NAMES:
        return ""
    return signed if re.match(r"(?:Mrs?|Ms|Miss|Mx|Dr)\.?$", words[0]) else words[0]


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
        return NextAction(ANSWER, "Not about the shop: reply that you can help with the shop's orders, products, "
                                  "delivery and returns.")
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
        """Read a pasted message or email thread (or a queued conversation's escalated question,
        with its earlier turns as `history`) and draft the reply: a greeting (by the name the
        customer signed with), the pipeline's cited answer to what they ask, and the shop's
        sign-off; or, when the knowledge base answers nothing, a note saying so with the next
        action. With `regenerate` the decoder samples another wording. The draft is stored in
        the support log (redacted) for feedback."""
        message = latest_message(thread or "")
        if not message:
            raise QuestionError("Paste the customer's message first.")
        # The greeting and signature are not questions, and a decoder shown them imitates them.
        customer = read_customer_message(message)
        earlier = [turn["content"] for turn in history if turn.get("role") == "user"]
        # Not in the signature: a phone number there ("07700 900123") is no order number.
        number = next(iter(latest_found(order_numbers, customer.body, earlier)), "")
        order = self.orders.find_order(number) if self.orders is not None and number else None
        temperature = self.regenerate_temperature if regenerate else None
        answer = self.pipeline.draft(customer.body, history, order=order, temperature=temperature)
        passages = tuple(self.pipeline.search(customer.body, history, self.passages))
        triage = self.triage.classify([message])[0] if self.triage else None
        action = next_action(customer.body, answer, number if self.orders is not None else "", order, triage)
        # An order the store lacks is not answered by policies about orders in general.
        answered = not answer.escalate and bool(answer.sources) and not (self.orders is not None and number and order is None)
        reply = replace(answer, text=self._reply(answer.text if answered else "", action, customer.name))
        draft_id = self.log.record_draft(agent, message, reply, action.action, conversation_id) if self.log else None
        return Draft(message, passages, reply, action, order, number, triage, draft_id)

    def _reply(self, answer: str, action: NextAction, customer_name: str) -> str:
        """The draft's text: the cited answer between a greeting and the sign-off, or, with no
        answer (escalated, nothing cited, an unknown order), the note that the knowledge base
        does not answer and what to do next."""
        settings = self.pipeline.settings
        values = {"store_name": settings.store_name, "support_contact": settings.support_contact}
        if not answer:
            return render_prompt(settings.prompts_dir, "draft_unanswered", action=action.label, reason=action.reason,
                                 **values)
        return render_prompt(settings.prompts_dir, "draft_reply", customer_name=customer_name, answer=answer, **values)

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
        """A queued conversation as (its escalated question, the turns before it as chat messages,
        and why it was escalated, or "handled" once staff have answered it). The escalated
        question is the one waiting for a person: questions the shopper asked after it were
        answered. A conversation never escalated opens at its last question."""
        found = self.log.conversation(conversation_id) if self.log else None
        if found is None or not found.turns:
            raise ChatbotError(f"Conversation {conversation_id!r} is not in the support log.")
        waiting = len(found.turns) - 1 - found.asked_since_escalation  # the last turn when none escalated
        history: list[Message] = []
        for turn in found.turns[:waiting]:
            history += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer}]
        return found.turns[waiting].question, history, "handled" if found.handled else found.reason

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

"""Order questions in the chat: find the order number and the shopper's proof of identity in the
conversation, check the pair against the order store, and limit failed attempts: per chat session,
and across sessions per order number and per client address, so that opening new sessions does not
buy new guesses.

The check is code, not the model: nothing a shopper writes ("ignore the check", "I am staff")
can show an order without its number and the matching email or postcode."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chatbot.text.redaction import EMAIL, ORDER_REFERENCE, UK_POSTCODE
from chatbot.values import Passage

if TYPE_CHECKING:  # SQLAlchemy is imported only when a store is opened
    from chatbot.orders.store import OrderRecord, OrderStore

# An order reference ("order #A-88", "#10452", "order no. 10452"), or a bare 5-digit number (the
# demo store's numbers), not a price, a time or part of a longer number.
_ORDER_NUMBER = re.compile(rf"{ORDER_REFERENCE.pattern}|(?<![\d£$€.,:/-])\b(\d{{5}})\b(?![.,:/]\d)", re.IGNORECASE)
# What a shopper says when asking where one of their orders is or how it stands (not how a policy
# works: "how do I cancel my order?" is for the knowledge base).
_MINE = r"\b(my|our)\s+(order|parcel|package|delivery|refund|return|stuff|things)\b"
_ABOUT_AN_ORDER = re.compile(
    r"\bwhere('s| is| are)\b.{0,40}\b(order|parcel|package|delivery|refund|stuff|things|items?)\b"
    rf"|\b(status|progress|update)\b.{{0,25}}{_MINE}"
    rf"|\bhas\b.{{0,10}}{_MINE}.{{0,30}}\b(shipped|arrived|gone through|come through|been (sent|dispatched|processed|refunded))\b"
    rf"|{_MINE}.{{0,30}}\b(hasn'?t|has not|not|never|still not)\s+(arrived|come|shipped|turned up|been delivered|been dispatched)\b"
    rf"|\btrack(ing)?\b.{{0,20}}{_MINE}"
    rf"|\b(when|what day)\b.{{0,30}}{_MINE}.{{0,20}}\b(arrive|come|be delivered|ship|be dispatched)"
    # Chinese: "我的订单到哪了", "我的包裹怎么还没到", "我的退款什么时候到账"
    r"|我的?(订单|包裹|快递|货|退款)[^。？?！!]{0,20}(到哪|在哪|什么时候|何时|几时|发货|寄出|还没|没收到|没到|物流|进度|状态|到账)",
    re.IGNORECASE,
)
# Policy words that make an order question a mixed one: "can I still return order 10452?"
_POLICY_PART = re.compile(r"\b(return|refund|exchange|cancel|change|swap|send (it|them) back)\b", re.IGNORECASE)

_TIME_LIMIT = re.compile(r"\b(still|too late|in time|deadline|how long|time limit|how many days)\b", re.IGNORECASE)
# A passage sentence that states a period: "within 30 days", "thirty days", "48 hours".
DURATION = re.compile(r"\b(\d+|one|two|three|seven|fourteen|thirty|sixty)[ -](day|week|hour|month)s?\b", re.IGNORECASE)

# Why an order reply is what it is (Answer.reason), beside the reasons in answer/pipeline.py.
NEEDS_ORDER_NUMBER = "needs_order_number"
NEEDS_IDENTITY = "needs_identity"
ORDER_NOT_FOUND = "order_not_found"
ORDER_LOCKED = "order_locked"
ORDER_FOUND = "order_found"


def order_numbers(text: str) -> list[str]:
    """Order numbers in a message, in order, without "#" and upper-cased.

    >>> order_numbers("Where is order #10452? And order no. A-88, paid £12.50 at 10:45")
    ['10452', 'A-88']
    """
    found = [(m.group(1) or m.group(2)).upper() for m in _ORDER_NUMBER.finditer(text)]
    return list(dict.fromkeys(found))


def identity_claims(text: str) -> list[str]:
    """Emails and UK postcodes a shopper gave, which may prove an order is theirs.

    >>> identity_claims("it's jo.bloggs@example.com, postcode LS1 4AP")
    ['jo.bloggs@example.com', 'LS1 4AP']
    """
    return [m.group() for m in EMAIL.finditer(text)] + [m.group() for m in UK_POSTCODE.finditer(text.upper())]


def about_an_order(text: str) -> bool:
    """Whether a message asks about one order (its own) rather than the store's policy.

    >>> about_an_order("where is my parcel?"), about_an_order("how long do refunds take?")
    (True, False)
    >>> about_an_order("我的包裹怎么还没到？"), about_an_order("退货期限是多少天？"), order_numbers("我的订单MM48213到哪了？")
    (True, False, ['MM48213'])
    """
    return bool(order_numbers(text)) or _ABOUT_AN_ORDER.search(text) is not None


def without_order_details(text: str) -> str:
    """The message without its order numbers, emails and postcodes: the policy question in it.

    >>> without_order_details("Can I still return order #10452? jo@example.com")
    'Can I still return?'
    """
    text = _ORDER_NUMBER.sub(" ", EMAIL.sub(" ", UK_POSTCODE.sub(" ", text)))
    return re.sub(r"\s+([?.!,])", r"\1", " ".join(text.split()))


def asks_for_a_time_limit(text: str) -> bool:
    """Whether the policy part asks about a deadline: "can I still return it?", "is it too late to cancel?"."""
    return _TIME_LIMIT.search(text) is not None


def has_policy_part(text: str) -> bool:
    """Whether an order question also asks what the policy allows ("can I still return it?")."""
    return _POLICY_PART.search(text) is not None


@dataclass
class OrderSession:
    """One chat's order checks: the orders it has proved are its own, its failed attempts, the
    client it comes from (a digest of its address, see `client_key`), and whether it is locked:
    once locked, every message in the chat gets the hand-over reply."""

    verified: dict[str, OrderRecord] = field(default_factory=dict)
    failed: int = 0
    tried: set[tuple[str, str]] = field(default_factory=set)  # (number, proof) pairs that failed
    client: str = ""
    locked: bool = False


def client_key(address: str) -> str:
    """A digest of a client's network address: enough to count its failed checks, not to read it back.

    >>> client_key("203.0.113.7") == client_key("203.0.113.7"), client_key("")
    (True, '')
    """
    return hashlib.sha256(f"order-checks:{address}".encode()).hexdigest()[:32] if address else ""


@dataclass(frozen=True)
class OrderLookup:
    """The outcome of an order question: `reason` (one of the ORDER_* / NEEDS_* codes) and, when
    found, the order."""

    reason: str
    order: OrderRecord | None = None
    number: str = ""


class OrderDesk:
    """Answers "where is my order?" against the order store, after the identity check. A chat
    session is locked after `max_attempts` failed checks; any session is refused an order that
    has had `max_per_order` failed checks, or a client that has failed `max_per_client` times,
    within the last `lockout` (the store keeps the count, so it holds across sessions and restarts)."""

    def __init__(
        self,
        store: OrderStore,
        max_attempts: int = 3,
        max_per_order: int = 5,
        max_per_client: int = 10,
        lockout: timedelta = timedelta(minutes=30),
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.max_per_order = max_per_order
        self.max_per_client = max_per_client
        self.lockout = lockout
        self.clock = clock

    def _over_limit(self, number: str, session: OrderSession) -> bool:
        on_order, from_client = self.store.failed_checks(self.clock() - self.lockout, number, session.client)
        return on_order >= self.max_per_order or (bool(session.client) and from_client >= self.max_per_client)

    def lookup(self, message: str, history: Sequence[dict[str, str]], session: OrderSession) -> OrderLookup | None:
        """None when the message is not about an order. Otherwise the number comes from the
        message or, failing that, the shopper's latest earlier turn that has one; the proof from
        the message or earlier turns. A wrong pair and an unknown order give the same outcome.
        A locked session gets ORDER_LOCKED for every message, about an order or not."""
        if session.locked:
            return OrderLookup(ORDER_LOCKED)
        user_turns = [turn["content"] for turn in history if turn.get("role") == "user"]
        # "jo@example.com" alone is the answer to "which email was the order placed with?"
        answers_a_check = bool(identity_claims(message)) and any(about_an_order(t) for t in user_turns[-3:])
        if not (about_an_order(message) or answers_a_check):
            return None
        numbers = latest_found(order_numbers, message, user_turns)
        if not numbers:
            return OrderLookup(NEEDS_ORDER_NUMBER)
        number = numbers[0]
        if number in session.verified:
            return OrderLookup(ORDER_FOUND, session.verified[number], number)
        claims = latest_found(identity_claims, message, user_turns)
        if not claims:
            return OrderLookup(NEEDS_IDENTITY, number=number)
        if session.failed >= self.max_attempts or self._over_limit(number, session):  # even the right pair now
            session.locked = True
            return OrderLookup(ORDER_LOCKED, number=number)
        order = next((o for o in (self.store.verify(number, claim) for claim in claims) if o is not None), None)
        if order is None:
            fresh = {(number, claim.lower()) for claim in claims} - session.tried
            if fresh:  # the same wrong pair, still in the conversation, is not a new attempt
                session.tried |= fresh
                session.failed += 1
                self.store.record_failed_check(number, session.client, self.clock())
            if session.failed >= self.max_attempts or self._over_limit(number, session):
                session.locked = True
                return OrderLookup(ORDER_LOCKED, number=number)
            return OrderLookup(ORDER_NOT_FOUND, number=number)
        session.verified[number] = order
        return OrderLookup(ORDER_FOUND, order, number)


def latest_found(find: Callable[[str], list[str]], message: str, earlier: Sequence[str]) -> list[str]:
    """What `find` finds in the message, else in the latest earlier turn where it finds anything."""
    return next((found for text in (message, *reversed(earlier)) if (found := find(text))), [])


def order_passage(order: OrderRecord, language: str = "") -> Passage:
    """The order's record as a source: cited like a passage, and the evidence its answer is
    checked against; its facts in Chinese for `language` "zh"."""
    if language == "zh":
        text = "\n".join(f"{label}：{value}" for label, value in order.facts(language))
        return Passage(order.source_id, order.source_id, f"订单 {order.number}", text, "orders", score=1.0)
    return Passage(order.source_id, order.source_id, order.title, order.as_text(), "orders", score=1.0)


def order_facts(order: OrderRecord, language: str = "") -> dict[str, str]:
    """The record's facts by label (the template's input), in Chinese for `language` "zh"; items are left out.

    >>> from chatbot.orders.store import OrderRecord
    >>> from datetime import datetime
    >>> from decimal import Decimal
    >>> cancelled = OrderRecord("10452", "cancelled", datetime(2026, 11, 2), Decimal("10"), "GBP", (), ())
    >>> order_facts(cancelled)["Status"], order_facts(cancelled, "zh")["状态"]
    ('Cancelled', '已取消')
    """
    return {label: value for label, value in order.facts(language) if label not in ("Item", "商品")}


def shift_citations(text: str, by: int) -> str:
    """Citation markers renumbered, for an answer placed after `by` other sources.

    >>> shift_citations("Within 30 days [1]. Sale items [1, 2].", 1)
    'Within 30 days [2]. Sale items [2, 3].'
    """
    return re.sub(r"\[([\d,\s]+)\]", lambda m: "[" + ", ".join(str(int(n) + by) for n in m.group(1).split(",")) + "]", text)

"""The orders database (SQLAlchemy, SQLite by default): order lookup, the shopper identity check, demo data."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Numeric,
    Select,
    String,
    func,
    select,
)
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, selectinload, sessionmaker

from chatbot.database import Database, database_message, lock_schema, open_engine
from chatbot.errors import OrderStoreError
from chatbot.orders.wording import IN_TRANSIT, LABELS, STATUS_WORDS, day, item_text, money, refund_text, return_text

ORDER_STATUSES = (
    "placed", "paid", "packed", "shipped", "out_for_delivery", "delivered",
    "delayed", "lost", "cancelled", "return_requested", "refunded",
)
RETURN_STATUSES = ("requested", "received", "rejected")
REFUND_STATUSES = ("pending", "completed")
CARRIERS = ("Royal Mail", "DPD", "Evri")
_ORDER_NUMBER = re.compile(r"(?:order\s*)?(?:no\.?\s*|number\s*)?#?\s*(\d+)", re.IGNORECASE)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})")


class _Base(DeclarativeBase):
    pass


class CustomerRow(_Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    postcode: Mapped[str] = mapped_column(String(10))


class OrderRow(_Base):
    __tablename__ = "orders"
    __table_args__ = (_one_of("status", ORDER_STATUSES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    placed_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    customer: Mapped[CustomerRow] = relationship()
    lines: Mapped[list[OrderLineRow]] = relationship(order_by="OrderLineRow.id")
    shipments: Mapped[list[ShipmentRow]] = relationship(order_by="ShipmentRow.id")
    history: Mapped[list[StatusEventRow]] = relationship(order_by="StatusEventRow.at")
    returns: Mapped[list[ReturnRow]] = relationship(order_by="ReturnRow.requested_at")
    refunds: Mapped[list[RefundRow]] = relationship(order_by="RefundRow.requested_at")


class OrderLineRow(_Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class ShipmentRow(_Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(40))
    tracking_number: Mapped[str] = mapped_column(String(40))
    tracking_url: Mapped[str] = mapped_column(String(300))
    shipped_at: Mapped[datetime] = mapped_column(DateTime)
    estimated_delivery: Mapped[date | None] = mapped_column(Date)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)


class StatusEventRow(_Base):
    __tablename__ = "status_history"
    __table_args__ = (_one_of("status", ORDER_STATUSES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(String(300), default="")


class ReturnRow(_Base):
    __tablename__ = "returns"
    __table_args__ = (_one_of("status", RETURN_STATUSES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(300), default="")


class RefundRow(_Base):
    __tablename__ = "refunds"
    __table_args__ = (_one_of("status", REFUND_STATUSES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class FailedCheckRow(_Base):
    """One failed identity check, for limits that hold across chat sessions: the order number asked
    about (unknown ones too) and a digest of the client's address, never the address itself."""

    __tablename__ = "failed_identity_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True, default="")
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass(frozen=True)
class OrderLine:
    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class StatusEvent:
    status: str
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class ReturnRequest:
    status: str
    requested_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Refund:
    status: str
    amount: Decimal
    requested_at: datetime
    completed_at: datetime | None = None


@dataclass(frozen=True)
class OrderRecord:
    """One order as read from the database: no customer details, and no session behind it.

    Times are naive datetimes in UK time; money is a Decimal in `currency`.

    `shipment`, `return_request` and `refund` are the latest of each (an order may have had several).
    """

    number: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str
    lines: tuple[OrderLine, ...]
    history: tuple[StatusEvent, ...]
    shipment: Shipment | None = None
    return_request: ReturnRequest | None = None
    refund: Refund | None = None

    @property
    def source_id(self) -> str:
        return f"order:{self.number}"

    @property
    def title(self) -> str:
        return f"Order {self.number}"

    def as_text(self) -> str:
        """What a shopper may be told about this order, one fact a line, as evidence for the answer.

        Status notes, return reasons and customer details are left out on purpose.
        """
        return "\n".join(f"{label}: {value}" for label, value in self.facts())

    def facts(self, language: str = "") -> list[tuple[str, str]]:
        """`as_text`'s facts as (label, value) pairs, worded in `language` ("" English, "zh" Chinese)."""
        label, when = LABELS[language], lambda moment: day(moment, language)
        facts = [(label["number"], self.number), (label["status"], STATUS_WORDS[language][self.status]),
                 (label["placed"], when(self.placed_at))]
        facts += [(label["item"], item_text(line.quantity, line.product_name, money(line.unit_price, self.currency), language))
                  for line in self.lines]
        facts.append((label["total"], money(self.total, self.currency)))
        if (shipment := self.shipment) is not None:
            facts += [(label["carrier"], shipment.carrier), (label["tracking_number"], shipment.tracking_number),
                      (label["tracking_link"], shipment.tracking_url), (label["shipped"], when(shipment.shipped_at))]
            if shipment.delivered_at is not None:
                facts.append((label["delivered"], when(shipment.delivered_at)))
            elif shipment.estimated_delivery is not None and self.status in IN_TRANSIT:
                facts.append((label["estimated"], when(shipment.estimated_delivery)))
        if (request := self.return_request) is not None:
            facts.append((label["return"], return_text(request.status, request.requested_at, language)))
        if (refund := self.refund) is not None:
            amount = money(refund.amount, self.currency)
            facts.append((label["refund"], refund_text(amount, refund.completed_at, refund.requested_at, language)))
        return facts


def normalise_order_number(text: str) -> str | None:
    """The digits of an order number as a shopper types it, or None when it is not one.

    >>> [normalise_order_number(t) for t in ("10452", " #10452 ", "Order 10452", "order no. 10452")]
    ['10452', '10452', '10452', '10452']
    >>> normalise_order_number("10452abc") is None
    True
    """
    match = _ORDER_NUMBER.fullmatch(text.strip())
    return match.group(1) if match else None


def _postcode_key(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def _record(row: OrderRow) -> OrderRecord:
    shipment = row.shipments[-1] if row.shipments else None
    request = row.returns[-1] if row.returns else None
    refund = row.refunds[-1] if row.refunds else None
    return OrderRecord(
        number=row.number, status=row.status, placed_at=row.placed_at, total=row.total, currency=row.currency,
        lines=tuple(OrderLine(x.sku, x.product_name, x.quantity, x.unit_price) for x in row.lines),
        history=tuple(StatusEvent(x.status, x.at, x.note) for x in row.history),
        shipment=None if shipment is None else Shipment(
            shipment.carrier, shipment.tracking_number, shipment.tracking_url,
            shipment.shipped_at, shipment.estimated_delivery, shipment.delivered_at,
        ),
        return_request=None if request is None else ReturnRequest(request.status, request.requested_at, request.reason),
        refund=None if refund is None else Refund(refund.status, refund.amount, refund.requested_at, refund.completed_at),
    )


def _order_query() -> Select[Any]:
    relations = (OrderRow.lines, OrderRow.shipments, OrderRow.history, OrderRow.returns, OrderRow.refunds)
    return select(OrderRow).options(*(selectinload(relation) for relation in relations))


def _db_message(url: URL, exc: BaseException) -> str:
    return database_message(url, exc, "orders_url", "orders")


class OrderStore(Database):
    """Orders in a SQL database, read into frozen OrderRecords. Open one with `open_order_store`."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._sessions = sessionmaker(engine)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise OrderStoreError(_db_message(self._engine.url, exc)) from exc

    def is_empty(self) -> bool:
        """True when the database holds no order and no customer (what seed_demo needs)."""
        with self._session() as session:
            return all(session.scalar(select(func.count()).select_from(table)) == 0 for table in (OrderRow, CustomerRow))

    def status_counts(self) -> dict[str, int]:
        """How many orders have each status, every status listed (in ORDER_STATUSES order)."""
        with self._session() as session:
            rows = session.execute(select(OrderRow.status, func.count()).group_by(OrderRow.status))
            found = {status: n for status, n in rows.tuples()}
        return {status: found.get(status, 0) for status in ORDER_STATUSES}

    def list_orders(self, status: str | None = None) -> list[OrderRecord]:
        """Every order (or those with `status`), by order number."""
        query = _order_query().order_by(OrderRow.number)
        with self._session() as session:
            rows = session.scalars(query if status is None else query.where(OrderRow.status == status))
            return [_record(row) for row in rows]

    def find_order(self, number: str) -> OrderRecord | None:
        """The order with this number ("10452", "#10452", "order 10452"), or None. No identity check."""
        digits = normalise_order_number(number)
        if digits is None:
            return None
        with self._session() as session:
            row = session.scalar(_order_query().where(OrderRow.number == digits))
            return None if row is None else _record(row)

    def verify(self, number: str, email_or_postcode: str) -> OrderRecord | None:
        """The order only if `email_or_postcode` is its customer's; the same None for an unknown order.

        The email matches trimmed and case-insensitively, the postcode ignoring case and spaces
        ("ls6 2ab" matches "LS6 2AB").
        """
        digits, given = normalise_order_number(number), email_or_postcode.strip()
        if digits is None or not given:
            return None
        query = _order_query().options(selectinload(OrderRow.customer)).where(OrderRow.number == digits)
        with self._session() as session:
            row = session.scalar(query)
            if row is None:
                return None
            customer = row.customer
            if given.casefold() != customer.email.strip().casefold() and _postcode_key(given) != _postcode_key(
                customer.postcode
            ):
                return None
            return _record(row)

    def record_failed_check(self, number: str, client: str, at: datetime | None = None) -> None:
        """Count a failed identity check on order `number` from `client` (a digest, or "")."""
        key = normalise_order_number(number) or number.strip().upper()[:40]
        with self._session() as session:
            session.add(FailedCheckRow(number=key, client=client[:64], at=at or datetime.now()))

    def failed_checks(self, since: datetime, number: str = "", client: str = "") -> tuple[int, int]:
        """Failed identity checks since `since`: on order `number` (from any session or client), and
        from `client` (on any order); 0 for an empty `number` or `client`."""
        key = normalise_order_number(number) or number.strip().upper()[:40]
        counts = []
        with self._session() as session:
            for column, value in ((FailedCheckRow.number, key), (FailedCheckRow.client, client[:64])):
                query = select(func.count()).select_from(FailedCheckRow).where(column == value, FailedCheckRow.at >= since)
                counts.append(int(session.scalar(query) or 0) if value else 0)
        return counts[0], counts[1]

    def seed_demo(self, count: int = 300, seed: int = 7, today: date | None = None) -> int:
        """Fill an empty store with `count` demo orders over about 0.4 * count customers; returns `count`.

        The same `seed` and `today` give the same shop; every status occurs count // 11 times or more
        (10 or more from 110 orders). Dates are relative to `today` (default: the real today).
        """
        if count < 1:
            raise OrderStoreError(f"Cannot seed {count} demo orders: ask for at least 1.")
        if not self.is_empty():
            raise OrderStoreError("The orders database already holds orders or customers; demo data only goes into an empty "
                                  "one. Point the `orders_url` setting at a new database to try the demo shop.")
        customers, orders = _demo_shop(random.Random(seed), count, today or date.today())
        with self._session() as session:
            session.add_all(customers)
            session.add_all(orders)
        return len(orders)


def open_order_store(url: str) -> OrderStore:
    """Connect to the orders database at `url` and create its tables if missing.

    SQLite by default: `sqlite:///data/orders.db` creates the `data` folder and uses WAL journal mode.
    Any SQLAlchemy URL works with its driver installed, e.g. `postgresql+psycopg://shop@db.example/orders`.
    """
    engine = open_engine(url, "orders_url", OrderStoreError, "orders")
    try:
        with engine.begin() as connection:
            lock_schema(connection, "order store schema")  # two processes opening a new database at once
            _Base.metadata.create_all(connection)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise OrderStoreError(_db_message(engine.url, exc)) from exc
    return OrderStore(engine)


# The demo shop (seed_demo): Maple & Moss products, UK customers at example.com, consistent histories.
_CATALOGUE = (  # sku, product, unit price in GBP
    ("CK-101", "Cast iron skillet, 26 cm", "39.00"), ("CK-102", "Cast iron casserole dish, 24 cm", "79.00"),
    ("CK-103", "Non-stick frying pan, 28 cm", "29.00"), ("CK-104", "Stainless steel saucepan set of 3", "89.00"),
    ("CK-105", "Chef's knife, 20 cm", "45.00"), ("CK-106", "Oak chopping board", "24.00"),
    ("BD-201", "Linen duvet cover, double", "95.00"), ("BD-202", "Cotton percale sheet set, king", "65.00"),
    ("BD-203", "Linen pillowcases, pair", "32.00"), ("BD-204", "Linen cushion cover", "22.00"),
    ("TW-301", "Organic cotton bath towel", "18.00"), ("TW-302", "Organic cotton bath sheet", "28.00"),
    ("TW-303", "Hand towels, set of 2", "16.00"), ("RG-401", "Wool runner rug, 70 x 200 cm", "120.00"),
    ("RG-402", "Jute rug, 160 x 230 cm", "149.00"), ("KN-501", "Merino crew-neck jumper", "69.00"),
    ("KN-502", "Chunky cable-knit cardigan", "85.00"), ("KN-503", "Lambswool scarf", "35.00"),
    ("AP-601", "Organic cotton tee", "20.00"), ("EL-701", "Electric kettle, 1.7 litre", "49.00"),
    ("EL-702", "Two-slice toaster", "45.00"), ("EL-703", "Burr coffee grinder", "59.00"),
)
_FIRST_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Priya", "Aisha", "Chloe", "Sophie", "Niamh",
    "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Arthur", "Mohammed", "Oscar", "Callum", "Rhys", "Tom",
)
_LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Khan", "Patel",
    "Walker", "Wright", "Robinson", "Thompson", "Hughes", "Campbell", "O'Brien", "Murray", "Clarke", "Ahmed",
)
_OUTWARD_CODES = (
    "LS1", "LS6", "LS5", "M14", "M20", "B15", "BS8", "EH3", "EH10", "G12", "CF10", "NE1", "SW1A", "N1", "E8",
    "SE15", "BT7", "OX4", "CB1", "YO1", "NG7", "S10", "L8", "BN1", "PL4", "IV2", "HG1", "SA1",
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters a UK postcode's inward code may use
_HOUR, _DAY = 60, 1440
# How each status came about: the steps after "placed" (a status with two paths picks one).
_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "placed": ((),),
    "paid": (("paid",),),
    "packed": (("paid", "packed"),),
    "shipped": (("paid", "packed", "shipped"),),
    "out_for_delivery": (("paid", "packed", "shipped", "out_for_delivery"),),
    "delivered": (("paid", "packed", "shipped", "out_for_delivery", "delivered"),),
    "delayed": (("paid", "packed", "shipped", "delayed"),),
    "lost": (("paid", "packed", "shipped", "lost"),),
    "cancelled": (("cancelled",), ("paid", "cancelled")),
    "return_requested": (("paid", "packed", "shipped", "out_for_delivery", "delivered", "return_requested"),),
    "refunded": (
        ("paid", "packed", "shipped", "out_for_delivery", "delivered", "return_requested", "refunded"),
        ("paid", "packed", "shipped", "lost", "refunded"),
    ),
}
_GAPS = {  # minutes from the step before, (low, high); out_for_delivery is a morning 1 or 2 days after shipping
    "paid": (1, 30), "packed": (2 * _HOUR, 20 * _HOUR), "shipped": (_HOUR, 6 * _HOUR), "delivered": (_HOUR, 8 * _HOUR),
    "delayed": (2 * _DAY, 4 * _DAY), "lost": (8 * _DAY, 12 * _DAY), "cancelled": (10, _DAY),
    "return_requested": (_DAY, 20 * _DAY), "refunded": (3 * _DAY, 10 * _DAY),
}
_AGE_DAYS = {  # extra whole days between the last step and `today`, (low, high): orders still moving are recent
    "placed": (0, 0), "paid": (0, 0), "packed": (0, 0), "shipped": (0, 1), "out_for_delivery": (0, 0),
    "delivered": (0, 45), "delayed": (0, 1), "lost": (0, 5), "cancelled": (0, 30), "return_requested": (0, 5),
    "refunded": (0, 30),
}
_WEIGHTS = (3, 5, 5, 10, 5, 40, 4, 2, 6, 5, 8)  # for orders beyond 10 of each status, in ORDER_STATUSES order
_RETURN_REASONS = ("Changed my mind", "Does not fit", "Colour not as expected", "Arrived damaged", "Faulty")
_FREE_RETURN_REASONS = ("Arrived damaged", "Faulty")  # no £2.95 label fee taken off the refund
_RETURN_LABEL_FEE = Decimal("2.95")
_DELAY_NOTES = ("Held at the carrier's depot", "Carrier delay in your area", "Delivery attempt failed; rebooked")


def _demo_customers(rng: random.Random, count: int) -> list[CustomerRow]:
    customers: list[CustomerRow] = []
    for index in range(count):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        local = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())
        postcode = f"{rng.choice(_OUTWARD_CODES)} {rng.randint(1, 9)}{''.join(rng.choices(_INWARD_LETTERS, k=2))}"
        customers.append(CustomerRow(name=f"{first} {last}", email=f"{local}{index + 1}@example.com",
                                     postcode=postcode))
    return customers


def _demo_statuses(rng: random.Random, count: int) -> list[str]:
    guaranteed = [ORDER_STATUSES[i % len(ORDER_STATUSES)] for i in range(min(count, 10 * len(ORDER_STATUSES)))]
    statuses = guaranteed + rng.choices(ORDER_STATUSES, weights=_WEIGHTS, k=count - len(guaranteed))
    rng.shuffle(statuses)
    return statuses


def _tracking(rng: random.Random, carrier: str) -> tuple[str, str]:
    if carrier == "Royal Mail":
        number = f"{''.join(rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ', k=2))}{rng.randrange(10**8, 10**9)}GB"
        return number, f"https://www.royalmail.com/track-your-item#/tracking-results/{number}"
    if carrier == "DPD":
        number = str(rng.randrange(10**13, 10**14))
        return number, f"https://track.dpd.co.uk/parcels/{number}"
    number = f"H{rng.randrange(10**14, 10**15)}"
    return number, f"https://www.evri.com/track/parcel/{number}"


def _demo_timeline(rng: random.Random, steps: tuple[str, ...], status: str, now: datetime) -> list[datetime]:
    """Strictly increasing times for `steps`, the last one at or before `now`, at plausible times of day."""
    moment = datetime.combine(now.date(), time(7)) + timedelta(minutes=rng.randint(0, 15 * _HOUR))
    times = [moment]
    for step in steps[1:]:
        if step == "out_for_delivery":  # vans leave the depot in the morning
            day = moment.date() + timedelta(days=rng.randint(1, 2))
            moment = datetime.combine(day, time(6)) + timedelta(minutes=rng.randint(0, 150))
        else:
            moment += timedelta(minutes=rng.randint(*_GAPS[step]))
        times.append(moment)
    # Move the whole story back by whole days, keeping each time of day, so that it ends by `now`.
    last = times[-1]
    days = (last.date() - now.date()).days + (last.time() > now.time()) + rng.randint(*_AGE_DAYS[status])
    return [moment - timedelta(days=days) for moment in times]


def _not_sunday(day: date) -> date:
    return day + timedelta(days=1) if day.weekday() == 6 else day


def _demo_order(rng: random.Random, status: str, customer: CustomerRow, now: datetime) -> OrderRow:
    steps = ("placed", *rng.choice(_PATHS[status]))
    times = dict(zip(steps, _demo_timeline(rng, steps, status, now)))
    placed_at = times["placed"]
    products = rng.sample(_CATALOGUE, k=rng.choice((1, 1, 1, 2, 2, 3)))
    lines = [OrderLineRow(sku=sku, product_name=name, quantity=rng.choice((1, 1, 1, 2)), unit_price=Decimal(price))
             for sku, name, price in products]
    total = sum((line.unit_price * line.quantity for line in lines), Decimal("0.00"))
    order = OrderRow(customer=customer, placed_at=placed_at, status=status, total=total, currency="GBP", lines=lines)
    notes = {"placed": "Order received", "paid": "Payment taken", "packed": "Packed at our Leeds warehouse",
             "cancelled": "Cancelled before dispatch", "refunded": "Refund issued"}
    if "shipped" in times:
        # Rugs are bulky and go by DPD two-person delivery; smaller parcels mostly by Royal Mail (see shipping.md).
        bulky = any(sku.startswith("RG-") for sku, _, _ in products)
        carrier = "DPD" if bulky else rng.choices(CARRIERS, weights=(5, 2, 3))[0]
        number, url = _tracking(rng, carrier)
        if status == "out_for_delivery":
            estimate = now.date()
        elif status in ("shipped", "delayed"):  # a delayed parcel's estimate has been moved on
            estimate = _not_sunday(now.date() + timedelta(days=rng.randint(1, 3 if status == "shipped" else 4)))
        else:
            estimate = _not_sunday(times["shipped"].date() + timedelta(days=rng.randint(2, 3)))
        order.shipments = [ShipmentRow(carrier=carrier, tracking_number=number, tracking_url=url,
                                       shipped_at=times["shipped"], estimated_delivery=estimate,
                                       delivered_at=times.get("delivered"))]
        notes |= {"shipped": f"Handed to {carrier}", "out_for_delivery": f"Out for delivery with {carrier}",
                  "delivered": rng.choice(("Delivered", "Left in the porch", "Left with a neighbour")),
                  "delayed": rng.choice(_DELAY_NOTES), "lost": "No tracking update for 5 business days"}
    reason = rng.choice(_RETURN_REASONS)
    if "return_requested" in times:
        received = status == "refunded" or rng.random() < 0.3
        order.returns = [ReturnRow(status="received" if received else "requested",
                                   requested_at=times["return_requested"], reason=reason)]
        notes["return_requested"] = "Return started"
    refund_at = times.get("refunded") or (times["cancelled"] if "cancelled" in times and "paid" in times else None)
    if refund_at is not None:
        fee = _RETURN_LABEL_FEE if "return_requested" in times and reason not in _FREE_RETURN_REASONS else 0
        # Banks take 3 to 5 business days to show a refund; until then it is pending.
        completed_at = refund_at + timedelta(days=rng.randint(3, 7))
        done = completed_at <= now
        order.refunds = [RefundRow(status="completed" if done else "pending", amount=total - fee,
                                   requested_at=refund_at, completed_at=completed_at if done else None)]
    order.history = [StatusEventRow(status=step, at=times[step], note=notes.get(step, "")) for step in steps]
    return order


def _demo_shop(rng: random.Random, count: int, today: date) -> tuple[list[CustomerRow], list[OrderRow]]:
    customers = _demo_customers(rng, max(1, round(count * 0.4)))
    now = datetime.combine(today, time(9, 0))
    orders = [_demo_order(rng, status, rng.choice(customers), now) for status in _demo_statuses(rng, count)]
    # Numbers go up with time, with gaps (other shoppers' orders), from 10001.
    number = 10000
    for order in sorted(orders, key=lambda o: o.placed_at):
        number += rng.randint(1, 30)
        order.number = str(number)
    return customers, orders

"""The orders store on real SQLite files: demo seeding, lookup, the identity check, the shopper's text, errors."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from chatbot.errors import OrderStoreError
from chatbot.orders.store import (
    CARRIERS,
    ORDER_STATUSES,
    REFUND_STATUSES,
    OrderLine,
    OrderRecord,
    OrderStore,
    Refund,
    ReturnRequest,
    Shipment,
    StatusEvent,
    open_order_store,
)

TODAY = date(2026, 11, 20)
NOW = datetime.combine(TODAY, time(9, 0))
UK_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}")
DELIVERED_PATH = ["placed", "paid", "packed", "shipped", "out_for_delivery", "delivered"]


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("orders") / "data" / "orders.db"


@pytest.fixture(scope="module")
def store(shop_db: Path) -> Iterator[OrderStore]:
    with open_order_store(f"sqlite:///{shop_db}") as store:
        assert store.is_empty()
        assert store.seed_demo(today=TODAY) == 300
        assert not store.is_empty()
        yield store


@pytest.fixture(scope="module")
def orders(store: OrderStore) -> list[OrderRecord]:
    return store.list_orders()


def customers_by_order(shop_db: Path) -> dict[str, tuple[str, str, str]]:
    """Each order number's customer (name, email, postcode), read straight from the file."""
    with closing(sqlite3.connect(shop_db)) as db:
        rows = db.execute(
            "SELECT o.number, c.name, c.email, c.postcode FROM customers c JOIN orders o ON o.customer_id = c.id"
        ).fetchall()
    return {number: (name, email, postcode) for number, name, email, postcode in rows}


def test_the_demo_shop_has_every_status_at_least_ten_times(store: OrderStore, orders: list[OrderRecord]) -> None:
    assert store.status_counts() == {
        "placed": 17, "paid": 23, "packed": 21, "shipped": 29, "out_for_delivery": 18, "delivered": 94,
        "delayed": 21, "lost": 14, "cancelled": 21, "return_requested": 21, "refunded": 21,
    }
    assert len(orders) == 300
    assert all(re.fullmatch(r"\d{5}", order.number) for order in orders)
    assert len({order.number for order in orders}) == 300


def test_demo_customers_are_at_example_com_with_uk_postcodes(shop_db: Path, store: OrderStore) -> None:
    with closing(sqlite3.connect(shop_db)) as db:
        customers = db.execute("SELECT email, postcode FROM customers").fetchall()
        journal_mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert len(customers) == 120
    assert [email for email, _ in customers if not email.endswith("@example.com")] == []
    assert [postcode for _, postcode in customers if not UK_POSTCODE.fullmatch(postcode)] == []
    assert journal_mode == "wal"


def test_seeding_is_deterministic(tmp_path: Path, orders: list[OrderRecord]) -> None:
    with open_order_store(f"sqlite:///{tmp_path / 'again.db'}") as again:
        again.seed_demo(today=TODAY)
        assert again.list_orders() == orders
    with open_order_store(f"sqlite:///{tmp_path / 'other.db'}") as other:
        other.seed_demo(count=40, seed=8, today=TODAY)
        assert other.list_orders()[:5] != orders[:5]
        assert min(other.status_counts().values()) == 3  # 40 // 11


def test_a_store_with_orders_is_not_seeded_again(store: OrderStore) -> None:
    with pytest.raises(OrderStoreError, match="already holds orders or customers"):
        store.seed_demo(today=TODAY)
    assert sum(store.status_counts().values()) == 300


def test_histories_run_forward_and_end_in_the_order_status(orders: list[OrderRecord]) -> None:
    for order in orders:
        times = [event.at for event in order.history]
        assert times == sorted(set(times)), order.number
        assert order.history[0] == StatusEvent("placed", order.placed_at, "Order received")
        assert order.history[-1].status == order.status
        assert times[-1] <= NOW
        assert order.total == sum(line.unit_price * line.quantity for line in order.lines)
    delivered = [order for order in orders if order.status == "delivered"]
    assert {tuple(event.status for event in order.history) for order in delivered} == {tuple(DELIVERED_PATH)}


def test_shipments_returns_and_refunds_match_the_status(orders: list[OrderRecord]) -> None:
    by_status = {status: [o for o in orders if o.status == status] for status in ORDER_STATUSES}
    for status in ("shipped", "out_for_delivery", "delayed", "lost", "delivered", "return_requested"):
        for order in by_status[status]:
            shipment = order.shipment
            assert shipment is not None and shipment.carrier in CARRIERS
            assert shipment.tracking_number and shipment.tracking_number in shipment.tracking_url
            assert (shipment.delivered_at is not None) == (status in ("delivered", "return_requested"))
    assert {o.shipment.estimated_delivery for o in by_status["out_for_delivery"] if o.shipment} == {TODAY}
    estimates = [o.shipment.estimated_delivery for o in by_status["shipped"] + by_status["delayed"] if o.shipment]
    assert len(estimates) == 50
    assert all(day is not None and TODAY < day <= TODAY + timedelta(days=4) for day in estimates)
    assert [o.number for o in by_status["placed"] + by_status["paid"] + by_status["packed"] if o.shipment] == []
    assert [o.number for o in by_status["cancelled"] if o.shipment] == []
    assert all(o.return_request and o.return_request.status in ("requested", "received")
               for o in by_status["return_requested"])
    assert all(o.refund and o.refund.status in REFUND_STATUSES for o in by_status["refunded"])
    assert {o.refund.status for o in by_status["refunded"] if o.refund} == {"pending", "completed"}


def test_find_order_accepts_what_shoppers_type(store: OrderStore, orders: list[OrderRecord]) -> None:
    number = orders[100].number
    assert store.find_order(number) == orders[100]
    assert store.find_order(f"#{number}") == orders[100]
    assert store.find_order(f"  order {number} ") == orders[100]
    assert store.find_order("99999") is None
    assert store.find_order("where is it") is None


def test_verify_needs_the_customers_email_or_postcode(
    shop_db: Path, store: OrderStore, orders: list[OrderRecord]
) -> None:
    customers = customers_by_order(shop_db)
    order = orders[42]
    _, email, postcode = customers[order.number]
    other_email = next(e for _, e, _ in customers.values() if e != email)
    assert store.verify(order.number, f"  {email.upper()} ") == order
    assert store.verify(f"#{order.number}", postcode.lower().replace(" ", "")) == order
    assert store.verify(order.number, " ".join(postcode.replace(" ", ""))) == order
    wrong_pair = store.verify(order.number, other_email)
    unknown_order = store.verify("99999", email)
    assert wrong_pair is None and unknown_order is None and wrong_pair == unknown_order
    assert store.verify(order.number, "someone@example.com") is None
    assert store.verify(order.number, "  ") is None


def test_as_text_shows_the_shopper_status_and_tracking_but_no_customer_details(
    shop_db: Path, orders: list[OrderRecord]
) -> None:
    order = next(o for o in orders if o.status == "shipped")
    lines = order.as_text().splitlines()
    assert order.shipment is not None
    assert lines[:2] == [f"Order number: {order.number}", "Status: Shipped, on its way"]
    assert f"Tracking number: {order.shipment.tracking_number}" in lines
    assert f"Tracking link: {order.shipment.tracking_url}" in lines
    assert (order.source_id, order.title) == (f"order:{order.number}", f"Order {order.number}")
    customers = customers_by_order(shop_db)
    leaks = [(o.number, detail) for o in orders for detail in customers[o.number] if detail in o.as_text()]
    assert leaks == []


def test_as_text_renders_one_fact_a_line() -> None:
    record = OrderRecord(
        number="10452", status="refunded", placed_at=datetime(2026, 10, 1, 10, 30), total=Decimal("59.00"),
        currency="GBP", lines=(OrderLine("EL-703", "Burr coffee grinder", 1, Decimal("59.00")),),
        history=(StatusEvent("placed", datetime(2026, 10, 1, 10, 30)),),
        shipment=Shipment("Royal Mail", "AB123456789GB", "https://rm.example/AB123456789GB",
                          datetime(2026, 10, 2, 15, 0), date(2026, 10, 5), datetime(2026, 10, 3, 11, 0)),
        return_request=ReturnRequest("received", datetime(2026, 10, 6, 9, 0), "Changed my mind"),
        refund=Refund("pending", Decimal("56.05"), datetime(2026, 10, 9, 12, 0)),
    )
    assert record.as_text() == (
        "Order number: 10452\n"
        "Status: Refunded\n"
        "Placed on: Thursday 1 October 2026\n"
        "Item: 1 x Burr coffee grinder at £59.00 each\n"
        "Order total: £59.00\n"
        "Carrier: Royal Mail\n"
        "Tracking number: AB123456789GB\n"
        "Tracking link: https://rm.example/AB123456789GB\n"
        "Shipped on: Friday 2 October 2026\n"
        "Delivered on: Saturday 3 October 2026\n"
        "Return: received at our warehouse (started on Tuesday 6 October 2026)\n"
        "Refund: £56.05, pending (issued on Friday 9 October 2026)"
    )


def test_an_unusable_database_raises_an_order_store_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "garbage.db").write_bytes(b"this is not a SQLite database" * 100)
    with pytest.raises(OrderStoreError, match="orders_url"):
        open_order_store("not a database url")
    with pytest.raises(OrderStoreError, match="orders_url") as folder_error:
        open_order_store(f"sqlite:///{tmp_path / 'a-file' / 'orders.db'}")
    assert isinstance(folder_error.value.__cause__, OSError)
    with pytest.raises(OrderStoreError, match="orders_url") as garbage_error:
        open_order_store(f"sqlite:///{tmp_path / 'garbage.db'}")
    assert isinstance(garbage_error.value.__cause__, SQLAlchemyError)
    with pytest.raises(OrderStoreError, match="driver"):
        open_order_store("nosuchdb://shop@localhost/orders")

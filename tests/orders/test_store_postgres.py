"""The order store on a real PostgreSQL server: its tables, the demo shop, lookups and the identity check."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from chatbot.errors import OrderStoreError
from chatbot.orders.store import OrderRecord, OrderStore, open_order_store

if TYPE_CHECKING:  # imported by pytest_plugins below; importing it here first would stop its assert rewriting
    from tests.postgres_server import PostgresServer

pytest_plugins = ["tests.postgres_server"]
pytestmark = pytest.mark.postgres

TODAY = date(2026, 11, 20)
TABLES = {"customers", "orders", "order_lines", "shipments", "status_history", "returns", "refunds",
          "failed_identity_checks"}
OPENING_ROUNDS = 5  # fresh databases each opened by two stores at once


@pytest.fixture(scope="module")
def shop_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


@pytest.fixture(scope="module")
def store(shop_url: str) -> Iterator[OrderStore]:
    with open_order_store(shop_url) as store:
        assert store.is_empty()
        assert store.seed_demo(today=TODAY) == 300
        yield store


@pytest.fixture(scope="module")
def orders(store: OrderStore) -> list[OrderRecord]:
    return store.list_orders()


@pytest.fixture(scope="module")
def raw(shop_url: str) -> Iterator[Engine]:
    engine = create_engine(shop_url)
    yield engine
    engine.dispose()


def rows(engine: Engine, query: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query), params)]


def test_the_demo_shop_reads_back_exactly_as_from_sqlite(tmp_path: Path, orders: list[OrderRecord]) -> None:
    with open_order_store(f"sqlite:///{tmp_path / 'orders.db'}") as sqlite_store:
        sqlite_store.seed_demo(today=TODAY)
        assert sqlite_store.list_orders() == orders
    assert len(orders) == 300 and len({order.number for order in orders}) == 300
    assert all(type(order.total) is Decimal and order.total.as_tuple().exponent == -2 for order in orders)


def test_tables_are_created_once_and_reopening_keeps_the_orders(
    store: OrderStore, shop_url: str, raw: Engine, orders: list[OrderRecord]
) -> None:
    assert set(inspect(raw).get_table_names()) == TABLES
    with open_order_store(shop_url) as again:
        assert not again.is_empty() and again.status_counts() == store.status_counts()
        assert again.find_order(orders[7].number) == orders[7]
        with pytest.raises(OrderStoreError, match="already holds orders or customers"):
            again.seed_demo(today=TODAY)
    assert rows(raw, "SELECT count(*) FROM orders") == [(300,)]


def test_postgres_enforces_the_status_check(store: OrderStore, raw: Engine) -> None:
    [(customer_id,)] = rows(raw, "SELECT min(id) FROM customers")
    with pytest.raises(IntegrityError, match="check constraint"), raw.begin() as connection:
        connection.execute(text("INSERT INTO orders (number, customer_id, placed_at, status, total, currency) "
                                "VALUES ('99998', :customer, now(), 'teleported', 1, 'GBP')"), {"customer": customer_id})
    assert rows(raw, "SELECT count(*) FROM orders WHERE number = '99998'") == [(0,)]


def test_verify_needs_the_customers_email_or_postcode(store: OrderStore, raw: Engine, orders: list[OrderRecord]) -> None:
    order = orders[42]
    [(email, postcode)] = rows(raw, "SELECT c.email, c.postcode FROM customers c JOIN orders o ON o.customer_id = c.id "
                                    "WHERE o.number = :number", number=order.number)
    assert store.find_order(f"order #{order.number}") == order
    assert store.verify(order.number, f"  {email.upper()} ") == order
    assert store.verify(f"#{order.number}", postcode.lower().replace(" ", "")) == order
    assert store.verify(order.number, "someone@example.com") is None
    assert store.verify("99999", email) is None and store.find_order("99999") is None


def test_lookups_from_several_threads_at_once_agree(store: OrderStore, orders: list[OrderRecord]) -> None:
    def look_up_all(_: int) -> list[OrderRecord | None]:
        return [store.find_order(order.number) for order in orders[:25]]

    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(look_up_all, range(4)))
    assert seen == [orders[:25]] * 4


def test_failed_checks_from_two_stores_are_counted_together(store: OrderStore, shop_url: str) -> None:
    # Two app processes on one database: a guesser moving between them still hits one count.
    since = datetime(2026, 11, 20, 9, 0)
    with open_order_store(shop_url) as other:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: (store if n % 2 else other).record_failed_check("#10007", "client-a", since), range(6)))
        assert other.failed_checks(since, "10007", "client-a") == (6, 6)
    assert store.failed_checks(since, "order 10007", "client-b") == (6, 0)
    assert store.failed_checks(since + timedelta(seconds=1), "10007", "client-a") == (0, 0)


def open_at_once(url: str) -> list[str]:
    """Open two stores on the database at `url` at the same moment; the errors, if any."""
    barrier = threading.Barrier(2)

    def opened(_: int) -> str:
        barrier.wait(timeout=30)
        try:
            open_order_store(url).close()
        except OrderStoreError as exc:
            return str(exc)
        return ""

    with ThreadPoolExecutor(2) as pool:
        return [error for error in pool.map(opened, range(2)) if error]


def test_two_stores_opening_a_new_database_at_once_both_open(postgres_server: PostgresServer) -> None:
    for _ in range(OPENING_ROUNDS):
        assert open_at_once(postgres_server.create_database()) == []

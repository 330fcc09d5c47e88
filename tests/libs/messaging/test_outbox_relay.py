"""The outbox relay against real PostgreSQL (store_db) and a real broker: rows committed in one
transaction are published in the order they were written and taken from the outbox, once; rows
of a transaction not yet committed are not seen; a running relay (woken, as the handlers wake
it) publishes what is committed.

(FastStream's TestKafkaBroker cannot stand in here: the relay publishes without waiting for each
acknowledgement and then awaits them all, and the in-memory producer returns none to await.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from clearway.domain.ids import new_id
from clearway.messaging import OutboxRelay, build_broker
from clearway.messaging.topics import INVOICE_EVENTS
from clearway.store.outbox import OutboxMessage, enqueue

from tests.services.handlers_support import outbox_of
from tests.services.kafka_support import read_json_from_start

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest_asyncio.fixture
async def relay(store_db: asyncpg.Pool[Any], kafka_bootstrap: str) -> AsyncIterator[OutboxRelay]:
    """A relay as every service runs one, its broker connected."""
    # Rows other tests left (no relay reads store_db): this relay must publish only the test's.
    await store_db.execute("DELETE FROM outbox")
    broker = build_broker(kafka_bootstrap, client_id="relay-test")
    await broker.start()
    relay = OutboxRelay(store_db, broker)
    try:
        yield relay
    finally:
        await relay.stop()
        await broker.stop()


def _messages(key: str, count: int) -> list[OutboxMessage]:
    return [
        OutboxMessage(topic=INVOICE_EVENTS, key=key, payload={"key": key, "n": n})
        for n in range(count)
    ]


async def _published(bootstrap: str, key: str, count: int, timeout: float = 20) -> list[Any]:
    """The bodies published on invoice.events with `key`, in order, once `count` have come
    (and whatever else came with them)."""
    return await read_json_from_start(
        bootstrap,
        INVOICE_EVENTS,
        count,
        keep=lambda record: record.key == key.encode(),
        timeout=timeout,
    )


async def test_committed_rows_are_published_in_order_and_taken_once(
    store_db: asyncpg.Pool[Any], relay: OutboxRelay, kafka_bootstrap: str
) -> None:
    key = new_id("inv")
    async with store_db.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await enqueue(conn, _messages(key, 3))
        assert await relay.drain_once() == 0  # not committed yet: not there for the relay
        await transaction.commit()

    assert await relay.drain_once() == 3
    assert await outbox_of(store_db, key) == []  # sent: gone from the outbox
    assert await relay.drain_once() == 0  # once
    published = await _published(kafka_bootstrap, key, 3)
    assert published == [{"key": key, "n": n} for n in range(3)]


async def test_a_running_relay_publishes_what_is_committed(
    store_db: asyncpg.Pool[Any], relay: OutboxRelay, kafka_bootstrap: str
) -> None:
    key = new_id("inv")
    relay.start()
    async with store_db.acquire() as conn, conn.transaction():
        await enqueue(conn, _messages(key, 2))
    relay.wake()

    assert await _published(kafka_bootstrap, key, 2) == [{"key": key, "n": n} for n in range(2)]
    deadline = time.monotonic() + 10
    while await outbox_of(store_db, key):
        assert time.monotonic() < deadline, "the relay left its rows in the outbox"
        await asyncio.sleep(0.05)

"""The outbox against real PostgreSQL: what the relay takes comes oldest first, another relay
skips what one holds, and a relay that fails (its transaction rolled back) leaves every row for
the next attempt."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.domain.ids import new_id
from clearway.store.outbox import OutboxMessage, enqueue, take_batch

pytestmark = [pytest.mark.postgres]

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def _count(conn: Any, key: str) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE key = $1", key)
    return count


async def test_the_relay_takes_messages_oldest_first_as_they_were_written(
    store_db: asyncpg.Pool[Any],
) -> None:
    key = new_id("inv")
    async with store_db.acquire() as conn:
        await enqueue(
            conn,
            [
                OutboxMessage(topic="first", key=key, payload={"n": 1}, traceparent=TRACEPARENT),
                OutboxMessage(topic="second", key=key, payload={"n": 2, "text": "é"}),
            ],
        )
        async with conn.transaction():
            taken = [m for m in await take_batch(conn, 10_000) if m.key == key]
        left = await _count(conn, key)
    assert [(m.topic, m.payload) for m in taken] == [
        ("first", {"n": 1}),
        ("second", {"n": 2, "text": "é"}),
    ]
    assert taken[0].id < taken[1].id
    assert taken[0].traceparent == TRACEPARENT
    assert left == 0


async def test_another_relay_skips_held_rows_and_a_failed_publish_puts_them_back(
    store_db: asyncpg.Pool[Any],
) -> None:
    key = new_id("inv")
    async with store_db.acquire() as first, store_db.acquire() as second:
        await enqueue(
            first, [OutboxMessage(topic="t", key=key, payload={"n": n}) for n in range(3)]
        )
        # The relay's transaction: rows held while it publishes, rolled back when that fails.
        relay = first.transaction()
        await relay.start()
        held = [m for m in await take_batch(first, 10_000) if m.key == key]
        async with second.transaction():
            seen_by_other = [m for m in await take_batch(second, 10_000) if m.key == key]
        await relay.rollback()
        back = await _count(first, key)
    assert [m.payload["n"] for m in held] == [0, 1, 2]
    assert seen_by_other == []
    assert back == 3

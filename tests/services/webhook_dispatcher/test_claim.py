"""Claiming due deliveries, on a database no dispatcher reads and a clock the test holds: the
per-endpoint cap, per-invoice version order, endpoints taking turns, and no endpoint that
cannot send (at its cap, or waiting on an earlier version) crowding out one that can."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from clearway.accounts import create_account
from clearway.domain.ids import new_id
from clearway.store.webhook_deliveries import NewDelivery, claim_due, enqueue_deliveries

pytestmark = [pytest.mark.postgres]

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)


async def _endpoint(conn: Any, account_id: str) -> str:
    endpoint_id = new_id("we")
    await conn.execute(
        "INSERT INTO webhook_endpoints (id, account_id, livemode, url, enabled_events) "
        "VALUES ($1, $2, false, $3, '{*}')",
        endpoint_id,
        account_id,
        f"http://127.0.0.1:9/{endpoint_id}",
    )
    return endpoint_id


async def _deliveries(
    conn: Any, endpoint_id: str, count: int, *, invoice: str | None = None
) -> list[str]:
    """`count` deliveries due at NOW; with `invoice`, its versions 1..count."""
    events = [new_id("evt") for _ in range(count)]
    await enqueue_deliveries(
        conn,
        [
            NewDelivery(
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type="invoice.created",
                body="{}",
                stream_id=invoice,
                stream_version=version if invoice else None,
            )
            for version, event_id in enumerate(events, start=1)
        ],
    )
    await conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = $2::timestamptz - interval '1 second' "
        "WHERE endpoint_id = $1",
        endpoint_id,
        NOW,
    )
    rows = await conn.fetch(
        "SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY stream_version, id",
        endpoint_id,
    )
    return [row["id"] for row in rows]


async def _claim(conn: Any, **overrides: Any) -> list[dict[str, Any]]:
    options: dict[str, Any] = {
        "now": NOW,
        "lease": LEASE,
        "endpoint_concurrency": 4,
        "limit": 100,
    } | overrides
    return await claim_due(conn, **options)


@pytest.fixture
async def conn(store_db: asyncpg.Pool[Any]) -> AsyncIterator[Any]:
    async with store_db.acquire() as conn:
        yield conn


@pytest.fixture
async def account(conn: Any) -> str:
    # Leftovers of other tests must not be claimed here.
    await conn.execute("DELETE FROM webhook_endpoints")
    return await create_account(conn, f"claims {secrets.token_hex(3)}")


async def test_at_most_the_cap_is_in_flight_per_endpoint(conn: Any, account: str) -> None:
    endpoint = await _endpoint(conn, account)
    await _deliveries(conn, endpoint, 10)
    first = await _claim(conn)
    assert len(first) == 4
    assert await _claim(conn) == []  # four in flight: nothing more
    # One finishes: one more may go.
    await conn.execute(
        "UPDATE webhook_deliveries SET state = 'delivered', lease_expires_at = NULL WHERE id = $1",
        first[0]["id"],
    )
    assert len(await _claim(conn)) == 1


async def test_a_lease_that_ran_out_is_claimed_again(conn: Any, account: str) -> None:
    endpoint = await _endpoint(conn, account)
    await _deliveries(conn, endpoint, 1)
    [first] = await _claim(conn)
    assert await _claim(conn, now=NOW + LEASE / 2) == []
    # Its dispatcher died mid-attempt: once the lease is over, it goes again, same id.
    [again] = await _claim(conn, now=NOW + LEASE + dt.timedelta(seconds=1))
    assert (again["id"], again["webhook_id"], again["body"]) == (
        first["id"],
        first["webhook_id"],
        first["body"],
    )
    assert again["lease_token"] != first["lease_token"]


async def test_an_invoices_next_version_waits_for_the_previous_one(conn: Any, account: str) -> None:
    endpoint = await _endpoint(conn, account)
    versions = await _deliveries(conn, endpoint, 3, invoice=new_id("inv"))
    assert [row["id"] for row in await _claim(conn)] == versions[:1]
    assert await _claim(conn) == []  # version 1 in flight: 2 waits
    # Version 1 failed and waits for its retry: 2 still waits.
    await conn.execute(
        "UPDATE webhook_deliveries SET lease_expires_at = NULL, "
        "next_attempt_at = $2::timestamptz + interval '1 hour' WHERE id = $1",
        versions[0],
        NOW,
    )
    assert await _claim(conn) == []
    # Version 1 dead-lettered: 2 goes, then 3 after it.
    await conn.execute("UPDATE webhook_deliveries SET state = 'dead' WHERE id = $1", versions[0])
    assert [row["id"] for row in await _claim(conn)] == versions[1:2]
    await conn.execute(
        "UPDATE webhook_deliveries SET state = 'delivered', lease_expires_at = NULL WHERE id = $1",
        versions[1],
    )
    assert [row["id"] for row in await _claim(conn)] == versions[2:]


async def test_endpoints_that_cannot_send_do_not_crowd_out_one_that_can(
    conn: Any, account: str
) -> None:
    at_cap = await _endpoint(conn, account)
    await _deliveries(conn, at_cap, 8)
    assert len(await _claim(conn)) == 4
    waiting = await _endpoint(conn, account)
    versions = await _deliveries(conn, waiting, 2, invoice=new_id("inv"))
    await conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = $2::timestamptz + interval '1 hour' "
        "WHERE id = $1",
        versions[0],
        NOW,
    )
    healthy = await _endpoint(conn, account)
    await _deliveries(conn, healthy, 1)
    # The healthy one was served last, so the others come first in turn...
    await conn.execute(
        "UPDATE webhook_endpoints SET last_claimed_at = CASE WHEN id = $1 "
        "THEN $2::timestamptz - interval '1 minute' ELSE NULL END",
        healthy,
        NOW,
    )
    # ...yet they cannot send: the one at its cap is passed over, the waiting one goes to
    # the back of the line, and the healthy one is served by the second claim at the latest.
    first = await _claim(conn, max_endpoints=1)
    claimed = first or await _claim(conn, max_endpoints=1)
    assert [row["endpoint_id"] for row in claimed] == [healthy]


async def test_endpoints_take_turns(conn: Any, account: str) -> None:
    first, second = await _endpoint(conn, account), await _endpoint(conn, account)
    await _deliveries(conn, first, 6)
    await _deliveries(conn, second, 6)
    turns = []
    for minute in range(4):
        claimed = await _claim(
            conn, now=NOW + dt.timedelta(minutes=minute), max_endpoints=1, limit=1
        )
        turns.append(claimed[0]["endpoint_id"])
    assert turns in ([first, second, first, second], [second, first, second, first])

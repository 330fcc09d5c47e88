"""Received invoices against real PostgreSQL: one row, one `invoice.received` event and one
outbox message per government id, however often it is delivered; and the receiver's cursors,
leased and saved only by their lease's owner."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
from clearway.domain.lifecycle import RECEIVED_EVENT, RECEIVED_STATUS
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.store import inbox_cursors
from clearway.store.connections import (
    ConnectionChanges,
    receiving_connections,
    update_connection,
)
from clearway.store.received_events import read_received_stream, start_received_stream
from clearway.store.received_invoices import received_by_government_id

from tests.libs.store.received import (
    Receiving,
    new_received,
    own_country,
    receiving_connection,
)

pytestmark = [pytest.mark.postgres]

LEASE = dt.timedelta(minutes=1)


async def _outbox(conn: Any, received_id: str) -> list[Any]:
    return list(
        await conn.fetch("SELECT topic, key, payload FROM outbox WHERE key = $1", received_id)
    )


async def test_a_delivery_starts_its_stream_with_its_row_and_its_message(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        receiving = await receiving_connection(conn)
        ref = receiving.ref()
        event = await start_received_stream(conn, ref, new_received("G-1", b"<Invoice>1</Invoice>"))
        row = await received_by_government_id(
            conn, receiving.company_id, "RO", "G-1", livemode=False
        )
        stream = await read_received_stream(conn, ref.received_id)
        outbox = await _outbox(conn, ref.received_id)
    assert event is not None
    assert (row["id"], row["status"], row["version"]) == (ref.received_id, RECEIVED_STATUS, 1)
    assert bytes(row["document"]) == b"<Invoice>1</Invoice>"
    assert bytes(row["evidence"]) == b"<Signature/>"
    assert [(e.version, e.type, e.status) for e in stream] == [(1, RECEIVED_EVENT, "received")]
    assert stream[0].metadata == {
        "governmentId": "G-1",
        "connectionId": receiving.connection_id,
        "mediaType": "application/xml",
        "read": False,
    }
    assert [(m["topic"], m["key"]) for m in outbox] == [(INVOICES_RECEIVED, ref.received_id)]
    payload = outbox[0]["payload"]
    assert (payload["receivedInvoiceId"], payload["eventId"], payload["governmentId"]) == (
        ref.received_id,
        event.id,
        "G-1",
    )
    assert (payload["accountId"], payload["supplierVat"]) == (receiving.account_id, "RO123")


async def test_the_same_government_id_twice_is_one_row_one_event_one_message(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        receiving = await receiving_connection(conn)
        first, again = receiving.ref(), receiving.ref()
        assert await start_received_stream(conn, first, new_received("G-2")) is not None
        # Delivered again (a second look, a redelivery): another id is tried, nothing is added.
        assert await start_received_stream(conn, again, new_received("G-2")) is None
        rows = await conn.fetch(
            "SELECT id FROM received_invoices WHERE company_id = $1", receiving.company_id
        )
        events = await conn.fetch(
            "SELECT stream_id FROM events WHERE stream_id = ANY($1::text[])",
            [first.received_id, again.received_id],
        )
        outbox = await conn.fetch(
            "SELECT key FROM outbox WHERE key = ANY($1::text[])",
            [first.received_id, again.received_id],
        )
    assert [r["id"] for r in rows] == [first.received_id]
    assert [e["stream_id"] for e in events] == [first.received_id]
    assert [m["key"] for m in outbox] == [first.received_id]


async def test_another_companys_message_with_the_same_id_is_its_own(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        one, other = await receiving_connection(conn), await receiving_connection(conn)
        assert await start_received_stream(conn, one.ref(), new_received("G-3")) is not None
        assert await start_received_stream(conn, other.ref(), new_received("G-3")) is not None


async def test_a_cursor_is_claimed_once_and_saved_only_by_its_leases_owner(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    country = receiving.country
    async with store_db.acquire() as conn:
        claimed = await inbox_cursors.claim_due(
            conn, countries=[country], owner="a", lease=LEASE, limit=10
        )
        # Leased to `a`: another receiver finds nothing due.
        nothing = await inbox_cursors.claim_due(
            conn, countries=[country], owner="b", lease=LEASE, limit=10
        )
        stale = inbox_cursors.InboxClaim(receiving.connection_id, None, 0, owner="b")
        saved_by_stale = await inbox_cursors.advance(
            conn, stale, cursor="p9", next_fetch_at=dt.datetime.now(dt.UTC)
        )
        saved = await inbox_cursors.advance(
            conn, claimed[0], cursor="p2", next_fetch_at=dt.datetime.now(dt.UTC)
        )
        saved_again = await inbox_cursors.advance(
            conn, claimed[0], cursor=None, next_fetch_at=dt.datetime.now(dt.UTC)
        )
        row = await inbox_cursors.cursor_row(conn, receiving.connection_id)
    assert [(c.connection_id, c.cursor, c.owner) for c in claimed] == [
        (receiving.connection_id, None, "a")
    ]
    assert nothing == []
    assert not saved_by_stale
    assert saved
    assert not saved_again  # the lease was released by the save: the claim no longer owns the row
    assert (row["cursor"], row["lease_owner"]) == ("p2", None)


async def test_only_active_receiving_connections_are_claimed(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    country = receiving.country
    async with store_db.acquire() as conn:
        await update_connection(conn, receiving.connection_id, ConnectionChanges(is_receiver=False))
        claimed = await inbox_cursors.claim_due(
            conn, countries=[country], owner="a", lease=LEASE, limit=10
        )
    assert claimed == []


async def test_a_peppol_receiver_is_found_by_its_whole_participant_id(
    store_db: asyncpg.Pool[Any],
) -> None:
    """The connection keeps scheme and identifier apart; a network names the participant by
    both (the same number under another scheme is another participant)."""
    country = own_country()
    async with store_db.acquire() as conn:
        receiving = await receiving_connection(conn, country)
        changes = ConnectionChanges(network_scheme="0208", network_identifier="0123456749")
        await update_connection(conn, receiving.connection_id, changes)

        async def found(recipient: str) -> list[str]:
            rows = await receiving_connections(
                conn,
                country=country,
                livemode=False,
                recipient_field="participant_id",
                recipient=recipient,
            )
            return [row["id"] for row in rows]

        assert await found("0208:0123456749") == [receiving.connection_id]
        assert await found("9925:0123456749") == []
        assert await found("0123456749") == []

"""The receiving machine without the stack: its pure decisions, and the machine itself against
an in-memory Inbox with real PostgreSQL (store_db: no service reads it). Each government's own
Inbox is tested with its simulator, in its folder's tests."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from clearway.connectors.calls import GovernmentUnavailableError
from clearway.governments.inbox import Delivery, Inbox, InboxPage
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.pipeline.reading import (
    NOT_READ_RULE,
    UNREADABLE_RULE,
    Reading,
    StatedTotals,
    not_read_yet,
)
from clearway.pipeline.receiving import (
    ReceivingMachine,
    ReceivingTimings,
    after_failure,
    next_look,
)
from clearway.resilience.backoff import Backoff
from clearway.store.inbox_cursors import cursor_row
from clearway.validation.findings import Severity
from prometheus_client import REGISTRY

from tests.libs.store.received import (
    MemoryInbox,
    Receiving,
    delivery,
)

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
INTERVAL = dt.timedelta(seconds=30)
BACKOFF = Backoff(base=5.0, cap=900.0, max_attempts=0)


def replayed() -> random.Random:
    return random.Random(1)  # noqa: S311 - jitter, replayed: not a secret


# --- the decisions, pure ------------------------------------------------------------------------


def test_an_inbox_with_more_waiting_is_looked_at_again_at_once_else_after_the_interval() -> None:
    more = InboxPage(deliveries=(), cursor="c", more=True)
    done = InboxPage(deliveries=(), cursor="c")
    assert next_look(more, now=NOW, interval=INTERVAL) == NOW
    assert next_look(done, now=NOW, interval=INTERVAL) == NOW + INTERVAL


def test_a_failed_look_backs_off_doubling_and_never_before_the_government_said() -> None:
    down = GovernmentUnavailableError("503")
    delays = [
        (after_failure(down, n, now=NOW, backoff=BACKOFF, rng=replayed()) - NOW) for n in (1, 2, 3)
    ]
    # Equal jitter: between half and all of 5, 10, 20 seconds.
    for delay, ceiling in zip(delays, (5, 10, 20), strict=True):
        assert ceiling / 2 <= delay.total_seconds() <= ceiling
    throttled = GovernmentUnavailableError("429", retry_after=120.0)
    at = after_failure(throttled, 1, now=NOW, backoff=BACKOFF, rng=replayed())
    assert at - NOW == dt.timedelta(seconds=120)


def test_the_reader_until_the_parsers_come_makes_nothing_up() -> None:
    reading = not_read_yet(delivery("G"), country="RO", livemode=False)
    assert (reading.request, reading.totals) == (None, None)
    assert [(f.rule, f.severity) for f in reading.findings] == [(NOT_READ_RULE, Severity.WARNING)]


# --- the machine against an in-memory inbox, real PostgreSQL -----------------------------------


def machine(
    pool: asyncpg.Pool[Any],
    receiving: Receiving,
    inbox: Inbox | None,
    *,
    read: Any = not_read_yet,
    inbox_for: Callable[[Mapping[str, Any]], Inbox | None] | None = None,
) -> ReceivingMachine:
    """The machine for `receiving`'s country, whose connection's inbox is `inbox` (or what
    `inbox_for` makes of its row)."""

    def that_inbox(row: Mapping[str, Any]) -> Inbox | None:
        assert row["id"] == receiving.connection_id  # the machine hands over the whole row
        return inbox

    return ReceivingMachine(
        pool,
        countries=[receiving.country],
        inbox_for=inbox_for or that_inbox,
        read=read,
        timings=ReceivingTimings(interval=INTERVAL, lease=dt.timedelta(minutes=1), backoff=BACKOFF),
        rng=replayed(),
    )


async def _received(pool: asyncpg.Pool[Any], receiving: Receiving) -> list[Any]:
    return list(
        await pool.fetch(
            "SELECT * FROM received_invoices WHERE connection_id = $1 ORDER BY government_id",
            receiving.connection_id,
        )
    )


async def _cursor(pool: asyncpg.Pool[Any], receiving: Receiving) -> Any:
    async with pool.acquire() as conn:
        return await cursor_row(conn, receiving.connection_id)


@pytest.mark.postgres
async def test_a_page_is_recorded_with_its_events_messages_and_cursor_and_more_is_read_at_once(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    inbox = MemoryInbox(
        {
            None: InboxPage((delivery("G1"), delivery("G2")), cursor="p2", more=True),
            "p2": InboxPage((delivery("G3"),), cursor="p3"),
        }
    )
    receiver = machine(store_db, receiving, inbox)
    counted = {"country": receiving.country}
    first_round = await receiver.receive_due()
    second_round = await receiver.receive_due()
    third_round = await receiver.receive_due()  # nothing due: the interval has not passed
    rows = await _received(store_db, receiving)
    ids = [row["id"] for row in rows]
    events = await store_db.fetch(
        "SELECT stream_id, version, type FROM events WHERE stream_id = ANY($1::text[])", ids
    )
    outbox = await store_db.fetch("SELECT topic, key FROM outbox WHERE key = ANY($1::text[])", ids)
    cursor = await _cursor(store_db, receiving)
    assert (first_round, second_round, third_round) == (1, 1, 0)
    assert REGISTRY.get_sample_value("clearway_invoices_received_total", counted) == 3
    assert inbox.read_from == [None, "p2"]
    assert [row["government_id"] for row in rows] == ["G1", "G2", "G3"]
    assert all(row["id"].startswith("rinv_") for row in rows)
    assert {(e["stream_id"], e["version"], e["type"]) for e in events} == {
        (i, 1, "invoice.received") for i in ids
    }
    assert sorted((m["topic"], m["key"]) for m in outbox) == sorted(
        (INVOICES_RECEIVED, i) for i in ids
    )
    assert cursor["cursor"] == "p3"
    assert cursor["next_fetch_at"] > dt.datetime.now(dt.UTC) + INTERVAL / 2
    # The document kept as delivered, and honestly not read.
    assert bytes(rows[0]["document"]) == b"<Invoice/>"
    assert rows[0]["request"] is None
    assert [f["rule"] for f in rows[0]["findings"]] == [NOT_READ_RULE]


@pytest.mark.postgres
async def test_a_page_read_again_from_the_same_cursor_adds_nothing(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    # The government keeps the cursor where it was: the same messages come again.
    inbox = MemoryInbox({None: InboxPage((delivery("G1"),), cursor=None, more=True)})
    receiver = machine(store_db, receiving, inbox)
    await receiver.receive_due()
    await receiver.receive_due()
    rows = await _received(store_db, receiving)
    events = await store_db.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1", rows[0]["id"]
    )
    outbox = await store_db.fetchval("SELECT count(*) FROM outbox WHERE key = $1", rows[0]["id"])
    assert inbox.read_from == [None, None]
    assert [row["government_id"] for row in rows] == ["G1"]
    assert (events, outbox) == (1, 1)


@pytest.mark.postgres
async def test_a_failing_government_backs_off_keeping_the_cursor(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    inbox = MemoryInbox({None: GovernmentUnavailableError("429", retry_after=600.0)})
    receiver = machine(store_db, receiving, inbox)
    assert await receiver.receive_due() == 1
    assert await receiver.receive_due() == 0  # backing off: not due
    retries = {"stage": "receive", "country": receiving.country, "reason": "throttled"}
    assert REGISTRY.get_sample_value("clearway_retries_total", retries) == 1
    cursor = await _cursor(store_db, receiving)
    assert (cursor["cursor"], cursor["failures"], cursor["lease_owner"]) == (None, 1, None)
    assert "429" in cursor["last_error"]
    assert cursor["next_fetch_at"] >= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=590)
    assert await _received(store_db, receiving) == []


@pytest.mark.postgres
async def test_a_page_whose_lease_lapsed_is_not_recorded(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:

    class TakenOver:
        """While this receiver reads, its lease lapses and another receiver claims the row."""

        async def fetch(self, cursor: str | None) -> InboxPage:
            del cursor
            await store_db.execute(
                "UPDATE inbox_cursors SET lease_owner = 'another' WHERE connection_id = $1",
                receiving.connection_id,
            )
            return InboxPage((delivery("G1"),), cursor="p2")

    await machine(store_db, receiving, TakenOver()).receive_due()
    cursor = await _cursor(store_db, receiving)
    assert (cursor["cursor"], cursor["lease_owner"]) == (None, "another")
    assert await _received(store_db, receiving) == []


@pytest.mark.postgres
async def test_what_the_reader_made_is_kept_and_a_reader_that_fails_leaves_a_finding(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    request = {"supplier": {"vatNumber": "RO111"}, "customer": {"vatNumber": "RO987"}}

    def read(delivered: Delivery, *, country: str, livemode: bool) -> Reading:
        assert (country, livemode) == (receiving.country, False)  # the connection's
        if delivered.government_id == "BAD":
            raise ValueError("not XML")
        totals = StatedTotals(Decimal("100.00"), Decimal("21.00"), Decimal("121.01"), "RON")
        return Reading(request=request, totals=totals, findings=())

    inbox = MemoryInbox({None: InboxPage((delivery("BAD"), delivery("GOOD")), cursor="p2")})
    await machine(store_db, receiving, inbox, read=read).receive_due()
    bad, good = await _received(store_db, receiving)
    assert (bad["request"], bad["gross_amount"]) == (None, None)
    assert [(f["rule"], f["severity"]) for f in bad["findings"]] == [(UNREADABLE_RULE, "error")]
    assert good["request"] == request
    assert (good["supplier_vat"], good["customer_vat"]) == ("RO111", "RO987")
    # As the document states them, even when they do not add up.
    assert (good["net_amount"], good["gross_amount"], good["currency"]) == (
        Decimal("100.00"),
        Decimal("121.01"),
        "RON",
    )


@pytest.mark.postgres
async def test_a_country_without_an_inbox_is_looked_at_much_later(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    receiver = machine(store_db, receiving, None)
    assert await receiver.receive_due() == 1
    cursor = await _cursor(store_db, receiving)
    assert cursor["lease_owner"] is None
    assert cursor["next_fetch_at"] > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=59)


@pytest.mark.postgres
async def test_a_page_that_fails_midway_records_none_of_it_and_keeps_the_cursor(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    # The second delivery cannot be stored (PostgreSQL text holds no NUL): the first, already
    # written in the page's transaction, goes with it, and so does the new cursor.
    page = InboxPage((delivery("G1"), delivery("G2\x00")), cursor="p2")
    assert await machine(store_db, receiving, MemoryInbox({None: page})).receive_due() == 1
    cursor = await _cursor(store_db, receiving)
    assert await _received(store_db, receiving) == []
    assert (cursor["cursor"], cursor["failures"], cursor["lease_owner"]) == (None, 1, None)
    assert cursor["last_error"].startswith("CharacterNotInRepertoireError")
    assert cursor["next_fetch_at"] > dt.datetime.now(dt.UTC)  # backing off, from the old cursor


@pytest.mark.postgres
async def test_an_inbox_that_cannot_be_built_backs_off(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    def not_configured(row: Mapping[str, Any]) -> Inbox | None:
        raise RuntimeError(f"no live endpoint for {row['country']}")

    receiver = machine(store_db, receiving, None, inbox_for=not_configured)
    assert await receiver.receive_due() == 1
    cursor = await _cursor(store_db, receiving)
    assert (cursor["failures"], cursor["lease_owner"]) == (1, None)
    assert cursor["last_error"] == f"RuntimeError: no live endpoint for {receiving.country}"

"""The receiving machine: reads every receiving connection's inbox at its government and records
each purchase invoice delivered there, once, for every country.

A look is a row of the durable schedule (clearway.store.inbox_cursors), so a receiver killed at
any point loses nothing: a claimed row is leased, and a lapsed lease makes it due again.

    DUE --claim--> CLAIMED --the government's page--> one of
        DUE at once      the page said there is more: looked at again in the next round
        DUE later        nothing more now: looked at again after the interval
        BACKING_OFF      the government failed (down, throttling, a refused token), or its
                         page could not be recorded: looked at again from the same cursor
                         after a backoff with jitter, or when the government said

A page is recorded in one transaction: every delivery (its row, its `invoice.received` event and
the message for `invoices.received`) and the new cursor together, so a look that dies before the
commit is looked at again from the old cursor, and a delivery already recorded (the same
government id) adds nothing. Each government builds its Inbox (Government.inbox); what a
document says is read by the `Reader` given (clearway.pipeline.reading); nothing here depends
on the country.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from clearway.db import Connection
from clearway.domain.ids import new_id, utcnow
from clearway.governments.inbox import Delivery, Inbox, InboxPage
from clearway.observability.logs import log_context
from clearway.observability.metrics import INVOICES_RECEIVED, RETRIES
from clearway.pipeline.reading import Reader, Reading, unreadable
from clearway.resilience.backoff import Backoff
from clearway.runtime import work_in_rounds
from clearway.store import inbox_cursors
from clearway.store.connections import connection_with_vat
from clearway.store.inbox_cursors import InboxClaim
from clearway.store.received_events import start_received_stream
from clearway.store.received_invoices import NewReceived, ReceivedRef, received_by_government_id

log = logging.getLogger(__name__)

CLAIM_BATCH = 20

# A connection's `connections` row with its company's vat_number → its government's inbox
# (None: the government has none).
InboxFor = Callable[[Mapping[str, Any]], Inbox | None]


class LeaseLostError(Exception):
    """Another receiver holds the connection now: this look's page is not recorded."""


@dataclass(frozen=True)
class ReceivingTimings:
    """How often an inbox is looked at: every `interval` when nothing more waits, `no_inbox`
    for a country whose government has no inbox to read, and after failures by `backoff`."""

    interval: dt.timedelta
    lease: dt.timedelta
    backoff: Backoff
    no_inbox: dt.timedelta = dt.timedelta(hours=1)
    idle_pause: float = 1.0  # seconds between rounds that found nothing due


def next_look(page: InboxPage, *, now: dt.datetime, interval: dt.timedelta) -> dt.datetime:
    """When the inbox is looked at again after a page: at once when more waits."""
    return now if page.more else now + interval


def after_failure(
    error: Exception, failures: int, *, now: dt.datetime, backoff: Backoff, rng: random.Random
) -> dt.datetime:
    """When the inbox is looked at again after `failures` failed looks in a row (this one
    included): doubling with jitter, never before the government said (`retry_after`)."""
    retry_after = getattr(error, "retry_after", None)
    return backoff.next_attempt_at(
        now,
        failures,
        rng,
        retry_after=retry_after if isinstance(retry_after, int | float) else None,
    )


def received(delivery: Delivery, reading: Reading) -> NewReceived:
    """What is recorded of a delivery: its bytes as delivered, and what reading them gave."""
    totals = reading.totals
    return NewReceived(
        government_id=delivery.government_id,
        document=delivery.document,
        media_type=delivery.media_type,
        evidence=delivery.evidence,
        evidence_media_type=delivery.evidence_media_type,
        delivered_at=delivery.delivered_at,
        request=reading.request,
        findings=[finding.model_dump(mode="json") for finding in reading.findings],
        supplier_vat=reading.supplier_vat,
        customer_vat=reading.customer_vat,
        currency=totals.currency if totals else None,
        net_amount=totals.net_amount if totals else None,
        vat_amount=totals.vat_amount if totals else None,
        gross_amount=totals.gross_amount if totals else None,
    )


def read_safely(read: Reader, delivery: Delivery, connection: Mapping[str, Any]) -> Reading:
    """What `read` makes of a delivery to that connection; a document that breaks the reader
    (hostile, or a bug) is recorded as unreadable, never in the way of the deliveries after it."""
    try:
        return read(delivery, country=connection["country"], livemode=connection["livemode"])
    except Exception as exc:  # a hostile or broken document never stops the receiver
        log.exception("reading delivery %s failed", delivery.government_id)
        return unreadable(exc)


async def record_delivery(
    conn: Connection,
    connection: Mapping[str, Any],
    delivery: Delivery,
    reading: Reading,
) -> tuple[str, bool]:
    """Record a delivery to a receiving connection (its row) as read: the received invoice's id,
    and whether it is new (False: the government's id was recorded before, and nothing is
    written)."""
    ref = ReceivedRef(
        received_id=new_id("rinv"),
        account_id=connection["account_id"],
        company_id=connection["company_id"],
        connection_id=connection["id"],
        country=connection["country"],
        livemode=connection["livemode"],
    )
    if await start_received_stream(conn, ref, received(delivery, reading)):
        return ref.received_id, True
    before = await received_by_government_id(
        conn,
        ref.company_id,
        ref.country,
        delivery.government_id,
        livemode=ref.livemode,
    )
    return before["id"], False


class ReceivingMachine:
    """Claims due inboxes of `countries`, reads each and records what it delivered.
    `recorded` is called after each page recorded (the outbox relay's wake-up)."""

    def __init__(  # noqa: PLR0913 - the machine's parts, all named
        self,
        pool: asyncpg.Pool[Any],
        *,
        countries: Sequence[str],
        inbox_for: InboxFor,
        read: Reader,
        timings: ReceivingTimings,
        rng: random.Random | None = None,
        recorded: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._countries = list(countries)
        self._inbox_for = inbox_for
        self._read = read
        self._timings = timings
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._recorded = recorded

    async def run(self) -> None:
        """Claim due inboxes and read them, for ever."""
        await work_in_rounds(
            self.receive_due,
            pause=self._timings.idle_pause,
            log=log,
            failure="receiving loop failed; retrying",
        )

    async def receive_due(self) -> int:
        """One round: the due inboxes claimed and read at once; how many there were."""
        async with self._pool.acquire() as conn:
            claims = await inbox_cursors.claim_due(
                conn,
                countries=self._countries,
                owner=secrets.token_hex(8),
                lease=self._timings.lease,
                limit=CLAIM_BATCH,
            )
        await asyncio.gather(*(self.receive(claim) for claim in claims))
        return len(claims)

    async def receive(self, claim: InboxClaim) -> int:
        """One look at a claimed inbox; how many new invoices it recorded. A failure (of the
        government, or of recording its page) is recorded as such and the look backs off; a
        receiver that dies leaves the lease to lapse."""
        async with self._pool.acquire() as conn:
            row = await connection_with_vat(conn, claim.connection_id)
        with log_context(invoice_id=None, account_id=row["account_id"]):
            try:
                # A client that cannot be built (a live system not configured, say) fails the
                # look as the government's failure would.
                inbox = self._inbox_for(row)
                page = None if inbox is None else await inbox.fetch(claim.cursor)
            except Exception as exc:  # noqa: BLE001 - any failed look backs off, none stops it
                log.warning("reading the %s inbox failed: %s", row["country"], exc)
                await self._back_off(claim, row, exc)
                return 0
            if page is None:
                await self._later(claim, utcnow() + self._timings.no_inbox)
                return 0
            try:
                recorded = await self._record(claim, row, page)
            except LeaseLostError:
                log.warning("the lease on %s lapsed: its page is left", claim.connection_id)
                return 0
            except Exception as exc:
                # Nothing of the page was kept (one transaction): it is read again, later.
                log.exception("recording a page of the %s inbox failed", row["country"])
                await self._back_off(claim, row, exc)
                return 0
        self._recorded()
        return recorded

    async def _back_off(self, claim: InboxClaim, row: Mapping[str, Any], error: Exception) -> None:
        reason = "throttled" if getattr(error, "retry_after", None) else "error"
        RETRIES.labels("receive", row["country"], reason).inc()
        at = after_failure(
            error, claim.failures + 1, now=utcnow(), backoff=self._timings.backoff, rng=self._rng
        )
        await self._later(claim, at, error=f"{type(error).__name__}: {error}"[:1000])

    async def _record(self, claim: InboxClaim, row: Mapping[str, Any], page: InboxPage) -> int:
        """The page's deliveries and the new cursor, in one transaction."""
        # Parsing and the rules are CPU work: off the event loop, so leases and health answer.
        readings = await asyncio.to_thread(
            lambda: [(each, read_safely(self._read, each, row)) for each in page.deliveries]
        )
        count = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for delivery, reading in readings:
                _, new = await record_delivery(conn, row, delivery, reading)
                count += new
            at = next_look(page, now=utcnow(), interval=self._timings.interval)
            if not await inbox_cursors.advance(conn, claim, cursor=page.cursor, next_fetch_at=at):
                raise LeaseLostError(claim.connection_id)
        if count:
            INVOICES_RECEIVED.labels(row["country"]).inc(count)
            log.info("%d invoices received (%s)", count, row["country"])
        return count

    async def _later(self, claim: InboxClaim, at: dt.datetime, *, error: str | None = None) -> None:
        async with self._pool.acquire() as conn:
            await inbox_cursors.later(conn, claim, next_fetch_at=at, error=error)

"""poller: follows every submitted invoice until its government decides.

Consumes  `invoice.submitted`: a row in the durable schedule `status_polls`, with the country's
          deadline. The schedule lives in PostgreSQL, not in memory: kill the poller (or
          PostgreSQL) at any point and the rows are picked up again (a claimed row is leased,
          not deleted, until its outcome is recorded).
Decides   a loop claims due rows and asks the country's system (governments/ro/status.py), at the
          country's cadence (CADENCES: doubling, then spaced out to fit the daily quotas); past
          the deadline without a decision, the invoice goes to `error`.
Emits     `invoice.accepted` (govId, govMessage; the receipt stored for
          GET /v1/invoices/:id/receipt) or `invoice.rejected` (the government's words in
          errorMessage, their translation and the fix), each with the status calls as
          `attempts`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from clearway.config import GovernmentEndpoints, LiveNotConfiguredError
from clearway.connectors import GovCall
from clearway.domain.ids import utcnow
from clearway.domain.lifecycle import EventType
from clearway.eventstore import Connection, InvoiceChanges, InvoiceRef, NewEvent, append_event
from clearway.governments.de.status import GermanStatusFollower, ZreStatusFollower
from clearway.governments.fr.status import PaStatusFollower
from clearway.governments.it.status import SdiStatusFollower
from clearway.governments.peppol.status import PeppolStatusFollower
from clearway.governments.pl.status import KsefStatusFollower
from clearway.governments.ro.status import AnafStatusFollower
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_SUBMITTED
from clearway.observability.logs import log_context
from clearway.observability.metrics import RETRIES
from clearway.observability.tracing import continued, current_traceparent, tracer
from clearway.pipeline.decisions import (
    Accepted,
    Follower,
    NotConfiguredFollower,
    Pending,
    Rejected,
)
from clearway.pipeline.filing import attempts_of, record_calls
from clearway.runtime import ServiceContext
from clearway.translation import translate_all
from clearway.translation.unknown import log_uncatalogued

GROUP_ID = "poller"
log = logging.getLogger(__name__)

CLAIM_BATCH = 20
IDLE_PAUSE_SECONDS = 0.2
T = TypeVar("T")


@dataclass(frozen=True)
class Cadence:
    """How often to ask: doubling from `first` to `cap`, every `slow_every` once the invoice is
    `slow_after` old, and not past `deadline`."""

    first: dt.timedelta
    cap: dt.timedelta
    slow_after: dt.timedelta
    slow_every: dt.timedelta
    deadline: dt.timedelta

    def delay(self, attempts: int, age: dt.timedelta) -> dt.timedelta:
        if age >= self.slow_after:
            return self.slow_every
        doublings = min(max(attempts - 1, 0), 32)  # bounded: the cap is reached long before
        return min(self.first * (1 << doublings), self.cap)


def cadences(context: ServiceContext) -> dict[str, Cadence]:
    settings = context.settings
    deadline = dt.timedelta(hours=settings.poll_deadline_hours)
    return {
        # stareMesaj allows 100 checks a message a day: doubling to POLL_INTERVAL_MAX (60 s)
        # for half an hour is at most ~40, then one every 25 minutes is ~56 more.
        "RO": Cadence(
            first=dt.timedelta(seconds=settings.poll_interval_initial),
            cap=dt.timedelta(seconds=settings.poll_interval_max),
            slow_after=dt.timedelta(minutes=30),
            slow_every=dt.timedelta(minutes=25),
            deadline=deadline,
        ),
        # KSeF's status limit is per NIP and generous (1200 a minute): doubling to the cap,
        # then every 5 minutes.
        "PL": Cadence(
            first=dt.timedelta(seconds=settings.poll_interval_initial),
            cap=dt.timedelta(seconds=settings.poll_interval_max),
            slow_after=dt.timedelta(hours=1),
            slow_every=dt.timedelta(minutes=5),
            deadline=deadline,
        ),
        # A French platform publishes no call limit: the same, then every 10 minutes.
        "FR": Cadence(
            first=dt.timedelta(seconds=settings.poll_interval_initial),
            cap=dt.timedelta(seconds=settings.poll_interval_max),
            slow_after=dt.timedelta(hours=1),
            slow_every=dt.timedelta(minutes=10),
            deadline=deadline,
        ),
        # Neither the Peppol access point nor the German platforms publish a call limit
        # (their 429s carry Retry-After, which is honoured): the same, then every 10 minutes.
        **{
            country: Cadence(
                first=dt.timedelta(seconds=settings.poll_interval_initial),
                cap=dt.timedelta(seconds=settings.poll_interval_max),
                slow_after=dt.timedelta(hours=1),
                slow_every=dt.timedelta(minutes=10),
                deadline=deadline,
            )
            for country in ("BE", "DE")
        },
        # SDI publishes no call limit and has up to 5 days to notify (an NS comes within 5
        # days of receipt); after an MC to a public administration, AT comes 10 days later:
        # the same doubling, then every 10 minutes, waiting at least 11 days.
        "IT": Cadence(
            first=dt.timedelta(seconds=settings.poll_interval_initial),
            cap=dt.timedelta(seconds=settings.poll_interval_max),
            slow_after=dt.timedelta(hours=1),
            slow_every=dt.timedelta(minutes=10),
            deadline=max(deadline, dt.timedelta(days=11)),
        ),
    }


def followers_for(
    context: ServiceContext, http: httpx.AsyncClient, *, livemode: bool
) -> dict[str, Follower]:
    """Each country's follower for one mode, with that mode's endpoints: a sandbox invoice is
    followed at the sandbox, a live one at the live system (or not at all: never the sandbox)."""
    governments = context.settings.governments()

    def in_mode(endpoints: GovernmentEndpoints[T], make: Callable[[T], Follower]) -> Follower:
        try:
            return make(endpoints.for_mode(livemode))
        except LiveNotConfiguredError as exc:
            return NotConfiguredFollower(exc)

    return {
        "RO": in_mode(governments.anaf, lambda e: AnafStatusFollower(context, http, e)),
        "PL": in_mode(governments.ksef, lambda e: KsefStatusFollower(context, http, e)),
        "FR": in_mode(governments.fr_pa, lambda e: PaStatusFollower(context, http, e)),
        "BE": in_mode(
            governments.peppol, lambda e: PeppolStatusFollower(context, http, e, country="BE")
        ),
        "DE": GermanStatusFollower(
            zre=in_mode(governments.zre, lambda e: ZreStatusFollower(context, http, e)),
            peppol=in_mode(
                governments.peppol, lambda e: PeppolStatusFollower(context, http, e, country="DE")
            ),
        ),
        "IT": in_mode(governments.sdi, lambda e: SdiStatusFollower(context, http, e)),
    }


def register_handlers(context: ServiceContext) -> None:
    known = cadences(context)

    async def schedule_status_poll(message: EventMessage) -> None:
        upload_id = (message.metadata or {}).get("uploadId")
        cadence = known.get(message.country)
        async with context.pool.acquire() as conn:
            connection_id = await conn.fetchval(
                "SELECT connection_id FROM submissions WHERE invoice_id = $1", message.invoiceId
            )
            if upload_id is None or connection_id is None or cadence is None:
                log.error("invoice.submitted for %s cannot be followed", message.invoiceId)
                return
            await conn.execute(
                "INSERT INTO status_polls (invoice_id, connection_id, upload_id, version, "
                "country, deadline_at, next_poll_at, traceparent) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                "ON CONFLICT (invoice_id) DO NOTHING",
                message.invoiceId,
                connection_id,
                str(upload_id),
                message.version,
                message.country,
                utcnow() + cadence.deadline,
                utcnow() + cadence.first,
                current_traceparent(),
            )

    subscribe_events(
        context.broker, INVOICE_SUBMITTED, group_id=GROUP_ID, handle=schedule_status_poll
    )


async def follow_uploads(context: ServiceContext) -> None:
    """The poll loop: claim due rows, ask each one's government, record decisions."""
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        followers = {
            livemode: followers_for(context, http, livemode=livemode) for livemode in (False, True)
        }
        known = cadences(context)
        while True:
            try:
                claimed = await _claim_due_polls(context)
                if claimed:
                    await asyncio.gather(
                        *(_traced_poll(context, followers, known, row) for row in claimed)
                    )
                    continue
            except Exception:
                log.exception("poll loop failed; retrying")
            await asyncio.sleep(IDLE_PAUSE_SECONDS)


async def _claim_due_polls(context: ServiceContext) -> list[dict[str, Any]]:
    # A claimed poll not finished within the lease is taken up again (its poller died).
    lease = dt.timedelta(seconds=context.settings.work_lease_seconds)
    async with context.pool.acquire() as conn:
        rows = await conn.fetch(
            "UPDATE status_polls SET next_poll_at = now() + $2::interval, attempts = attempts + 1 "
            "WHERE invoice_id IN (SELECT invoice_id FROM status_polls WHERE next_poll_at <= now() "
            "ORDER BY next_poll_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
            "RETURNING status_polls.*, "
            "(SELECT row_to_json(i) FROM "
            "(SELECT account_id, country, livemode, external_id FROM invoices "
            " WHERE id = status_polls.invoice_id) i)::jsonb AS invoice",
            CLAIM_BATCH,
            lease,
        )
    return [dict(r) for r in rows]


async def _traced_poll(
    context: ServiceContext,
    followers: dict[bool, dict[str, Follower]],
    known: dict[str, Cadence],
    poll: dict[str, Any],
) -> None:
    """One status check, as a span of the invoice's trace, its log lines naming it."""
    with (
        continued(poll["traceparent"]),
        tracer().start_as_current_span(
            f"poll {poll['country']} status",
            attributes={"clearway.invoice_id": poll["invoice_id"]},
        ),
        log_context(
            invoice_id=poll["invoice_id"], account_id=(poll["invoice"] or {}).get("account_id")
        ),
    ):
        await _poll_once(context, followers, known, poll)


async def _poll_once(
    context: ServiceContext,
    followers: dict[bool, dict[str, Follower]],
    known: dict[str, Cadence],
    poll: dict[str, Any],
) -> None:
    livemode: bool = poll["invoice"]["livemode"]
    follower, cadence = followers[livemode].get(poll["country"]), known.get(poll["country"])
    if follower is None or cadence is None:
        log.error("no follower for %s invoices (%s)", poll["country"], poll["invoice_id"])
        return  # the lease brings it back; a poller that knows the country will take it
    calls: list[GovCall] = []
    try:
        async with context.pool.acquire() as conn:
            outcome = await follower.follow(conn, poll, calls)
            if isinstance(outcome, Pending):
                await _pending(conn, poll, cadence, outcome, calls)
            else:
                await _decided(conn, poll, outcome, calls)
    except Exception:
        RETRIES.labels("status", poll["country"], "error").inc()
        log.exception("following %s failed; the lease brings it back", poll["invoice_id"])
        return
    context.relay.wake()


def _ref(poll: dict[str, Any]) -> InvoiceRef:
    info = poll["invoice"]
    return InvoiceRef(
        invoice_id=poll["invoice_id"],
        account_id=info["account_id"],
        country=info["country"],
        livemode=info["livemode"],
        external_id=info["external_id"],
    )


async def _pending(
    conn: Connection,
    poll: dict[str, Any],
    cadence: Cadence,
    pending: Pending,
    calls: list[GovCall],
) -> None:
    now = utcnow()
    deadline = poll["deadline_at"]
    if deadline is not None and now >= deadline:
        await _missed_deadline(conn, poll, pending, calls)
        return
    at = pending.at or now + cadence.delay(poll["attempts"], now - poll["created_at"])
    if deadline is not None:
        at = min(at, deadline)
    async with conn.transaction():
        await record_calls(conn, poll["invoice_id"], "status", calls)
        await conn.execute(
            "UPDATE status_polls SET next_poll_at = $2, last_answer = $3, "
            "decided_state = COALESCE($4, decided_state), "
            "decided_document = COALESCE($5, decided_document) WHERE invoice_id = $1",
            poll["invoice_id"],
            at,
            pending.reason[:1000],
            pending.decided.state if pending.decided else None,
            pending.decided.document_id if pending.decided else None,
        )


async def _missed_deadline(
    conn: Connection, poll: dict[str, Any], pending: Pending, calls: list[GovCall]
) -> None:
    upload_id = poll["upload_id"]
    hours = (poll["deadline_at"] - poll["created_at"]).total_seconds() / 3600
    async with conn.transaction():
        await record_calls(conn, poll["invoice_id"], "status", calls)
        await append_event(
            conn,
            _ref(poll),
            NewEvent(
                type=EventType.ERROR,
                expected_version=poll["version"],
                causation_id=f"status-deadline:{upload_id}",
                metadata={
                    "stage": "status",
                    "reason": "decision_deadline",
                    "uploadId": upload_id,
                    "lastAnswer": pending.reason,
                    "attempts": await attempts_of(conn, poll["invoice_id"], "status"),
                },
                invoice=InvoiceChanges(
                    error_message=f"No decision on upload {upload_id} {hours:g} hours after it "
                    f"was filed; the government's last answer: {pending.reason}",
                    error_translated="The government has the invoice but did not decide on it "
                    "in time: it is still processing it, or it lost it.",
                    error_fix=f"Do not send the invoice again: it was filed as upload "
                    f"{upload_id}. Look it up in the government's portal (ANAF: SPV); send it "
                    "again only if the portal has no record of it.",
                ),
            ),
        )
        await conn.execute("DELETE FROM status_polls WHERE invoice_id = $1", poll["invoice_id"])


async def _decided(
    conn: Connection, poll: dict[str, Any], outcome: Accepted | Rejected, calls: list[GovCall]
) -> None:
    invoice_id: str = poll["invoice_id"]
    decision = "accepted" if isinstance(outcome, Accepted) else "rejected"
    log.info("%s decided: %s", poll["country"], decision)
    causation = f"{poll['country'].lower()}-status:{poll['upload_id']}"
    if poll["country"] == "RO":
        causation = f"anaf-status:{poll['upload_id']}"  # as the walking skeleton recorded it
    async with conn.transaction():
        await record_calls(conn, invoice_id, "status", calls)
        attempts = await attempts_of(conn, invoice_id, "status")
        if isinstance(outcome, Accepted):
            await conn.execute(
                "INSERT INTO gov_receipts (invoice_id, download_id, content, content_type, "
                "file_name) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (invoice_id) DO NOTHING",
                invoice_id,
                outcome.gov_id,
                outcome.receipt,
                outcome.content_type,
                outcome.file_name,
            )
            await append_event(
                conn,
                _ref(poll),
                NewEvent(
                    type=EventType.ACCEPTED,
                    expected_version=poll["version"],
                    causation_id=causation,
                    metadata={
                        "govId": outcome.gov_id,
                        "govMessage": outcome.gov_message,
                        "attempts": attempts,
                    },
                    invoice=InvoiceChanges(gov_id=outcome.gov_id),
                ),
            )
        else:
            await _rejected(conn, poll, outcome, attempts, causation)
        await conn.execute("DELETE FROM status_polls WHERE invoice_id = $1", invoice_id)


async def _rejected(
    conn: Connection,
    poll: dict[str, Any],
    outcome: Rejected,
    attempts: list[dict[str, object]],
    causation: str,
) -> None:
    translated = translate_all(poll["country"], outcome.messages)
    log_uncatalogued(poll["country"], translated)
    if outcome.report is not None and outcome.gov_id is not None:  # ANAF's error report
        await conn.execute(
            "INSERT INTO gov_receipts (invoice_id, download_id, content, content_type, file_name) "
            "VALUES ($1, $2, $3, 'application/zip', $4) ON CONFLICT (invoice_id) DO NOTHING",
            poll["invoice_id"],
            outcome.gov_id,
            outcome.report,
            f"{outcome.gov_id}.zip",
        )
    await append_event(
        conn,
        _ref(poll),
        NewEvent(
            type=EventType.REJECTED,
            expected_version=poll["version"],
            causation_id=causation,
            metadata={
                "stage": "government",
                "govId": outcome.gov_id,
                "errors": [d.public() for d in translated.details],
                "attempts": attempts,
            },
            invoice=InvoiceChanges(
                gov_id=outcome.gov_id,
                error_message=translated.message,
                error_translated=translated.translated,
                error_fix=translated.fix,
            ),
        ),
    )

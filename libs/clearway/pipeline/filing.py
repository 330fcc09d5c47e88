"""The durable submission schedule every country's submitter works from, and the record of every
call made to a government for an invoice.

A `submissions` row is written when `submit.<cc>` is consumed (so the partition moves on at
once) and worked by a loop: claimed with FOR UPDATE SKIP LOCKED by pushing `next_attempt_at` a
lease ahead, which is also the claim's fencing token. Every transition of a claimed row is
conditional on that value, so a worker that outlived its lease changes nothing. A retry is the
row's `next_attempt_at`, never a sleep: a restart loses nothing and other invoices go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import httpx
from pydantic import BaseModel, ConfigDict

from clearway.accounts import active_connection
from clearway.config import GovernmentEndpoints, LiveNotConfiguredError, Settings
from clearway.connectors import GovCall
from clearway.domain.lifecycle import EventType
from clearway.eventstore import Connection, InvoiceChanges, InvoiceRef, NewEvent, append_event
from clearway.invoices import load_invoice
from clearway.messaging.envelope import EventMessage
from clearway.observability.logs import log_context
from clearway.observability.metrics import RETRIES
from clearway.observability.tracing import continued, current_traceparent, tracer
from clearway.resilience.backoff import Backoff
from clearway.resilience.breaker import Breakers
from clearway.resilience.ratelimit import (
    DailyQuota,
    TokenBucket,
    count_call,
    next_day_starts,
    take_token,
)
from clearway.runtime import ServiceContext
from clearway.store.documents import document_content
from clearway.translation import translate_all
from clearway.translation.unknown import log_uncatalogued

log = logging.getLogger(__name__)

Work = Callable[["ClaimedSubmission"], Awaitable[None]]  # what a submitter does with one row
# The invoice's request -> the government its submission goes to (DE: ZRE or Peppol).
GovernmentOf = Callable[[Mapping[str, Any]], GovernmentEndpoints[Any]]
CLAIM_BATCH = 6  # rows worked at once per process: each holds a pool connection while it calls
IDLE_PAUSE_SECONDS = 0.5  # how often an idle replica looks for rows others scheduled


class ClaimedSubmission(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: InvoiceRef
    connection_id: str
    state: str
    version: int
    causation_id: str
    attempts: int
    upload_id: str | None
    uncertain_since: dt.datetime | None
    reconcile_until: dt.datetime | None
    gov_session: str | None  # KSeF: the session the upload went in
    updated_at: dt.datetime
    lease: dt.datetime  # the claim: every update below is conditional on it
    supplier_vat: str
    sandbox_scenario: str | None
    traceparent: str | None = None  # the span that scheduled it: its work continues that trace


class LeaseLostError(Exception):
    """Another worker claimed the row since (this one outlived its lease): stop, change nothing."""


async def take_submission(
    conn: Connection,
    message: EventMessage,
    *,
    government: str,
    endpoints: GovernmentOf,
    with_token: bool = True,
) -> None:
    """What every submitter does with a `submit.<cc>` message: schedule the upload with the
    supplier's company's active connection of the invoice's mode, or put the invoice in
    `error` without one, or when it is live and its government's live endpoint is not
    configured (checked first: nothing is sent anywhere). `with_token=False` for networks
    whose connection is an identifier, not a token (FR)."""
    invoice = await load_invoice(conn, message)
    livemode = invoice.ref.livemode
    if livemode:
        not_configured: LiveNotConfiguredError | None = None
        try:
            endpoints(invoice.request.model_dump(mode="json")).for_mode(livemode)
        except LiveNotConfiguredError as exc:
            not_configured = exc
        if not_configured is not None:
            log.error("live invoice %s not sent: %s", message.invoiceId, not_configured)
            await append_event(
                conn,
                invoice.ref,
                NewEvent(
                    type=EventType.ERROR,
                    expected_version=message.version,
                    causation_id=message.eventId,
                    metadata={
                        "stage": "submission",
                        **_live_not_configured_metadata(not_configured),
                    },
                    invoice=InvoiceChanges(**_live_not_configured_fields(not_configured)),
                ),
            )
            return
    connection_id: str | None = None
    if invoice.company_id is not None and with_token:
        connection = await active_connection(
            conn, invoice.company_id, message.country, livemode=livemode
        )
        connection_id = connection.id if connection is not None else None
    elif invoice.company_id is not None:
        connection_id = await conn.fetchval(
            "SELECT id FROM connections WHERE company_id = $1 AND country = $2 "
            "AND livemode = $3 AND status = 'active'",
            invoice.company_id,
            message.country,
            livemode,
        )
    if connection_id is not None:
        await schedule_submission(conn, message, connection_id)
        return
    await append_event(
        conn,
        invoice.ref,
        NewEvent(
            type=EventType.ERROR,
            expected_version=message.version,
            causation_id=message.eventId,
            metadata={"stage": "submission", "reason": "no_active_connection"},
            invoice=InvoiceChanges(
                error_message=f"The supplier's company has no active {government} connection.",
                error_fix=f"Connect the company to {government} (POST /v1/connections), "
                "then send the invoice again.",
            ),
        ),
    )


async def schedule_submission(conn: Connection, message: EventMessage, connection_id: str) -> bool:
    """The row that makes the invoice due now; False when it exists (a redelivery)."""
    inserted = await conn.fetchval(
        "INSERT INTO submissions (invoice_id, connection_id, country, state, version, "
        "causation_id, next_attempt_at, traceparent) "
        "VALUES ($1, $2, $3, 'pending', $4, $5, now(), $6) "
        "ON CONFLICT (invoice_id) DO NOTHING RETURNING invoice_id",
        message.invoiceId,
        connection_id,
        message.country,
        message.version,
        message.eventId,
        current_traceparent(),
    )
    return inserted is not None


async def claim_due_submissions(
    conn: Connection, country: str, limit: int, lease: dt.timedelta
) -> list[ClaimedSubmission]:
    rows = await conn.fetch(
        "UPDATE submissions s SET next_attempt_at = clock_timestamp() + $3::interval "
        "FROM invoices i WHERE i.id = s.invoice_id AND s.invoice_id IN ("
        " SELECT invoice_id FROM submissions WHERE country = $1 AND next_attempt_at <= now() "
        " ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "RETURNING s.*, i.account_id, i.livemode, i.external_id, i.supplier_vat, "
        "i.sandbox_scenario",
        country,
        limit,
        lease,
    )
    return [_claimed(row) for row in rows]


def _claimed(row: Mapping[str, Any]) -> ClaimedSubmission:
    return ClaimedSubmission(
        ref=InvoiceRef(
            invoice_id=row["invoice_id"],
            account_id=row["account_id"],
            country=row["country"],
            livemode=row["livemode"],
            external_id=row["external_id"],
        ),
        connection_id=row["connection_id"],
        state=row["state"],
        version=row["version"],
        causation_id=row["causation_id"],
        attempts=row["attempts"],
        upload_id=row["upload_id"],
        uncertain_since=row["uncertain_since"],
        reconcile_until=row["reconcile_until"],
        gov_session=row["gov_session"],
        updated_at=row["updated_at"],
        lease=row["next_attempt_at"],
        supplier_vat=row["supplier_vat"],
        sandbox_scenario=row["sandbox_scenario"],
        traceparent=row["traceparent"],
    )


async def _update(
    conn: Connection, submission: ClaimedSubmission, **fields: Any
) -> ClaimedSubmission:
    """Set columns (names are ours) of a row this worker still holds; raise if it does not.

    A timedelta is counted from the database's clock, the one every replica shares."""
    assignments = ", ".join(
        f"{name} = clock_timestamp() + ${i}::interval"
        if isinstance(value, dt.timedelta)
        else f"{name} = ${i}"
        for i, (name, value) in enumerate(fields.items(), start=3)
    )
    row = await conn.fetchrow(
        f"UPDATE submissions SET {assignments}, updated_at = clock_timestamp() "  # noqa: S608
        "WHERE invoice_id = $1 AND next_attempt_at = $2 RETURNING *",
        submission.ref.invoice_id,
        submission.lease,
        *fields.values(),
    )
    if row is None:
        raise LeaseLostError(submission.ref.invoice_id)
    return submission.model_copy(
        update={
            "state": row["state"],
            "attempts": row["attempts"],
            "uncertain_since": row["uncertain_since"],
            "reconcile_until": row["reconcile_until"],
            "gov_session": row["gov_session"],
            "updated_at": row["updated_at"],
            "lease": row["next_attempt_at"],
        }
    )


async def mark_uploading(
    conn: Connection,
    submission: ClaimedSubmission,
    lease: dt.timedelta,
    *,
    gov_session: str | None = None,
) -> ClaimedSubmission:
    """Committed before the upload leaves: a crash from here on is reconciled, never re-sent.

    The lease is renewed so that the upload has all of it; `gov_session` records where the
    upload goes when the government has sessions (KSeF), to look for it there."""
    return await _update(
        conn,
        submission,
        state="uploading",
        attempts=submission.attempts + 1,
        next_attempt_at=lease,
        gov_session=gov_session or submission.gov_session,
    )


async def retry_at(
    conn: Connection,
    submission: ClaimedSubmission,
    when: dt.datetime,
    *,
    state: str = "pending",
    last_error: str | None = None,
    **fields: Any,
) -> ClaimedSubmission:
    RETRIES.labels("submission", submission.ref.country, state).inc()
    return await _update(
        conn, submission, state=state, next_attempt_at=when, last_error=last_error, **fields
    )


async def record_calls(
    conn: Connection, invoice_id: str, stage: str, calls: Sequence[GovCall]
) -> None:
    if calls:
        await conn.executemany(
            "INSERT INTO gov_calls (invoice_id, stage, endpoint, http_status, duration_ms, "
            "outcome) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (invoice_id, stage, c.endpoint, c.http_status, c.duration_ms, c.outcome)
                for c in calls
            ],
        )


async def attempts_of(conn: Connection, invoice_id: str, stage: str) -> list[dict[str, object]]:
    """The stage's calls, numbered, as the final event's `attempts` metadata shows them."""
    rows = await conn.fetch(
        "SELECT endpoint, http_status, duration_ms, outcome FROM gov_calls "
        "WHERE invoice_id = $1 AND stage = $2 ORDER BY id",
        invoice_id,
        stage,
    )
    return [
        GovCall(
            endpoint=r["endpoint"],
            http_status=r["http_status"],
            duration_ms=r["duration_ms"],
            outcome=r["outcome"],
        ).public(attempt)
        for attempt, r in enumerate(rows, start=1)
    ]


async def finish_uploaded(
    conn: Connection,
    submission: ClaimedSubmission,
    *,
    upload_id: str,
    calls: Sequence[GovCall],
    metadata: Mapping[str, Any],
) -> None:
    """The government has it: `invoice.submitted` with every attempt, in one transaction."""
    async with conn.transaction():
        await _update(conn, submission, state="uploaded", upload_id=upload_id, next_attempt_at=None)
        await record_calls(conn, submission.ref.invoice_id, "submission", calls)
        attempts = await attempts_of(conn, submission.ref.invoice_id, "submission")
        await append_event(
            conn,
            submission.ref,
            NewEvent(
                type=EventType.SUBMITTED,
                expected_version=submission.version,
                causation_id=submission.causation_id,
                metadata={**metadata, "uploadId": upload_id, "attempts": attempts},
            ),
        )
    log.info("submitted to %s as %s", submission.ref.country, upload_id)


async def document_or_fail(conn: Connection, submission: ClaimedSubmission) -> bytes | None:
    """The converted document to submit; without one the invoice goes to `error` (None)."""
    content = await document_content(conn, submission.ref.invoice_id)
    if content is None:
        await finish_failed(
            conn,
            submission,
            calls=[],
            metadata={"reason": "no_document"},
            error_message="Clearway has no converted document for this invoice.",
        )
    return content


async def finish_failed(  # noqa: PLR0913 - the parts of one error event
    conn: Connection,
    submission: ClaimedSubmission,
    *,
    calls: Sequence[GovCall],
    metadata: Mapping[str, Any],
    error_message: str,
    error_translated: str | None = None,
    error_fix: str | None = None,
) -> None:
    """The invoice goes to `error` with what the government said and what to do about it."""
    async with conn.transaction():
        await _update(
            conn, submission, state="failed", next_attempt_at=None, last_error=error_message
        )
        await record_calls(conn, submission.ref.invoice_id, "submission", calls)
        attempts = await attempts_of(conn, submission.ref.invoice_id, "submission")
        await append_event(
            conn,
            submission.ref,
            NewEvent(
                type=EventType.ERROR,
                expected_version=submission.version,
                causation_id=submission.causation_id,
                metadata={"stage": "submission", **metadata, "attempts": attempts},
                invoice=InvoiceChanges(
                    error_message=error_message,
                    error_translated=error_translated,
                    error_fix=error_fix,
                ),
            ),
        )


# --- outcomes every submitter shares --------------------------------------------------------


async def retry_or_give_up(  # noqa: PLR0913 - the parts of one decision
    conn: Connection,
    submission: ClaimedSubmission,
    calls: Sequence[GovCall],
    reason: str,
    *,
    backoff: Backoff,
    rng: random.Random,
    government: str,
    retry_after: float | None = None,
) -> None:
    """The government took nothing: upload again after a backoff, or give up after the last."""
    if backoff.exhausted(submission.attempts):
        await finish_failed(
            conn,
            submission,
            calls=calls,
            metadata={"reason": "government_unavailable", "govEndpoint": government},
            error_message=f"{government} did not take the invoice in {submission.attempts} "
            f"uploads; the last answer: {reason}",
            error_translated=f"{government} was unavailable or over its limits each time "
            "Clearway tried; it registered nothing.",
            error_fix="Nothing in the invoice to change. Send it again later "
            "(POST /v1/invoices with a new X-Idempotency-Key).",
        )
        return
    when = backoff.next_attempt_at(
        dt.datetime.now(dt.UTC), submission.attempts, rng, retry_after=retry_after
    )
    async with conn.transaction():
        await record_calls(conn, submission.ref.invoice_id, "submission", calls)
        await retry_at(conn, submission, when, state="pending", last_error=reason)


class HeldBackError(Exception):
    """A call may not go out yet (its endpoint's breaker is open, or a call limit or a daily
    quota is spent): nothing is sent, and the row is simply due again at `at`."""

    def __init__(self, at: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason


def held_for(seconds: float, reason: str) -> HeldBackError:
    return HeldBackError(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds), reason)


async def _held_by_limits(
    conn: Connection, buckets: Sequence[TokenBucket], quota: DailyQuota | None
) -> HeldBackError | None:
    """Take a token from each bucket and count the call against the quota; what holds it back,
    if anything does."""
    for bucket in buckets:
        wait = await take_token(conn, bucket)
        if wait:
            return held_for(wait, f"call limit {bucket.key}")
    now = dt.datetime.now(dt.UTC)
    if quota is not None and not await count_call(conn, quota, now):
        return HeldBackError(next_day_starts(quota, now), f"daily quota {quota.key}")
    return None


class SubmissionGate:
    """What stands between one submitter and a government: a circuit breaker per endpoint (this
    process's), the call limits (buckets shared by every replica), the backoff between uploads,
    and the guard around each row's work. Every submitter goes through one, so each asks a
    breaker exactly once per call: in half-open, a second ask would refuse the very probe the
    first one let through, and the breaker would never close again."""

    def __init__(self, pool: asyncpg.Pool[Any], settings: Settings) -> None:
        self._pool = pool
        # How long a claimed row is this worker's (WORK_LEASE_SECONDS): a crashed worker's rows,
        # uploads in flight included, are taken up again when it ends.
        self.lease = dt.timedelta(seconds=settings.work_lease_seconds)
        self._breakers = Breakers(reset_after=settings.breaker_reset_seconds)
        self._backoff = Backoff(
            base=settings.submit_retry_base,
            cap=settings.submit_retry_cap,
            max_attempts=settings.submit_max_attempts,
        )
        self._rng = random.Random()  # noqa: S311 - jitter, nothing secret

    async def work(
        self, submission: ClaimedSubmission, step: Callable[[Connection], Awaitable[None]]
    ) -> None:
        """Work one claimed row. Held back: due again when the gate opens. Taken over by another
        worker: change nothing more. Anything else: the row keeps its lease and comes back when
        the lease ends, so nothing is lost."""
        try:
            async with self._pool.acquire() as conn:
                try:
                    await step(conn)
                except HeldBackError as held:
                    await retry_at(
                        conn, submission, held.at, state=submission.state, last_error=held.reason
                    )
        except LeaseLostError:
            log.info("%s was taken over by another worker", submission.ref.invoice_id)
        except Exception:
            log.exception("working the submission of %s failed", submission.ref.invoice_id)

    async def may_call(
        self,
        conn: Connection,
        endpoint: str,
        *buckets: TokenBucket,
        quota: DailyQuota | None = None,
    ) -> None:
        """Raise HeldBackError unless a call to `endpoint` may go out now: its breaker lets it
        through, each bucket gives a token, and the daily quota (ANAF's) counts it. The breaker
        is asked first (an open one spends no shared token); held back by a limit after that,
        the call is given back to the breaker, so a half-open one lets the next caller probe."""
        breaker = self._breakers[endpoint]
        if not breaker.allow():
            wait = max(breaker.retry_at() - time.monotonic(), 0.5)
            raise held_for(wait, f"{endpoint}: circuit open")
        held = await _held_by_limits(conn, buckets, quota)
        if held is not None:
            breaker.release()
            raise held

    def settled(self, endpoint: str, calls: Sequence[GovCall], *, failed: bool) -> None:
        """Tell the endpoint's breaker how its last call went (a 429 is no failure)."""
        breaker = self._breakers[endpoint]
        if not failed:
            breaker.record_success()
        elif not (calls and calls[-1].http_status == httpx.codes.TOO_MANY_REQUESTS):
            breaker.record_failure()

    async def retry_or_give_up(  # noqa: PLR0913 - the parts of one decision
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        calls: Sequence[GovCall],
        reason: str,
        *,
        government: str,
        retry_after: float | None = None,
    ) -> None:
        await retry_or_give_up(
            conn,
            submission,
            calls,
            reason,
            backoff=self._backoff,
            rng=self._rng,
            government=government,
            retry_after=retry_after,
        )


async def fail_refused(  # noqa: PLR0913 - the parts of one refusal
    conn: Connection,
    submission: ClaimedSubmission,
    calls: Sequence[GovCall],
    messages: Sequence[str],
    *,
    government: str,
    reason: str = "upload_refused",
) -> None:
    """The government refused the upload in its own words: translated, with the field to fix."""
    translated = translate_all(submission.ref.country, messages)
    log_uncatalogued(submission.ref.country, translated)
    await finish_failed(
        conn,
        submission,
        calls=calls,
        metadata={
            "reason": reason,
            "govEndpoint": government,
            "errors": [d.public() for d in translated.details],
        },
        error_message=translated.message,
        error_translated=translated.translated,
        error_fix=translated.fix,
    )


async def reject_unfiled(  # noqa: PLR0913 - the parts of one rejection
    conn: Connection,
    submission: ClaimedSubmission,
    calls: Sequence[GovCall],
    messages: Sequence[str],
    *,
    government: str,
    reason: str,
) -> None:
    """The network refused the invoice itself (its receiver is not on Peppol, say): `rejected`
    with the three error fields, as a government's rejection; nothing was filed."""
    translated = translate_all(submission.ref.country, messages)
    log_uncatalogued(submission.ref.country, translated)
    async with conn.transaction():
        await _update(
            conn, submission, state="failed", next_attempt_at=None, last_error=translated.message
        )
        await record_calls(conn, submission.ref.invoice_id, "submission", calls)
        attempts = await attempts_of(conn, submission.ref.invoice_id, "submission")
        await append_event(
            conn,
            submission.ref,
            NewEvent(
                type=EventType.REJECTED,
                expected_version=submission.version,
                causation_id=submission.causation_id,
                metadata={
                    "stage": "submission",
                    "reason": reason,
                    "govEndpoint": government,
                    "errors": [d.public() for d in translated.details],
                    "attempts": attempts,
                },
                invoice=InvoiceChanges(
                    error_message=translated.message,
                    error_translated=translated.translated,
                    error_fix=translated.fix,
                ),
            ),
        )


async def fail_connection_lost(
    conn: Connection,
    submission: ClaimedSubmission,
    calls: Sequence[GovCall],
    reason: str,
    *,
    government: str,
) -> None:
    await finish_failed(
        conn,
        submission,
        calls=calls,
        metadata={"reason": "connection_expired", "connectionId": submission.connection_id},
        error_message=reason,
        error_translated=f"{government} no longer accepts the company's authorization, so "
        f"Clearway could not file the invoice; {government} registered nothing.",
        error_fix=f"Authorize the company's {government} connection again "
        "(POST /v1/connections), then send the invoice again.",
    )


async def fail_inactive_connection(
    conn: Connection,
    submission: ClaimedSubmission,
    calls: Sequence[GovCall],
    *,
    government: str,
) -> None:
    row = await conn.fetchrow(
        "SELECT status, last_error_message FROM connections WHERE id = $1",
        submission.connection_id,
    )
    status = row["status"] if row else "deleted"
    detail = f": {row['last_error_message']}" if row and row["last_error_message"] else "."
    await finish_failed(
        conn,
        submission,
        calls=calls,
        metadata={"reason": "connection_not_active", "connectionId": submission.connection_id},
        error_message=f"The company's {government} connection is {status}{detail}",
        error_translated=f"Clearway cannot file with {government} without an active "
        f"connection; {government} registered nothing.",
        error_fix=f"Authorize the company's {government} connection again "
        "(POST /v1/connections), then send the invoice again.",
    )


async def fail_unconfirmed(
    conn: Connection,
    submission: ClaimedSubmission,
    calls: Sequence[GovCall],
    *,
    government: str,
    where_to_check: str,
) -> None:
    """A lost upload cannot be looked for without a connection: say so, and do not resend."""
    await finish_failed(
        conn,
        submission,
        calls=calls,
        metadata={"reason": "upload_unconfirmed", "connectionId": submission.connection_id},
        error_message=f"The answer to the upload was lost and the company's {government} "
        f"connection is no longer active, so Clearway cannot check whether {government} "
        "registered the invoice.",
        error_translated=f"{government} may or may not have the invoice.",
        error_fix=f"Do not send the invoice again before checking {where_to_check}; if it is "
        "not there, authorize the connection again (POST /v1/connections) and send it again.",
    )


def _live_not_configured_metadata(exc: LiveNotConfiguredError) -> dict[str, Any]:
    return {
        "reason": "live_not_configured",
        "govEndpoint": exc.government,
        "missingSettings": list(exc.missing),
    }


def _live_not_configured_fields(exc: LiveNotConfiguredError) -> dict[str, str]:
    settings = ", ".join(exc.missing)
    return {
        "error_message": str(exc),
        "error_translated": f"This Clearway deployment has no live {exc.government} endpoint "
        "or credentials, so it sent the invoice nowhere: a live invoice never goes to the "
        "sandbox.",
        "error_fix": f"The deployment's operator must set {settings} (README: Live mode) and "
        "restart the services; then send the invoice again (POST /v1/invoices with a new "
        "X-Idempotency-Key). An sk_test_ key files with the sandbox instead.",
    }


async def fail_live_not_configured(
    conn: Connection, submission: ClaimedSubmission, exc: LiveNotConfiguredError
) -> None:
    """A live row whose government lost its live configuration since it was scheduled: `error`
    naming the settings, nothing sent."""
    log.error("live invoice %s not sent: %s", submission.ref.invoice_id, exc)
    fields = _live_not_configured_fields(exc)
    await finish_failed(
        conn,
        submission,
        calls=[],
        metadata=_live_not_configured_metadata(exc),
        error_message=fields["error_message"],
        error_translated=fields["error_translated"],
        error_fix=fields["error_fix"],
    )


def work_by_mode(
    context: ServiceContext, sandbox: Work, live: Work | LiveNotConfiguredError
) -> Work:
    """One submitter per mode, each with its own clients, breakers and buckets: a row goes to
    its invoice's mode's. A live row with no live configuration goes to `error`."""

    async def work(submission: ClaimedSubmission) -> None:
        if not submission.ref.livemode:
            await sandbox(submission)
        elif not isinstance(live, LiveNotConfiguredError):
            await live(submission)
        else:
            try:
                async with context.pool.acquire() as conn:
                    await fail_live_not_configured(conn, submission, live)
            except LeaseLostError:
                log.info("%s was taken over by another worker", submission.ref.invoice_id)

    return work


async def work_due_submissions(
    context: ServiceContext,
    country: str,
    work: Callable[[ClaimedSubmission], Awaitable[None]],
    due: asyncio.Event,
) -> None:
    """A submitter's loop: claim due rows (any replica's), work each; sleep only when none is
    due, until `due` is set (this process scheduled a row) or the idle pause ends."""
    lease = dt.timedelta(seconds=context.settings.work_lease_seconds)
    while True:
        try:
            async with context.pool.acquire() as conn:
                claimed = await claim_due_submissions(conn, country, CLAIM_BATCH, lease)
            if claimed:
                await asyncio.gather(*(_traced(country, work, row) for row in claimed))
                context.relay.wake()
                continue
        except Exception:
            log.exception("the %s submission loop failed; retrying", country)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(due.wait(), timeout=IDLE_PAUSE_SECONDS)
        due.clear()


async def _traced(
    country: str, work: Callable[[ClaimedSubmission], Awaitable[None]], row: ClaimedSubmission
) -> None:
    """One submission's work, as a span of the invoice's trace, its log lines naming it."""
    with (
        continued(row.traceparent),
        tracer().start_as_current_span(
            f"submit {country}", attributes={"clearway.invoice_id": row.ref.invoice_id}
        ),
        log_context(invoice_id=row.ref.invoice_id, account_id=row.ref.account_id),
    ):
        await work(row)

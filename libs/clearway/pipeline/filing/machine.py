"""The filing machine: one claimed `submissions` row worked to its next state.

    pending      past the upload's limits, the document goes to the government's Filer, which
                 marks the upload in flight before it leaves and answers an outcome.
    uploading    found on a claim: the process died while the upload was in flight, so its
                 answer is lost like any other: reconciling.
    reconciling  past the lookup's limits, the Filer looks for the lost upload: found, adopted
                 (`reconciled: true`); not there, pending (sent again); unsure, looked for again.

Each outcome is applied here, in one transaction with the calls it took and the event it
ends in; the state table refuses any other move, and the lease fences every one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from clearway.config import LiveNotConfiguredError, Settings
from clearway.domain.ids import utcnow
from clearway.domain.lifecycle import EventType
from clearway.observability.metrics import RETRIES
from clearway.pipeline.filing.endings import (
    connection_inactive,
    connection_lost,
    fail,
    live_not_configured,
    refused,
    unconfirmed,
)
from clearway.pipeline.filing.gate import HeldBackError, SubmissionGate
from clearway.pipeline.filing.outcomes import (
    STAGE,
    AnswerLost,
    Attempt,
    ConnectionInactive,
    ConnectionLost,
    Filer,
    FindOutcome,
    LookAgain,
    NotFound,
    NotTaken,
    Refused,
    RejectedUnfiled,
    Unconfirmed,
    Uploaded,
    UploadOutcome,
)
from clearway.pipeline.filing.states import SubmissionState
from clearway.store import submissions
from clearway.store.events import NewEvent, append_event
from clearway.store.gov_calls import attempts_of, record_calls
from clearway.store.submissions import ClaimedSubmission, LeaseLostError

log = logging.getLogger(__name__)

# The invoice's request -> the Filer its submission goes to (DE: ZRE or Peppol); raises
# LiveNotConfiguredError for a live invoice whose government has no live configuration here.
Route = Callable[[Mapping[str, Any]], Filer]
IN_FLIGHT_AT_CRASH = "the submitter stopped while the upload was in flight"


class FilingMachine:
    """One per mode of one submitter: its own Filers' clients, breakers and backoff, so the
    sandbox's failures never hold live invoices back."""

    def __init__(self, pool: asyncpg.Pool[Any], settings: Settings, route: Route) -> None:
        self._pool = pool
        self._route = route
        self._gate = SubmissionGate(settings)

    async def work(self, submission: ClaimedSubmission) -> None:
        """Work one claimed row. Held back: due again when the gate opens. Taken over by another
        worker: change nothing more. Anything else: the row keeps its lease and comes back when
        the lease ends, so nothing is lost."""
        try:
            async with self._pool.acquire() as conn:
                attempt = Attempt(conn, submission, self._gate)
                try:
                    await self._step(attempt)
                except HeldBackError as held:
                    state = SubmissionState(attempt.submission.state)
                    await _due_again(attempt, state, held.at, held.reason)
        except LeaseLostError:
            log.info("%s was taken over by another worker", submission.ref.invoice_id)
        except Exception:
            log.exception("working the submission of %s failed", submission.ref.invoice_id)

    async def _step(self, attempt: Attempt) -> None:
        row = attempt.submission
        try:
            filer = self._route(row.request)
        except LiveNotConfiguredError as exc:
            await live_not_configured(attempt, exc)
            return
        state = SubmissionState(row.state)
        if state is SubmissionState.UPLOADING:
            await self._answer_lost(attempt, filer, AnswerLost(reason=IN_FLIGHT_AT_CRASH))
            return
        limits = (
            filer.upload_limits(row) if state is SubmissionState.PENDING else filer.find_limits(row)
        )
        await self._gate.may_call(
            attempt.conn, limits.endpoint, *limits.buckets, quota=limits.quota
        )
        outcome: UploadOutcome | FindOutcome
        if state is SubmissionState.PENDING:
            document = await attempt.document()
            if document is None:
                await fail(
                    attempt,
                    metadata={"reason": "no_document"},
                    error_message="Clearway has no converted document for this invoice.",
                )
                return
            outcome = await filer.upload(attempt, document)
        else:
            outcome = await filer.find(attempt)
        if outcome.endpoint_failed is not None:
            self._gate.settled(limits.endpoint, attempt.calls, failed=outcome.endpoint_failed)
        await self._apply(attempt, filer, outcome, reconciled=state is not SubmissionState.PENDING)

    async def _apply(
        self,
        attempt: Attempt,
        filer: Filer,
        outcome: UploadOutcome | FindOutcome,
        *,
        reconciled: bool,
    ) -> None:
        government = filer.government
        match outcome:
            case Uploaded():
                await _uploaded(attempt, government, outcome, reconciled=reconciled)
            case Refused() | RejectedUnfiled():
                await refused(attempt, government, outcome)
            case NotTaken():
                await self._not_taken(attempt, government, outcome)
            case AnswerLost():
                await self._answer_lost(attempt, filer, outcome)
            case ConnectionLost():
                await connection_lost(attempt, government, outcome.reason)
            case ConnectionInactive():
                await connection_inactive(attempt, government)
            case NotFound():
                await _due_again(attempt, SubmissionState.PENDING, utcnow(), outcome.reason)
            case LookAgain():
                await _due_again(attempt, SubmissionState.RECONCILING, outcome.at, outcome.reason)
            case Unconfirmed():
                await unconfirmed(attempt, government, outcome.where_to_check)

    async def _not_taken(self, attempt: Attempt, government: str, outcome: NotTaken) -> None:
        row = attempt.submission
        when = self._gate.next_upload_at(row.attempts, outcome.retry_after)
        if when is not None:
            await _due_again(attempt, SubmissionState.PENDING, when, outcome.reason)
            return
        await fail(
            attempt,
            metadata={"reason": "government_unavailable", "govEndpoint": government},
            error_message=f"{government} did not take the invoice in {row.attempts} "
            f"uploads; the last answer: {outcome.reason}",
            error_translated=f"{government} was unavailable or over its limits each time "
            "Clearway tried; it registered nothing.",
            error_fix="Nothing in the invoice to change. Send it again later "
            "(POST /v1/invoices with a new X-Idempotency-Key).",
        )

    async def _answer_lost(self, attempt: Attempt, filer: Filer, outcome: AnswerLost) -> None:
        row = attempt.submission
        log.warning(
            "the answer to the upload of %s was lost (%s); looking for it at %s",
            row.ref.invoice_id,
            outcome.reason,
            filer.government,
        )
        window: dict[str, Any] = {}
        if filer.reconcile_window is not None:
            started = row.updated_at  # set when the upload was marked in flight
            window = {
                "uncertain_since": row.uncertain_since or started,
                "reconcile_until": started + filer.reconcile_window,
            }
        at = utcnow() + filer.first_look_after
        await _due_again(attempt, SubmissionState.RECONCILING, at, outcome.reason, **window)


async def _due_again(
    attempt: Attempt, state: SubmissionState, at: dt.datetime, reason: str, **fields: Any
) -> None:
    """The row is due again at `at` in `state`, with the calls this attempt made."""
    row = attempt.submission
    RETRIES.labels(STAGE, row.ref.country, state.value).inc()
    async with attempt.conn.transaction():
        await record_calls(attempt.conn, row.ref.invoice_id, STAGE, attempt.calls)
        attempt.submission = await submissions.move(
            attempt.conn, row, state, next_attempt_at=at, last_error=reason, **fields
        )


async def _uploaded(
    attempt: Attempt, government: str, outcome: Uploaded, *, reconciled: bool
) -> None:
    """The government has it: `invoice.submitted` with every attempt, in one transaction."""
    row, conn = attempt.submission, attempt.conn
    metadata = {"govEndpoint": government, **outcome.details}
    if reconciled:
        metadata["reconciled"] = True
    async with conn.transaction():
        await submissions.move(
            conn, row, SubmissionState.UPLOADED, upload_id=outcome.upload_id, next_attempt_at=None
        )
        await record_calls(conn, row.ref.invoice_id, STAGE, attempt.calls)
        await append_event(
            conn,
            row.ref,
            NewEvent(
                type=EventType.SUBMITTED,
                expected_version=row.version,
                causation_id=row.causation_id,
                metadata={
                    **metadata,
                    "uploadId": outcome.upload_id,
                    # the connection the poller follows the upload with
                    "connectionId": row.connection_id,
                    "attempts": await attempts_of(conn, row.ref.invoice_id, STAGE),
                },
            ),
        )
    log.info("submitted to %s as %s", row.ref.country, outcome.upload_id)

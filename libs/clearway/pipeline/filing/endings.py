"""How a filing ends without the government having the invoice: `invoice.error` (or
`invoice.rejected`) with what was wrong and what to do about it, the row final, in one
transaction with the calls it took."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from clearway.config import LiveNotConfiguredError
from clearway.domain.lifecycle import EventType
from clearway.pipeline.filing.outcomes import STAGE, Attempt, Refused, RejectedUnfiled
from clearway.pipeline.filing.states import SubmissionState
from clearway.store import submissions
from clearway.store.events import NewEvent, append_event
from clearway.store.gov_calls import attempts_of, record_calls
from clearway.store.invoices import InvoiceChanges
from clearway.translation import translate_all
from clearway.translation.unknown import log_uncatalogued

log = logging.getLogger(__name__)


async def fail(  # noqa: PLR0913 - the parts of one final event
    attempt: Attempt,
    *,
    metadata: Mapping[str, Any],
    error_message: str,
    error_translated: str | None = None,
    error_fix: str | None = None,
    event_type: EventType = EventType.ERROR,
) -> None:
    """The invoice goes to `error` (or `rejected`) with what the government said and what to
    do about it; the row is final."""
    row, conn = attempt.submission, attempt.conn
    async with conn.transaction():
        await submissions.move(
            conn, row, SubmissionState.FAILED, next_attempt_at=None, last_error=error_message
        )
        await record_calls(conn, row.ref.invoice_id, STAGE, attempt.calls)
        await append_event(
            conn,
            row.ref,
            NewEvent(
                type=event_type,
                expected_version=row.version,
                causation_id=row.causation_id,
                metadata={
                    "stage": STAGE,
                    **metadata,
                    "attempts": await attempts_of(conn, row.ref.invoice_id, STAGE),
                },
                invoice=InvoiceChanges(
                    error_message=error_message,
                    error_translated=error_translated,
                    error_fix=error_fix,
                ),
            ),
        )


async def refused(attempt: Attempt, government: str, outcome: Refused | RejectedUnfiled) -> None:
    """Refused in the government's own words: translated, with the field to fix. A refusal of
    the invoice itself before anything was filed (RejectedUnfiled) is `rejected`, as a
    government's rejection; a refused upload is `error`."""
    country = attempt.submission.ref.country
    translated = translate_all(country, outcome.messages)
    log_uncatalogued(country, translated)
    await fail(
        attempt,
        metadata={
            "reason": outcome.reason,
            "govEndpoint": government,
            "errors": [d.public() for d in translated.details],
        },
        error_message=translated.message,
        error_translated=translated.translated,
        error_fix=translated.fix,
        event_type=EventType.REJECTED if isinstance(outcome, RejectedUnfiled) else EventType.ERROR,
    )


def _reauthorize(government: str) -> str:
    return (
        f"Authorize the company's {government} connection again "
        "(POST /v1/connections), then send the invoice again."
    )


async def connection_lost(attempt: Attempt, government: str, reason: str) -> None:
    await fail(
        attempt,
        metadata={"reason": "connection_expired", "connectionId": attempt.submission.connection_id},
        error_message=reason,
        error_translated=f"{government} no longer accepts the company's authorization, so "
        f"Clearway could not file the invoice; {government} registered nothing.",
        error_fix=_reauthorize(government),
    )


async def connection_inactive(attempt: Attempt, government: str) -> None:
    connection_id = attempt.submission.connection_id
    row = await attempt.conn.fetchrow(
        "SELECT status, last_error_message FROM connections WHERE id = $1", connection_id
    )
    status = row["status"] if row else "deleted"
    detail = f": {row['last_error_message']}" if row and row["last_error_message"] else "."
    await fail(
        attempt,
        metadata={"reason": "connection_not_active", "connectionId": connection_id},
        error_message=f"The company's {government} connection is {status}{detail}",
        error_translated=f"Clearway cannot file with {government} without an active "
        f"connection; {government} registered nothing.",
        error_fix=_reauthorize(government),
    )


async def unconfirmed(attempt: Attempt, government: str, where_to_check: str) -> None:
    await fail(
        attempt,
        metadata={"reason": "upload_unconfirmed", "connectionId": attempt.submission.connection_id},
        error_message=f"The answer to the upload was lost and the company's {government} "
        f"connection is no longer active, so Clearway cannot check whether {government} "
        "registered the invoice.",
        error_translated=f"{government} may or may not have the invoice.",
        error_fix=f"Do not send the invoice again before checking {where_to_check}; if it is "
        "not there, authorize the connection again (POST /v1/connections) and send it again.",
    )


def live_not_configured_metadata(exc: LiveNotConfiguredError) -> dict[str, Any]:
    return {
        "reason": "live_not_configured",
        "govEndpoint": exc.government,
        "missingSettings": list(exc.missing),
    }


def live_not_configured_fields(exc: LiveNotConfiguredError) -> dict[str, str]:
    settings = ", ".join(exc.missing)
    return {
        "error_message": str(exc),
        "error_translated": f"This Clearway deployment has no live {exc.government} endpoint "
        "or credentials, so it sent the invoice nowhere: a live invoice never goes to the "
        "sandbox.",
        "error_fix": f"The deployment's operator must set {settings} (docs/operations.md: Live "
        "mode) and restart the services; then send the invoice again (POST /v1/invoices with a "
        "new X-Idempotency-Key). An sk_test_ key files with the sandbox instead.",
    }


async def live_not_configured(attempt: Attempt, exc: LiveNotConfiguredError) -> None:
    """A live row whose government lost its live configuration since it was scheduled: `error`
    naming the settings, nothing sent."""
    log.error("live invoice %s not sent: %s", attempt.submission.ref.invoice_id, exc)
    fields = live_not_configured_fields(exc)
    await fail(
        attempt,
        metadata=live_not_configured_metadata(exc),
        error_message=fields["error_message"],
        error_translated=fields["error_translated"],
        error_fix=fields["error_fix"],
    )

"""How the poll machine (polling.py) records what a poll concluded, in the caller's transaction:
invoice.accepted with the receipt, invoice.rejected in the government's words and translated,
or invoice.error when no decision came by the deadline. Each carries the status calls as
`attempts`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearway.db import Connection
from clearway.domain.lifecycle import EventType
from clearway.pipeline.decisions import Accepted, Pending, Rejected
from clearway.store.events import NewEvent, append_event
from clearway.store.gov_calls import attempts_of
from clearway.store.gov_receipts import keep_receipt
from clearway.store.invoices import InvoiceChanges
from clearway.store.status_polls import Poll
from clearway.translation import translate_all
from clearway.translation.unknown import log_uncatalogued


async def record_accepted(conn: Connection, poll: Poll, accepted: Accepted, cause: str) -> None:
    await keep_receipt(
        conn,
        poll.invoice_id,
        download_id=accepted.gov_id,
        content=accepted.receipt,
        content_type=accepted.content_type,
        file_name=accepted.file_name,
    )
    await _conclude(
        conn,
        poll,
        EventType.ACCEPTED,
        cause,
        metadata={"govId": accepted.gov_id, "govMessage": accepted.gov_message},
        changes=InvoiceChanges(gov_id=accepted.gov_id),
    )


async def record_rejected(conn: Connection, poll: Poll, rejected: Rejected, cause: str) -> None:
    translated = translate_all(poll.country, rejected.messages)
    log_uncatalogued(poll.country, translated)
    if rejected.report is not None and rejected.gov_id is not None:  # ANAF's error report
        await keep_receipt(
            conn,
            poll.invoice_id,
            download_id=rejected.gov_id,
            content=rejected.report,
            content_type="application/zip",
            file_name=f"{rejected.gov_id}.zip",
        )
    await _conclude(
        conn,
        poll,
        EventType.REJECTED,
        cause,
        metadata={
            "stage": "government",
            "govId": rejected.gov_id,
            "errors": [d.public() for d in translated.details],
        },
        changes=InvoiceChanges(
            gov_id=rejected.gov_id,
            error_message=translated.message,
            error_translated=translated.translated,
            error_fix=translated.fix,
        ),
    )


async def record_missed_deadline(conn: Connection, poll: Poll, pending: Pending) -> None:
    upload_id = poll.upload_id
    hours = (poll.deadline_at - poll.created_at).total_seconds() / 3600 if poll.deadline_at else 0.0
    await _conclude(
        conn,
        poll,
        EventType.ERROR,
        f"status-deadline:{upload_id}",
        metadata={
            "stage": "status",
            "reason": "decision_deadline",
            "uploadId": upload_id,
            "lastAnswer": pending.reason,
        },
        changes=InvoiceChanges(
            error_message=f"No decision on upload {upload_id} {hours:g} hours after it "
            f"was filed; the government's last answer: {pending.reason}",
            error_translated="The government has the invoice but did not decide on it "
            "in time: it is still processing it, or it lost it.",
            error_fix=f"Do not send the invoice again: it was filed as upload "
            f"{upload_id}. Look it up in the government's portal (ANAF: SPV); send it "
            "again only if the portal has no record of it.",
        ),
    )


async def _conclude(  # noqa: PLR0913 - the event's parts, all named
    conn: Connection,
    poll: Poll,
    event_type: EventType,
    causation_id: str,
    *,
    metadata: Mapping[str, Any],
    changes: InvoiceChanges,
) -> None:
    """The poll's final event, with the status calls as `attempts`."""
    attempts = await attempts_of(conn, poll.invoice_id, "status")
    await append_event(
        conn,
        poll.ref,
        NewEvent(
            type=event_type,
            expected_version=poll.version,
            causation_id=causation_id,
            metadata={**metadata, "attempts": attempts},
            invoice=changes,
        ),
    )

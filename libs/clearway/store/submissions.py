"""The `submissions` table: the durable filing schedule. The only module that writes it.

A row is written when `submit.<cc>` is consumed and worked by a loop: claimed with FOR UPDATE
SKIP LOCKED by pushing `next_attempt_at` a lease ahead, which is also the claim's fencing
token. Every change of a claimed row is conditional on that value, so a worker that outlived
its lease changes nothing; and every change of state is checked against the state table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.pipeline.filing.states import SubmissionState, check_transition
from clearway.store.invoices import InvoiceRef, invoice_ref


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
    gov_session: str | None  # where the upload went when that is not the invoice (KSeF, SDI)
    updated_at: dt.datetime
    lease: dt.datetime  # the claim: every update below is conditional on it
    supplier_vat: str
    sandbox_scenario: str | None
    traceparent: str | None = None  # the span that scheduled it: its work continues that trace
    request: Mapping[str, Any] = {}  # the invoice as posted (DE routes on its buyer reference)


class LeaseLostError(Exception):
    """Another worker claimed the row since (this one outlived its lease): stop, change nothing."""


async def schedule(  # noqa: PLR0913 - the columns of a new row
    conn: Connection,
    *,
    invoice_id: str,
    connection_id: str,
    country: str,
    version: int,
    causation_id: str,
    traceparent: str | None,
) -> bool:
    """The row that makes the invoice due now; False when it exists (a redelivery)."""
    inserted = await conn.fetchval(
        "INSERT INTO submissions (invoice_id, connection_id, country, state, version, "
        "causation_id, next_attempt_at, traceparent) "
        "VALUES ($1, $2, $3, $4, $5, $6, now(), $7) "
        "ON CONFLICT (invoice_id) DO NOTHING RETURNING invoice_id",
        invoice_id,
        connection_id,
        country,
        SubmissionState.PENDING.value,
        version,
        causation_id,
        traceparent,
    )
    return inserted is not None


async def claim_due(
    conn: Connection, country: str, limit: int, lease: dt.timedelta
) -> list[ClaimedSubmission]:
    rows = await conn.fetch(
        "UPDATE submissions s SET next_attempt_at = clock_timestamp() + $3::interval "
        "FROM invoices i WHERE i.id = s.invoice_id AND s.invoice_id IN ("
        " SELECT invoice_id FROM submissions WHERE country = $1 AND next_attempt_at <= now() "
        " ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "RETURNING s.*, i.account_id, i.livemode, i.external_id, i.supplier_vat, "
        "i.sandbox_scenario, i.request",
        country,
        limit,
        lease,
    )
    return [_claimed(row) for row in rows]


def _claimed(row: Mapping[str, Any]) -> ClaimedSubmission:
    return ClaimedSubmission(
        ref=invoice_ref(row),
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
        request=row["request"] or {},
    )


async def move(
    conn: Connection, submission: ClaimedSubmission, state: SubmissionState, **fields: Any
) -> ClaimedSubmission:
    """Move a row this worker still holds to `state`, setting columns (names are ours); raise
    IllegalTransitionError for a move the state table refuses, LeaseLostError if the row is no
    longer this worker's.

    A timedelta is counted from the database's clock, the one every replica shares."""
    values = {"state": check_transition(submission.state, state).value, **fields}
    assignments = ", ".join(
        f"{name} = clock_timestamp() + ${i}::interval"
        if isinstance(value, dt.timedelta)
        else f"{name} = ${i}"
        for i, (name, value) in enumerate(values.items(), start=3)
    )
    row = await conn.fetchrow(
        f"UPDATE submissions SET {assignments}, updated_at = clock_timestamp() "  # noqa: S608
        "WHERE invoice_id = $1 AND next_attempt_at = $2 RETURNING *",
        submission.ref.invoice_id,
        submission.lease,
        *values.values(),
    )
    if row is None:
        raise LeaseLostError(submission.ref.invoice_id)
    return submission.model_copy(
        update={
            "state": row["state"],
            "attempts": row["attempts"],
            "upload_id": row["upload_id"],
            "uncertain_since": row["uncertain_since"],
            "reconcile_until": row["reconcile_until"],
            "gov_session": row["gov_session"],
            "updated_at": row["updated_at"],
            "lease": row["next_attempt_at"],
        }
    )


async def recent_upload_ids(conn: Connection, connection_id: str, since: dt.datetime) -> set[str]:
    """The connection's uploads the government took since `since`: not the lost one."""
    rows = await conn.fetch(
        "SELECT upload_id FROM submissions WHERE connection_id = $1 "
        "AND upload_id IS NOT NULL AND updated_at >= $2",
        connection_id,
        since,
    )
    return {row["upload_id"] for row in rows}


async def next_sdi_progressivo(conn: Connection, transmitter: str) -> int:
    """SDI: the transmitter's next file number (each file name is used once)."""
    number: int = await conn.fetchval(
        "INSERT INTO sdi_progressivi (transmitter, last_used) VALUES ($1, 1) "
        "ON CONFLICT (transmitter) DO UPDATE SET last_used = sdi_progressivi.last_used + 1 "
        "RETURNING last_used",
        transmitter,
    )
    return number


async def anaf_fingerprint(conn: Connection, download_id: str) -> Mapping[str, Any] | None:
    """ANAF: what a downloaded message held, if it was downloaded before."""
    row: Mapping[str, Any] | None = await conn.fetchrow(
        "SELECT document_sha256, invoice_number, issue_date, cif "
        "FROM anaf_message_fingerprints WHERE download_id = $1",
        download_id,
    )
    return row


async def keep_anaf_fingerprint(  # noqa: PLR0913 - the columns of one fingerprint
    conn: Connection,
    *,
    download_id: str,
    upload_id: str | None,
    cif: str | None,
    document_sha256: str,
    invoice_number: str | None,
    issue_date: Any,
) -> None:
    """ANAF: remember what a downloaded message held (a message is downloaded once)."""
    await conn.execute(
        "INSERT INTO anaf_message_fingerprints (download_id, upload_id, cif, "
        "document_sha256, invoice_number, issue_date) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (download_id) DO NOTHING",
        download_id,
        upload_id,
        cif,
        document_sha256,
        invoice_number,
        issue_date,
    )

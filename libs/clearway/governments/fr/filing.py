"""What submitter-fr decides for one due `submissions` row.

    pending      deposit the file. Taken (201, 200 Déposée): `invoice.submitted`. Irrecevable
                 (422, 501): `invoice.error` in the platform's words, translated. Not taken
                 (refused connection, 429, 500, 503): again after a backoff. Answer lost
                 (timeout, 502/504): reconciling.
    uploading    the process died while the deposit was in flight: reconciling.
    reconciling  the platform registers a deposit as it answers, and can be searched by invoice
                 number and seller SIREN (an invoice's legal identity): found, adopted; not
                 found, the deposit never arrived and is made again.

The platform publishes no call limit: only this process's circuit breaker stands before it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx

from clearway.config import KeyedEndpoint
from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentError,
    GovernmentOutcomeUnknownError,
    GovernmentRefusedError,
    GovernmentTransientError,
)
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import scenario_headers
from clearway.eventstore import Connection
from clearway.governments.fr.client import (
    GOV_ENDPOINT,
    PaClient,
)
from clearway.pipeline.filing import (
    ClaimedSubmission,
    SubmissionGate,
    document_or_fail,
    fail_refused,
    finish_uploaded,
    mark_uploading,
    record_calls,
    retry_at,
)
from clearway.runtime import ServiceContext

log = logging.getLogger(__name__)

DEPOSIT = "POST /invoices"


class PaSubmitter:
    def __init__(
        self, context: ServiceContext, http: httpx.AsyncClient, platform: KeyedEndpoint
    ) -> None:
        self._pa = PaClient(platform.url, platform.api_key, http)
        self._gate = SubmissionGate(context.pool, context.settings)

    async def work(self, submission: ClaimedSubmission) -> None:
        await self._gate.work(submission, lambda conn: self._step(conn, submission))

    async def _step(self, conn: Connection, submission: ClaimedSubmission) -> None:
        await self._gate.may_call(conn, DEPOSIT)  # the deposit and the search: one platform
        if submission.state == "pending":
            await self._deposit(conn, submission)
        else:
            await self._reconcile(conn, submission)

    async def _deposit(self, conn: Connection, submission: ClaimedSubmission) -> None:
        content = await document_or_fail(conn, submission)
        if content is None:
            return
        submission = await mark_uploading(conn, submission, self._gate.lease)
        calls: list[GovCall] = []
        try:
            deposit = await self._pa.deposit(
                content,
                "application/pdf" if content.startswith(b"%PDF") else "application/xml",
                calls=calls,
                headers=scenario_headers(
                    submission.sandbox_scenario,
                    submission.ref.invoice_id,
                    livemode=submission.ref.livemode,
                ),
            )
        except GovernmentOutcomeUnknownError as exc:
            self._gate.settled(DEPOSIT, calls, failed=True)
            log.warning("the deposit of %s lost its answer (%s)", submission.ref.invoice_id, exc)
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(conn, submission, utcnow(), state="reconciling", last_error=str(exc))
            return
        except GovernmentTransientError as exc:
            self._gate.settled(DEPOSIT, calls, failed=True)
            await self._gate.retry_or_give_up(
                conn,
                submission,
                calls,
                str(exc),
                government=GOV_ENDPOINT,
                retry_after=exc.retry_after,
            )
            return
        except GovernmentError as exc:  # refused (Irrecevable), or Clearway's key refused
            reason = exc.message if isinstance(exc, GovernmentRefusedError) else str(exc)
            await fail_refused(conn, submission, calls, [reason], government=GOV_ENDPOINT)
            return
        self._gate.settled(DEPOSIT, calls, failed=False)
        await finish_uploaded(
            conn,
            submission,
            upload_id=deposit.invoice_id,
            calls=calls,
            metadata={"govEndpoint": GOV_ENDPOINT, "govStatus": deposit.message()},
        )

    async def _reconcile(self, conn: Connection, submission: ClaimedSubmission) -> None:
        row: Any = await conn.fetchrow(
            "SELECT COALESCE(i.request->>'invoiceNumber', i.request->>'externalId', i.id) "
            "AS number, c.network_identifier AS siren FROM invoices i "
            "JOIN connections c ON c.id = $2 WHERE i.id = $1",
            submission.ref.invoice_id,
            submission.connection_id,
        )
        calls: list[GovCall] = []
        try:
            found = await self._pa.search(row["number"], row["siren"] or "", calls)
        except GovernmentError as exc:
            self._gate.settled(DEPOSIT, calls, failed=isinstance(exc, GovernmentTransientError))
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(
                    conn,
                    submission,
                    utcnow() + dt.timedelta(seconds=2),
                    state="reconciling",
                    last_error=str(exc),
                )
            return
        self._gate.settled(DEPOSIT, calls, failed=False)
        if found:
            deposit = found[0]  # the first deposit of this invoice is the filing
            await finish_uploaded(
                conn,
                submission,
                upload_id=deposit.invoice_id,
                calls=calls,
                metadata={
                    "govEndpoint": GOV_ENDPOINT,
                    "govStatus": deposit.message(),
                    "reconciled": True,
                },
            )
            return
        async with conn.transaction():
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
            await retry_at(
                conn,
                submission,
                utcnow(),
                state="pending",
                last_error="not deposited with the platform; depositing again",
            )

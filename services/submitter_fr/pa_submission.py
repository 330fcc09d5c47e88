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
import random
import time
from typing import Any

import httpx
from clearway.config import KeyedEndpoint
from clearway.connectors import GovCall
from clearway.connectors.fr_pa import (
    GOV_ENDPOINT,
    PaClient,
    PaError,
    PaOutcomeUnknownError,
    PaRefusedError,
    PaTransientError,
)
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import scenario_headers
from clearway.eventstore import Connection
from clearway.resilience.backoff import Backoff
from clearway.resilience.breaker import Breakers
from clearway.runtime import ServiceContext
from clearway.submissions import (
    ClaimedSubmission,
    LeaseLostError,
    document_or_fail,
    fail_refused,
    finish_uploaded,
    mark_uploading,
    record_calls,
    retry_at,
    retry_or_give_up,
)

log = logging.getLogger(__name__)

DEPOSIT = "POST /invoices"


class PaSubmitter:
    def __init__(
        self, context: ServiceContext, http: httpx.AsyncClient, platform: KeyedEndpoint
    ) -> None:
        settings = context.settings
        self._pool = context.pool
        self._pa = PaClient(platform.url, platform.api_key, http)
        self._backoff = Backoff(
            base=settings.submit_retry_base,
            cap=settings.submit_retry_cap,
            max_attempts=settings.submit_max_attempts,
        )
        self._breakers = Breakers(reset_after=settings.breaker_reset_seconds)
        self._rng = random.Random()  # noqa: S311 - jitter, nothing secret

    async def work(self, submission: ClaimedSubmission) -> None:
        try:
            async with self._pool.acquire() as conn:
                breaker = self._breakers[DEPOSIT]
                if not breaker.allow():
                    wait = max(breaker.retry_at() - time.monotonic(), 0.5)
                    await retry_at(
                        conn,
                        submission,
                        utcnow() + dt.timedelta(seconds=wait),
                        state=submission.state,
                        last_error=f"{DEPOSIT}: circuit open",
                    )
                elif submission.state == "pending":
                    await self._deposit(conn, submission)
                else:
                    await self._reconcile(conn, submission)
        except LeaseLostError:
            log.info("%s was taken over by another worker", submission.ref.invoice_id)
        except Exception:
            log.exception("working the submission of %s failed", submission.ref.invoice_id)

    def _settled(self, calls: list[GovCall], *, failed: bool) -> None:
        breaker = self._breakers[DEPOSIT]
        if not failed:
            breaker.record_success()
        elif not (calls and calls[-1].http_status == httpx.codes.TOO_MANY_REQUESTS):
            breaker.record_failure()

    async def _deposit(self, conn: Connection, submission: ClaimedSubmission) -> None:
        content = await document_or_fail(conn, submission)
        if content is None:
            return
        submission = await mark_uploading(conn, submission)
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
        except PaOutcomeUnknownError as exc:
            self._settled(calls, failed=True)
            log.warning("the deposit of %s lost its answer (%s)", submission.ref.invoice_id, exc)
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(conn, submission, utcnow(), state="reconciling", last_error=str(exc))
            return
        except PaTransientError as exc:
            self._settled(calls, failed=True)
            await retry_or_give_up(
                conn,
                submission,
                calls,
                str(exc),
                backoff=self._backoff,
                rng=self._rng,
                government=GOV_ENDPOINT,
                retry_after=exc.retry_after,
            )
            return
        except PaError as exc:  # refused (Irrecevable), or Clearway's key refused
            reason = exc.message if isinstance(exc, PaRefusedError) else str(exc)
            await fail_refused(conn, submission, calls, [reason], government=GOV_ENDPOINT)
            return
        self._settled(calls, failed=False)
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
        except PaError as exc:
            self._settled(calls, failed=isinstance(exc, PaTransientError))
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
        self._settled(calls, failed=False)
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

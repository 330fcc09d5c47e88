"""The Plateforme Agréée's part of the filing machine (clearway.pipeline.filing): the Filer
submitter-fr runs.

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
from clearway.connectors.calls import (
    GovernmentError,
)
from clearway.governments.fr.client import GOV_ENDPOINT, PaClient
from clearway.pipeline.filing import outcomes
from clearway.pipeline.filing.outcomes import Attempt, CallLimits
from clearway.pipeline.filing.service import FilerSetup
from clearway.store.submissions import ClaimedSubmission

log = logging.getLogger(__name__)

DEPOSIT = "POST /invoices"
SEARCH_RETRY = dt.timedelta(seconds=2)  # the search itself failed: ask again soon
# The deposit and the search: one platform, one breaker.
PLATFORM = CallLimits(DEPOSIT)


class PaFiler:
    government = GOV_ENDPOINT
    first_look_after = dt.timedelta(0)
    reconcile_window = None

    def __init__(self, http: httpx.AsyncClient, platform: KeyedEndpoint) -> None:
        self._pa = PaClient(platform.url, platform.api_key, http)

    def upload_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return PLATFORM

    def find_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return PLATFORM

    async def upload(self, attempt: Attempt, document: bytes) -> outcomes.UploadOutcome:
        await attempt.in_flight()
        try:
            deposit = await self._pa.deposit(
                document,
                "application/pdf" if document.startswith(b"%PDF") else "application/xml",
                calls=attempt.calls,
                headers=attempt.scenario_headers,
            )
        except GovernmentError as exc:  # refused (Irrecevable), or Clearway's key refused
            return outcomes.upload_failed(exc)
        return outcomes.Uploaded(
            upload_id=deposit.invoice_id, details={"govStatus": deposit.message()}
        )

    async def find(self, attempt: Attempt) -> outcomes.FindOutcome:
        submission = attempt.submission
        row: Any = await attempt.conn.fetchrow(
            "SELECT COALESCE(i.request->>'invoiceNumber', i.request->>'externalId', i.id) "
            "AS number, c.network_identifier AS siren FROM invoices i "
            "JOIN connections c ON c.id = $2 WHERE i.id = $1",
            submission.ref.invoice_id,
            submission.connection_id,
        )
        try:
            found = await self._pa.search(row["number"], row["siren"] or "", attempt.calls)
        except GovernmentError as exc:
            return outcomes.look_again_after(exc, SEARCH_RETRY)
        if not found:
            return outcomes.NotFound(reason="not deposited with the platform; depositing again")
        deposit = found[0]  # the first deposit of this invoice is the filing
        return outcomes.Uploaded(
            upload_id=deposit.invoice_id, details={"govStatus": deposit.message()}
        )


def filer(setup: FilerSetup, platform: KeyedEndpoint) -> PaFiler:
    return PaFiler(setup.http, platform)

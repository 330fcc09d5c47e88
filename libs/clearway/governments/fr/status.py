"""What the poller asks the French platform about one deposit, and what its status means.

200 Déposée: still being checked (ask again). 201 Émise and the statuses after it: accepted;
the receipt is the status history the platform keeps. 213 Rejetée or 501 Irrecevable:
rejected, with the platform's reason code and words.
"""

from __future__ import annotations

import httpx

from clearway.config import KeyedEndpoint
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.governments.fr.client import ISSUED, REJECTED, PaClient
from clearway.pipeline.decisions import (
    AskingFollower,
    Outcome,
    Pending,
    Rejected,
    accepted_with_record,
)
from clearway.pipeline.polling import NO_PUBLISHED_LIMIT
from clearway.runtime import ServiceContext
from clearway.store.status_polls import Poll

CADENCE = NO_PUBLISHED_LIMIT  # a French platform publishes no call limit


class PaStatusFollower(AskingFollower):
    def __init__(self, http: httpx.AsyncClient, platform: KeyedEndpoint) -> None:
        self._pa = PaClient(platform.url, platform.api_key, http)

    async def ask(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - the platform needs no connection data
        invoice_id = poll.upload_id
        deposit = await self._pa.invoice(invoice_id, calls)
        if deposit.code in ISSUED:
            history = await self._pa.statuses(invoice_id, calls)
            return accepted_with_record(
                invoice_id, deposit.message(), history, f"{invoice_id}-statuses.json"
            )
        if deposit.code in REJECTED:
            reason = f"{deposit.reason_code}: {deposit.reason}" if deposit.reason else None
            return Rejected(gov_id=invoice_id, messages=(reason or deposit.message(),), report=None)
        return Pending(deposit.message())


def follower(
    context: ServiceContext, http: httpx.AsyncClient, endpoint: KeyedEndpoint
) -> PaStatusFollower:
    del context  # asked with the endpoint's own credentials, nothing of the deployment's
    return PaStatusFollower(http, endpoint)

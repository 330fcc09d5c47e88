"""What the poller asks the French platform about one deposit, and what its status means.

200 Déposée: still being checked (ask again). 201 Émise and the statuses after it: accepted;
the receipt is the status history the platform keeps. 213 Rejetée or 501 Irrecevable:
rejected, with the platform's reason code and words.
"""

from __future__ import annotations

import datetime as dt

import httpx

from clearway.config import KeyedEndpoint
from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentError,
)
from clearway.db import Connection
from clearway.governments.fr.client import (
    ISSUED,
    REJECTED,
    PaClient,
)
from clearway.pipeline.decisions import Accepted, Outcome, Pending, Rejected, pending_after
from clearway.pipeline.polling import Cadence
from clearway.runtime import ServiceContext
from clearway.store.status_polls import Poll

# A French platform publishes no call limit: doubling to the cap, then every 10 minutes.
CADENCE = Cadence(slow_after=dt.timedelta(hours=1), slow_every=dt.timedelta(minutes=10))


class PaStatusFollower:
    def __init__(
        self,
        context: ServiceContext,  # noqa: ARG002 - every follower is made alike
        http: httpx.AsyncClient,
        platform: KeyedEndpoint,
    ) -> None:
        self._pa = PaClient(platform.url, platform.api_key, http)

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - the platform needs no connection data
        invoice_id = poll.upload_id
        try:
            deposit = await self._pa.invoice(invoice_id, calls)
            if deposit.code in ISSUED:
                history = await self._pa.statuses(invoice_id, calls)
                return Accepted(
                    gov_id=invoice_id,
                    gov_message=deposit.message(),
                    receipt=history,
                    content_type="application/json",
                    file_name=f"{invoice_id}-statuses.json",
                )
        except GovernmentError as exc:
            return pending_after(exc)
        if deposit.code in REJECTED:
            reason = f"{deposit.reason_code}: {deposit.reason}" if deposit.reason else None
            return Rejected(gov_id=invoice_id, messages=(reason or deposit.message(),), report=None)
        return Pending(deposit.message())

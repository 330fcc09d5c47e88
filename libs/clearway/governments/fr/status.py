"""What the poller asks the French platform about one deposit, and what its status means.

200 Déposée: still being checked (ask again). 201 Émise and the statuses after it: accepted;
the receipt is the status history the platform keeps. 213 Rejetée or 501 Irrecevable:
rejected, with the platform's reason code and words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from clearway.config import KeyedEndpoint
from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentError,
)
from clearway.domain.ids import utcnow
from clearway.eventstore import Connection
from clearway.governments.fr.client import (
    ISSUED,
    REJECTED,
    PaClient,
)
from clearway.pipeline.decisions import Accepted, Outcome, Pending, Rejected
from clearway.runtime import ServiceContext


class PaStatusFollower:
    def __init__(
        self,
        context: ServiceContext,  # noqa: ARG002 - every follower is made alike
        http: httpx.AsyncClient,
        platform: KeyedEndpoint,
    ) -> None:
        self._pa = PaClient(platform.url, platform.api_key, http)

    async def follow(self, conn: Connection, poll: Any, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - the platform needs no connection data
        invoice_id: str = poll["upload_id"]
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
            retry_after = exc.retry_after
            at = utcnow() + dt.timedelta(seconds=retry_after) if retry_after else None
            return Pending(str(exc), at=at)
        if deposit.code in REJECTED:
            reason = f"{deposit.reason_code}: {deposit.reason}" if deposit.reason else None
            return Rejected(gov_id=invoice_id, messages=(reason or deposit.message(),), report=None)
        return Pending(deposit.message())

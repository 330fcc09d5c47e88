"""What the poller asks the Peppol access point about one sent document, and what it means.

accepted: the AP has it, not yet delivered (ask again). delivered: the receiving access point
took it over AS4 and its MLS (message level status) is AP: accepted, the receipt being the
AP's delivery record as it gave it (AS4 message id, time, MLS). rejected (MLS RE, with the
rules the document broke) or failed (the AS4 transmission did not succeed): rejected, in the
network's words.
"""

from __future__ import annotations

import datetime as dt

import httpx

from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentError,
)
from clearway.db import Connection
from clearway.governments.peppol.client import DELIVERED, PeppolClient
from clearway.governments.peppol.settings import PeppolEndpoint
from clearway.pipeline.decisions import Accepted, Outcome, Pending, Rejected, pending_after
from clearway.pipeline.polling import Cadence
from clearway.runtime import ServiceContext
from clearway.store.status_polls import Poll

# The access point publishes no call limit (its 429s carry Retry-After, which is honoured):
# doubling to the cap, then every 10 minutes.
CADENCE = Cadence(slow_after=dt.timedelta(hours=1), slow_every=dt.timedelta(minutes=10))


class PeppolStatusFollower:
    def __init__(
        self,
        context: ServiceContext,  # noqa: ARG002 - every follower is made alike
        http: httpx.AsyncClient,
        ap: PeppolEndpoint,
        *,
        country: str,
    ) -> None:
        self._ap = PeppolClient(ap.ap_url, ap.ap_api_key, http, country=country)

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - the AP needs no connection data
        document_id = poll.upload_id
        try:
            body, receipt = await self._ap.document(document_id, calls)
        except GovernmentError as exc:
            return pending_after(exc)
        status = body.get("status")
        mls = body.get("mls") or {}
        if status == DELIVERED:
            message_id = str(body.get("as4MessageId") or document_id)
            return Accepted(
                gov_id=message_id,
                gov_message=f"Delivered to {body.get('receiverId')} as AS4 message "
                f"{message_id} at {body.get('deliveredAt')} (MLS {mls.get('responseCode', 'AP')})",
                receipt=receipt,
                content_type="application/json",
                file_name=f"{document_id}-delivery.json",
            )
        if status == "rejected":
            return Rejected(
                gov_id=document_id,
                messages=(str(mls.get("reason") or "MLS RE without a reason"),),
                report=None,
            )
        if status == "failed":
            reason = body.get("failureReason") or "no reason given"
            return Rejected(
                gov_id=document_id, messages=(f"AS4 delivery failed: {reason}",), report=None
            )
        return Pending(f"Peppol: {status}")

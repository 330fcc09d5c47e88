"""What the poller asks the Peppol access point about one sent document, and what it means.

accepted: the AP has it, not yet delivered (ask again). delivered: the receiving access point
took it over AS4 and its MLS (message level status) is AP: accepted, the receipt being the
AP's delivery record as it gave it (AS4 message id, time, MLS). rejected (MLS RE, with the
rules the document broke) or failed (the AS4 transmission did not succeed): rejected, in the
network's words.
"""

from __future__ import annotations

import httpx

from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.governments.peppol.client import DELIVERED, PeppolClient
from clearway.governments.peppol.settings import PeppolEndpoint
from clearway.pipeline.decisions import (
    AskingFollower,
    Outcome,
    Pending,
    Rejected,
    accepted_with_record,
)
from clearway.pipeline.polling import NO_PUBLISHED_LIMIT
from clearway.store.status_polls import Poll

CADENCE = NO_PUBLISHED_LIMIT  # the access point publishes no call limit


class PeppolStatusFollower(AskingFollower):
    def __init__(self, http: httpx.AsyncClient, ap: PeppolEndpoint, *, country: str) -> None:
        self._ap = PeppolClient(ap.ap_url, ap.ap_api_key, http, country=country)

    async def ask(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - the AP needs no connection data
        document_id = poll.upload_id
        body, receipt = await self._ap.document(document_id, calls)
        status = body.get("status")
        mls = body.get("mls") or {}
        if status == DELIVERED:
            message_id = str(body.get("as4MessageId") or document_id)
            return accepted_with_record(
                message_id,
                f"Delivered to {body.get('receiverId')} as AS4 message "
                f"{message_id} at {body.get('deliveredAt')} (MLS {mls.get('responseCode', 'AP')})",
                receipt,
                f"{document_id}-delivery.json",
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

"""What the poller asks about a German invoice: the receipt platform (ZRE/OZG-RE) for public
buyers, the Peppol access point for the others, as submitter-de routed it (by the buyer
reference: a Leitweg-ID goes to the platform).

ZRE: received (ask again); delivered to the invoice recipient: accepted, the receipt being the
platform's record as it gave it; rejected: in the platform's German words.
"""

from __future__ import annotations

import httpx

from clearway.config import KeyedEndpoint
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.governments.de.client import DELIVERED, REJECTED, ZreClient, leitweg_id_of
from clearway.pipeline.decisions import (
    AskingFollower,
    Follower,
    Outcome,
    Pending,
    Rejected,
    accepted_with_record,
)
from clearway.store.status_polls import Poll


class ZreStatusFollower(AskingFollower):
    def __init__(self, http: httpx.AsyncClient, platform: KeyedEndpoint) -> None:
        self._zre = ZreClient(platform.url, platform.api_key, http)

    async def ask(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - the platform needs no connection data
        upload_id = poll.upload_id
        body, receipt = await self._zre.invoice(upload_id, calls)
        status = body.get("status")
        if status == DELIVERED:
            return accepted_with_record(
                upload_id,
                f"Delivered to the recipient of Leitweg-ID {body.get('leitwegId')} "
                f"at {body.get('deliveredAt')}",
                receipt,
                f"{upload_id}-zre.json",
            )
        if status == REJECTED:
            reasons = tuple(str(r) for r in body.get("rejectionReasons") or ())
            return Rejected(gov_id=upload_id, messages=reasons, report=None)
        return Pending(f"ZRE: {status}")


class GermanStatusFollower:
    """Follows a German invoice where submitter-de sent it."""

    def __init__(self, *, zre: Follower, peppol: Follower) -> None:
        self._zre = zre
        self._peppol = peppol

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:
        request = await conn.fetchval("SELECT request FROM invoices WHERE id = $1", poll.invoice_id)
        if leitweg_id_of(request or {}) is not None:
            return await self._zre.follow(conn, poll, calls)
        return await self._peppol.follow(conn, poll, calls)

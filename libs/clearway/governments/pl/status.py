"""What the poller asks KSeF about one invoice, and what the answer means.

The invoice's status in its session: 100/150 processing (ask again), 200 accepted (fetch the
UPO, KSeF's signed receipt, and record the KSeF number as govId), any other code rejected in
KSeF's words ("<code> <description>: <details>"). Calls stay within KSeF's per-NIP status limit
(a bucket shared by every replica); a refused token is renewed once (renew_refused_token).
"""

from __future__ import annotations

import datetime as dt

import httpx

from clearway.accounts import connection_token
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.governments.pl import auth as ksef_auth
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.client import (
    ACCEPTED,
    KsefAuthError,
    KsefSessionClient,
    SentInvoice,
    status_bucket,
)
from clearway.governments.pl.settings import KsefEndpoint
from clearway.governments.pl.tokens import renew_refused_token
from clearway.pipeline.decisions import Accepted, AskingFollower, Outcome, Pending, Rejected
from clearway.pipeline.polling import Cadence
from clearway.resilience.ratelimit import take_token
from clearway.runtime import ServiceContext
from clearway.store.status_polls import Poll

# KSeF's status limit is per NIP and generous (1200 a minute): doubling to the cap, then every
# 5 minutes.
CADENCE = Cadence(slow_after=dt.timedelta(hours=1), slow_every=dt.timedelta(minutes=5))


class KsefStatusFollower(AskingFollower):
    def __init__(self, http: httpx.AsyncClient, ksef: KsefEndpoint) -> None:
        self._ksef = KsefSessionClient(ksef.api_url, http)
        self._auth = ksef_auth.KsefAuthClient(ksef.api_url, http)

    async def ask(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:
        # The session travels in invoice.submitted's metadata, as submitter-pl recorded it.
        session = poll.submitted.get("sessionReferenceNumber")
        supplier_vat = await conn.fetchval(
            "SELECT supplier_vat FROM invoices WHERE id = $1", poll.invoice_id
        )
        if session is None or supplier_vat is None:
            return Pending("the invoice's KSeF session is not recorded")
        wait = await take_token(conn, status_bucket(pl.compact(supplier_vat)))
        if wait:
            return Pending("KSeF's status limit", at=utcnow() + dt.timedelta(seconds=wait))
        token = await connection_token(conn, poll.connection_id)
        if token is None:
            return Pending("the company's KSeF connection is not active")
        sent = SentInvoice(session_reference=str(session), invoice_reference=poll.upload_id)
        try:
            return await self._ask(token, sent, calls)
        except KsefAuthError as refused:
            return await self._renewed(conn, poll.connection_id, token, refused.status)

    async def _renewed(
        self, conn: Connection, connection_id: str, token: str, status: int
    ) -> Pending:
        try:
            fresh = await renew_refused_token(conn, connection_id, token, self._auth)
        except ksef_auth.KsefUnavailableError as exc:
            return Pending(str(exc))
        if fresh is None:
            return Pending(f"KSeF refused the token (HTTP {status}); not renewed")
        return Pending("the token was renewed", at=utcnow())

    async def _ask(self, token: str, sent: SentInvoice, calls: list[GovCall]) -> Outcome:
        status = await self._ksef.invoice_status(token, sent, calls)
        if status.processing:
            return Pending(status.message())
        if status.code != ACCEPTED:
            return Rejected(gov_id=None, messages=(status.message(),), report=None)
        upo = await self._ksef.invoice_upo(token, sent, calls)
        ksef_number = status.ksef_number or sent.invoice_reference
        return Accepted(
            gov_id=ksef_number,
            gov_message=status.message(),
            receipt=upo,
            content_type="application/xml",
            file_name=f"UPO-{ksef_number}.xml",
        )


def follower(
    context: ServiceContext, http: httpx.AsyncClient, endpoint: KsefEndpoint
) -> KsefStatusFollower:
    del context  # asked with the endpoint's own credentials, nothing of the deployment's
    return KsefStatusFollower(http, endpoint)

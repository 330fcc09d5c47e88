"""What the poller asks KSeF about one invoice, and what the answer means.

The invoice's status in its session: 100/150 processing (ask again), 200 accepted (fetch the
UPO, KSeF's signed receipt, and record the KSeF number as govId), any other code rejected in
KSeF's words ("<code> <description>: <details>"). Calls stay within KSeF's per-NIP status limit
(a bucket shared by every replica); a refused token is renewed once (renew_refused_token).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from clearway.accounts import connection_token
from clearway.config import KsefEndpoint
from clearway.connectors import GovCall
from clearway.domain.ids import utcnow
from clearway.eventstore import Connection
from clearway.governments.pl import auth as ksef_auth
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.client import (
    ACCEPTED,
    KsefAuthError,
    KsefRefusedError,
    KsefSessionClient,
    KsefTransientError,
    SentInvoice,
    status_bucket,
)
from clearway.governments.pl.tokens import renew_refused_token
from clearway.pipeline.decisions import Accepted, Outcome, Pending, Rejected
from clearway.resilience.ratelimit import take_token
from clearway.runtime import ServiceContext


class KsefStatusFollower:
    def __init__(
        self,
        context: ServiceContext,  # noqa: ARG002 - every follower is made alike
        http: httpx.AsyncClient,
        ksef: KsefEndpoint,
    ) -> None:
        self._ksef = KsefSessionClient(ksef.api_url, http)
        self._auth = ksef_auth.KsefAuthClient(ksef.api_url, http)

    async def follow(self, conn: Connection, poll: Any, calls: list[GovCall]) -> Outcome:
        row = await conn.fetchrow(
            "SELECT s.gov_session, i.supplier_vat FROM submissions s "
            "JOIN invoices i ON i.id = s.invoice_id WHERE s.invoice_id = $1",
            poll["invoice_id"],
        )
        if row is None or row["gov_session"] is None:
            return Pending("the invoice's KSeF session is not recorded")
        wait = await take_token(conn, status_bucket(pl.compact(row["supplier_vat"])))
        if wait:
            return Pending("KSeF's status limit", at=utcnow() + dt.timedelta(seconds=wait))
        token = await connection_token(conn, poll["connection_id"])
        if token is None:
            return Pending("the company's KSeF connection is not active")
        sent = SentInvoice(
            session_reference=row["gov_session"], invoice_reference=poll["upload_id"]
        )
        try:
            return await self._ask(token, sent, calls)
        except KsefAuthError as refused:
            return await self._renewed(conn, poll["connection_id"], token, refused.status)
        except (KsefTransientError, KsefRefusedError) as exc:
            retry_after = exc.retry_after
            at = utcnow() + dt.timedelta(seconds=retry_after) if retry_after else None
            return Pending(str(exc), at=at)

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

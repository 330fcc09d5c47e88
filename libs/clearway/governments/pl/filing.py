"""What submitter-pl decides for one due `submissions` row.

    pending      open an online session (files nothing), record it on the row, then send the
                 invoice in it and close it. Taken (202): `invoice.submitted` with KSeF's
                 invoice reference. Refused (400): `invoice.error` in KSeF's words, translated.
                 Not taken (refused connection, 429, 500, 503): again after a backoff.
                 Answer lost (timeout, 502/504): reconciling.
    uploading    the process died while the send was in flight: reconciling.
    reconciling  KSeF lists every invoice a session received, at once and with its hash: the
                 invoice found there is adopted, never sent again; not there, it was not
                 received and is sent again (in a new session).

A 401 renews the access token once (renew_refused_token: refresh token, else the KSeF token);
refused again, the connection expires and the invoice goes to `error`. Calls stay within
KSeF's per-NIP limits (buckets shared by every replica) and past this process's breakers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from clearway.accounts import connection_token
from clearway.config import KsefEndpoint
from clearway.connectors import GovCall
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import scenario_headers
from clearway.eventstore import Connection
from clearway.governments.pl import auth as ksef_auth
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.client import (
    GOV_ENDPOINT,
    KsefAuthError,
    KsefError,
    KsefOutcomeUnknownError,
    KsefRefusedError,
    KsefSessionClient,
    KsefTransientError,
    SentInvoice,
    send_bucket,
    session_bucket,
    status_bucket,
)
from clearway.governments.pl.tokens import expire_after_second_refusal, renew_refused_token
from clearway.pipeline.filing import (
    ClaimedSubmission,
    SubmissionGate,
    document_or_fail,
    fail_connection_lost,
    fail_inactive_connection,
    fail_refused,
    fail_unconfirmed,
    finish_uploaded,
    mark_uploading,
    record_calls,
    retry_at,
)
from clearway.runtime import ServiceContext

log = logging.getLogger(__name__)

SEND = "POST /sessions/online/{ref}/invoices"
EXPIRED = (
    "KSeF refused the connection's token and it could not be renewed: the connection is now "
    "expired."
)
T = TypeVar("T")


class ConnectionLostError(Exception):
    """KSeF refused the connection's token and it could not be renewed."""


def invoice_hash(xml: bytes) -> str:
    """KSeF's invoiceHash: Base64 of the document's SHA-256."""
    return base64.b64encode(hashlib.sha256(xml).digest()).decode()


class KsefSubmitter:
    def __init__(
        self, context: ServiceContext, http: httpx.AsyncClient, ksef: KsefEndpoint
    ) -> None:
        self._ksef = KsefSessionClient(ksef.api_url, http)
        self._auth = ksef_auth.KsefAuthClient(ksef.api_url, http)
        self._gate = SubmissionGate(context.pool, context.settings)

    async def work(self, submission: ClaimedSubmission) -> None:
        await self._gate.work(submission, lambda conn: self._step(conn, submission))

    async def _step(self, conn: Connection, submission: ClaimedSubmission) -> None:
        if submission.state == "pending":
            await self._send(conn, submission)
        elif submission.state in {"uploading", "reconciling"}:
            await self._reconcile(conn, submission)

    # --- pending: a session, the invoice, the session closed -----------------------------------

    async def _send(self, conn: Connection, submission: ClaimedSubmission) -> None:
        nip = pl.compact(submission.supplier_vat)
        await self._gate.may_call(conn, SEND, session_bucket(nip), send_bucket(nip))
        token = await connection_token(conn, submission.connection_id)
        if token is None:
            await fail_inactive_connection(conn, submission, [], government=GOV_ENDPOINT)
            return
        xml = await document_or_fail(conn, submission)
        if xml is None:
            return
        calls: list[GovCall] = []
        sandbox = scenario_headers(
            submission.sandbox_scenario,
            submission.ref.invoice_id,
            livemode=submission.ref.livemode,
        )
        try:
            # The session files nothing; it is recorded with the send in flight, as where to
            # look if the send's answer is lost.
            session, encryption = await self._authorized(
                conn, submission, token, lambda t: self._ksef.open_session(t, calls)
            )
            submission = await mark_uploading(
                conn, submission, self._gate.lease, gov_session=session
            )
            sent = await self._authorized(
                conn,
                submission,
                token,
                lambda t: self._ksef.send_invoice(
                    t, session, encryption, xml, calls=calls, headers=sandbox
                ),
            )
        except (KsefError, ksef_auth.KsefUnavailableError, ConnectionLostError) as exc:
            await self._after_failure(conn, submission, calls, exc)
            return
        self._gate.settled(SEND, calls, failed=False)
        await self._close_quietly(sent, token, calls)
        await self._adopt(conn, submission, sent, calls, reconciled=False)

    async def _after_failure(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        calls: list[GovCall],
        exc: Exception,
    ) -> None:
        if isinstance(exc, KsefOutcomeUnknownError):
            self._gate.settled(SEND, calls, failed=True)
            await self._look_later(conn, submission, calls, str(exc))
        elif isinstance(exc, KsefTransientError):
            self._gate.settled(SEND, calls, failed=True)
            await self._retry(conn, submission, calls, str(exc), exc.retry_after)
        elif isinstance(exc, ksef_auth.KsefUnavailableError):  # no renewal just now
            await self._retry(conn, submission, calls, str(exc), None)
        elif isinstance(exc, KsefRefusedError):
            await fail_refused(conn, submission, calls, [exc.message], government=GOV_ENDPOINT)
        else:
            await fail_connection_lost(conn, submission, calls, str(exc), government=GOV_ENDPOINT)

    async def _authorized(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        token: str,
        call: Callable[[str], Awaitable[T]],
    ) -> T:
        """`call` with the token; after a 401, once more with a renewed one (a 401 files
        nothing); refused again, the connection expires."""
        try:
            return await call(token)
        except KsefAuthError:
            fresh = await renew_refused_token(conn, submission.connection_id, token, self._auth)
            if fresh is None:
                raise ConnectionLostError(EXPIRED) from None
        try:
            return await call(fresh)
        except KsefAuthError as again:
            message = f"KSeF refused the renewed token too (HTTP {again.status})."
            await expire_after_second_refusal(conn, submission.connection_id, message)
            raise ConnectionLostError(message) from None

    async def _close_quietly(self, sent: SentInvoice, token: str, calls: list[GovCall]) -> None:
        """Closing makes KSeF prepare the session's UPO; the invoice is filed either way."""
        try:
            await self._ksef.close_session(token, sent.session_reference, calls)
        except (KsefTransientError, KsefRefusedError, KsefAuthError) as exc:
            log.info("closing session %s failed: %s", sent.session_reference, exc)

    async def _adopt(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        sent: SentInvoice,
        calls: list[GovCall],
        *,
        reconciled: bool,
    ) -> None:
        metadata: dict[str, Any] = {
            "govEndpoint": GOV_ENDPOINT,
            "sessionReferenceNumber": sent.session_reference,
        }
        if reconciled:
            metadata["reconciled"] = True
        await finish_uploaded(
            conn,
            submission,
            upload_id=sent.invoice_reference,
            calls=calls,
            metadata=metadata,
        )

    async def _retry(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        calls: list[GovCall],
        reason: str,
        retry_after: float | None,
    ) -> None:
        await self._gate.retry_or_give_up(
            conn, submission, calls, reason, government=GOV_ENDPOINT, retry_after=retry_after
        )

    # --- reconciling: the session's own list -----------------------------------------------------

    async def _look_later(
        self, conn: Connection, submission: ClaimedSubmission, calls: list[GovCall], reason: str
    ) -> None:
        log.warning("the answer to the send of %s was lost (%s)", submission.ref.invoice_id, reason)
        async with conn.transaction():
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
            await retry_at(conn, submission, utcnow(), state="reconciling", last_error=reason)

    async def _reconcile(self, conn: Connection, submission: ClaimedSubmission) -> None:
        await self._gate.may_call(conn, SEND, status_bucket(pl.compact(submission.supplier_vat)))
        session = submission.gov_session
        token = await connection_token(conn, submission.connection_id)
        if session is None:  # nothing was in flight: the row died before its session was noted
            await retry_at(conn, submission, utcnow(), state="pending", last_error="no session")
            return
        if token is None:
            await fail_unconfirmed(
                conn,
                submission,
                [],
                government=GOV_ENDPOINT,
                where_to_check=f"KSeF's session {session} (the KSeF portal)",
            )
            return
        xml: bytes = await conn.fetchval(
            "SELECT xml FROM documents WHERE invoice_id = $1", submission.ref.invoice_id
        )
        calls: list[GovCall] = []
        try:
            received = await self._ksef.session_invoices(token, session, calls)
        except (KsefTransientError, KsefAuthError) as exc:
            if isinstance(exc, KsefAuthError):
                await renew_refused_token(conn, submission.connection_id, token, self._auth)
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
        ours = invoice_hash(xml)
        found = next((i for i in received if i.invoice_hash == ours), None)
        if found is not None:
            log.info("found the lost send of %s in session %s", submission.ref.invoice_id, session)
            sent = SentInvoice(session_reference=session, invoice_reference=found.reference_number)
            await self._adopt(conn, submission, sent, calls, reconciled=True)
            return
        # KSeF lists what a session received the moment it received it: not there, not sent.
        async with conn.transaction():
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
            await retry_at(
                conn,
                submission,
                utcnow(),
                state="pending",
                last_error=f"not received in session {session}; sending again",
            )

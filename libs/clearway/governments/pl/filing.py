"""KSeF's part of the filing machine (clearway.pipeline.filing): the Filer submitter-pl runs.

    pending      the connection's open online session (sessions.py: one per connection, shared
                 by its invoices; opened when there is none, which files nothing) is recorded on
                 the row, then the invoice is sent in it. Taken (202): `invoice.submitted` with
                 KSeF's invoice reference. Refused (400): `invoice.error` in KSeF's words,
                 translated; refused because of the session (closed, expired, unknown,
                 unavailable), the session is dropped and the invoice sent once in a new one,
                 recorded first like the other. Not taken (refused connection, 429, 500, 503):
                 again after a backoff. Answer lost (timeout, 502/504): reconciling; the
                 session's opening's own answer lost: again after a backoff, since opening one
                 files nothing.
    uploading    the process died while the send was in flight: reconciling.
    reconciling  KSeF lists every invoice a session received, at once and with its hash: the
                 invoice found there is adopted, never sent again; not there, it was not
                 received and is sent again (in the connection's open session).

A 401 renews the access token once (renew_refused_token: refresh token, else the KSeF token);
refused again, the connection expires and the invoice goes to `error`. Calls stay within
KSeF's per-NIP limits (buckets shared by every replica: a send takes one from the send bucket, a
session's opening one from the session bucket) and past this process's breakers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from clearway.accounts import connection_token
from clearway.domain.ids import utcnow
from clearway.governments.pl import auth as ksef_auth
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.client import (
    GOV_ENDPOINT,
    KsefAuthError,
    KsefError,
    KsefRefusedError,
    KsefSessionClient,
    KsefTransientError,
    OpenedSession,
    SentInvoice,
    send_bucket,
    session_bucket,
    status_bucket,
)
from clearway.governments.pl.sessions import OnlineSessions, session_gone
from clearway.governments.pl.settings import KsefEndpoint
from clearway.governments.pl.tokens import expire_after_second_refusal, renew_refused_token
from clearway.pipeline.filing import outcomes
from clearway.pipeline.filing.outcomes import Attempt, CallLimits
from clearway.pipeline.filing.service import FilerSetup
from clearway.store import submissions
from clearway.store.submissions import ClaimedSubmission

log = logging.getLogger(__name__)

SEND = "POST /sessions/online/{ref}/invoices"
OPEN = "POST /sessions/online"
SESSION_LIST_RETRY = dt.timedelta(seconds=2)  # the session's list could not be read: soon again
# How far back a lost send's session may hold the connection's other invoices: a session lives
# 12 hours, and the look may come a while after it ended.
OTHERS_SENT_WITHIN = dt.timedelta(days=2)
EXPIRED = (
    "KSeF refused the connection's token and it could not be renewed: the connection is now "
    "expired."
)
T = TypeVar("T")
KsefFailure = KsefError | ksef_auth.KsefUnavailableError


class ConnectionLostError(Exception):
    """KSeF refused the connection's token and it could not be renewed."""


@dataclass(frozen=True)
class SessionGone:
    """KSeF refused the send because the session takes no more: nothing was filed."""

    reason: str


def invoice_hash(xml: bytes) -> str:
    """KSeF's invoiceHash: Base64 of the document's SHA-256."""
    return base64.b64encode(hashlib.sha256(xml).digest()).decode()


class KsefFiler:
    government = GOV_ENDPOINT
    first_look_after = dt.timedelta(0)
    reconcile_window = None

    def __init__(
        self,
        http: httpx.AsyncClient,
        ksef: KsefEndpoint,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ksef = KsefSessionClient(ksef.api_url, http)
        self._auth = ksef_auth.KsefAuthClient(ksef.api_url, http)
        self.sessions = OnlineSessions(self._ksef.close_session, clock=clock)

    def upload_limits(self, submission: ClaimedSubmission) -> CallLimits:
        # The session bucket only when a session is opened (open_session): most sends open none.
        return CallLimits(SEND, (send_bucket(pl.compact(submission.supplier_vat)),))

    def find_limits(self, submission: ClaimedSubmission) -> CallLimits:
        return CallLimits(SEND, (status_bucket(pl.compact(submission.supplier_vat)),))

    async def close_sessions(self) -> None:
        """At shutdown, best effort (KSeF closes what stays open at validUntil)."""
        await self.sessions.close_all()

    # --- pending: the invoice in the connection's open session -------------------------------

    async def upload(self, attempt: Attempt, document: bytes) -> outcomes.UploadOutcome:
        token = await connection_token(attempt.conn, attempt.submission.connection_id)
        if token is None:
            return outcomes.ConnectionInactive()
        first = await self._upload_in_session(attempt, token, document)
        if not isinstance(first, SessionGone):
            return first
        # KSeF refused the send for the session's sake, filing nothing: once in a new one,
        # a send of its own within the seller's limit.
        await attempt.may_call(SEND, send_bucket(pl.compact(attempt.submission.supplier_vat)))
        again = await self._upload_in_session(attempt, token, document)
        if isinstance(again, SessionGone):
            return outcomes.NotTaken(reason=f"KSeF refused a new session too: {again.reason}")
        return again

    async def _upload_in_session(
        self, attempt: Attempt, token: str, document: bytes
    ) -> outcomes.UploadOutcome | SessionGone:
        key = attempt.submission.connection_id
        used = token  # the latest token KSeF took (renewed after a 401), for what follows

        def with_token(call: Callable[[str], Awaitable[T]]) -> Callable[[str], Awaitable[T]]:
            async def called(t: str) -> T:
                nonlocal used
                used = t
                return await call(t)

            return called

        async def open_session() -> OpenedSession:
            # Within KSeF's per-NIP limit on opening sessions (not asked when one is reused).
            nip = pl.compact(attempt.submission.supplier_vat)
            await attempt.may_call(OPEN, session_bucket(nip))
            opening = with_token(lambda t: self._ksef.open_session(t, attempt.calls))
            return await self._authorized(attempt, token, opening)

        try:
            session = await self.sessions.acquire(key, token, open_session)
        except (KsefError, ksef_auth.KsefUnavailableError, ConnectionLostError) as exc:
            return _failed(exc, in_flight=False)
        try:
            # The session is recorded with the send in flight, as where to look if the send's
            # answer is lost: KSeF lists each invoice of it with its hash.
            await attempt.in_flight(gov_session=session.reference)
            sending = with_token(
                lambda t: self._ksef.send_invoice(
                    t,
                    session.reference,
                    session.opened.encryption,
                    document,
                    calls=attempt.calls,
                    headers=attempt.scenario_headers,
                )
            )
            sent = await self._authorized(attempt, used, sending)
        except KsefRefusedError as exc:
            if not session_gone(exc):
                return _failed(exc, in_flight=True)
            self.sessions.discard(key, session)
            return SessionGone(str(exc))
        except (KsefError, ksef_auth.KsefUnavailableError, ConnectionLostError) as exc:
            return _failed(exc, in_flight=True)
        finally:
            self.sessions.release(session, used)
        return _uploaded(sent)

    async def _authorized(
        self, attempt: Attempt, token: str, call: Callable[[str], Awaitable[T]]
    ) -> T:
        """`call` with the token; after a 401, once more with a renewed one (a 401 files
        nothing); refused again, the connection expires."""
        connection_id = attempt.submission.connection_id
        try:
            return await call(token)
        except KsefAuthError:
            fresh = await renew_refused_token(attempt.conn, connection_id, token, self._auth)
            if fresh is None:
                raise ConnectionLostError(EXPIRED) from None
        try:
            return await call(fresh)
        except KsefAuthError as again:
            message = f"KSeF refused the renewed token too (HTTP {again.status})."
            await expire_after_second_refusal(attempt.conn, connection_id, message)
            raise ConnectionLostError(message) from None

    # --- reconciling: the session's own list -----------------------------------------------------

    async def find(self, attempt: Attempt) -> outcomes.FindOutcome:
        submission, conn = attempt.submission, attempt.conn
        session = submission.gov_session
        token = await connection_token(conn, submission.connection_id)
        if session is None:  # nothing was in flight: the row died before its session was noted
            return outcomes.NotFound(reason="no session", endpoint_failed=None)
        if token is None:
            return outcomes.Unconfirmed(
                where_to_check=f"KSeF's session {session} (the KSeF portal)"
            )
        xml = await attempt.document() or b""
        try:
            received = await self._ksef.session_invoices(token, session, attempt.calls)
        except (KsefTransientError, KsefAuthError) as exc:
            if isinstance(exc, KsefAuthError):
                await renew_refused_token(conn, submission.connection_id, token, self._auth)
            return outcomes.look_again_after(exc, SESSION_LIST_RETRY)
        except KsefRefusedError as exc:
            # The session cannot be read (unknown to this context, say): whether it holds the
            # invoice is not known, and sending again could file it twice.
            log.info("session %s of %s cannot be listed: %s", session, submission.ref, exc)
            return outcomes.Unconfirmed(
                where_to_check=f"KSeF's session {session} (the KSeF portal)"
            )
        ours = invoice_hash(xml)
        # A session carries many invoices: the same document sent for another of the
        # connection's invoices (the same invoice posted twice) is that one's, not ours.
        others = await submissions.recent_upload_ids(
            conn, submission.connection_id, utcnow() - OTHERS_SENT_WITHIN
        )
        found = next(
            (i for i in received if i.invoice_hash == ours and i.reference_number not in others),
            None,
        )
        if found is not None:
            log.info("found the lost send of %s in session %s", submission.ref.invoice_id, session)
            return _uploaded(
                SentInvoice(session_reference=session, invoice_reference=found.reference_number)
            )
        # KSeF lists what a session received the moment it received it: not there, not sent.
        return outcomes.NotFound(reason=f"not received in session {session}; sending again")


def _failed(exc: KsefFailure | ConnectionLostError, *, in_flight: bool) -> outcomes.UploadOutcome:
    """What a failed call comes to. A lost answer to the send may have filed it; to the
    session's opening (before anything was in flight), it filed nothing."""
    if isinstance(exc, KsefTransientError | KsefRefusedError):
        return outcomes.upload_failed(exc, sent=in_flight)
    if isinstance(exc, ksef_auth.KsefUnavailableError):  # no renewal just now
        return outcomes.NotTaken(reason=str(exc), endpoint_failed=None)
    return outcomes.ConnectionLost(reason=str(exc))


def _uploaded(sent: SentInvoice) -> outcomes.Uploaded:
    return outcomes.Uploaded(
        upload_id=sent.invoice_reference,
        details={"sessionReferenceNumber": sent.session_reference},
    )


def filer(setup: FilerSetup, ksef: KsefEndpoint) -> KsefFiler:
    """KSeF's Filer; its open sessions are closed when the submitter stops."""
    made = KsefFiler(setup.http, ksef)
    setup.closing.push_async_callback(made.close_sessions)
    return made

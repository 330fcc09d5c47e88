"""What the poller asks ANAF about one upload, and what the answer means.

stareMesaj says `in prelucrare` (ask again), `ok` or `nok` (download the signed ZIP: the
invoice and ANAF's seal, or the error report), or `XML cu erori nepreluat de sistem` (rejected
outright, nothing to download). A `nok` is final: without an id_descarcare, its errors are the
ones it gives inline. Both calls count against ANAF's limits: 1000 a minute for everyone (a
bucket shared by every replica), 100 status checks and 10 downloads a message a day, a call
counted only once ANAF answered it (anaf_quota.py). Once the status gave a decision, a download
that was throttled is tried again after its Retry-After without asking for the status again.
A refused token is refreshed once (refresh_refused_token); if that fails the connection expires,
which puts the waiting invoices in `error` until it is authorized again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import httpx

from clearway.accounts import connection_token
from clearway.config import Settings
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.governments.ro.client import (
    AnafAuthError,
    AnafClient,
    AnafError,
    AnafRefusedError,
    AnafTransientError,
    Stare,
    StatusResult,
    calls_bucket,
    download_quota,
    error_report_messages,
    status_quota,
)
from clearway.governments.ro.oauth import AnafOAuthClient
from clearway.governments.ro.quota import counted_if_answered, quota_resets_at
from clearway.governments.ro.settings import AnafEndpoint
from clearway.governments.ro.tokens import refresh_refused_token
from clearway.pipeline.decisions import (
    Accepted,
    Decided,
    Outcome,
    Pending,
    Rejected,
    pending_after,
)
from clearway.pipeline.polling import Cadence
from clearway.resilience.ratelimit import DailyQuota, next_day_starts, take_token
from clearway.runtime import ServiceContext
from clearway.store.status_polls import Poll

# ANAF's stare is Romanian; govMessage carries it in ANAF's language, as the seed's timeline shows.
GOV_MESSAGE_ACCEPTED = "Factura a fost acceptata"
QUOTA_REACHED = "S-au facut deja"

# stareMesaj allows 100 checks a message a day: doubling to POLL_INTERVAL_MAX (60 s) for half an
# hour is at most ~40, then one every 25 minutes is ~56 more.
CADENCE = Cadence(slow_after=dt.timedelta(minutes=30), slow_every=dt.timedelta(minutes=25))


class AnafStatusFollower:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, anaf: AnafEndpoint) -> None:
        self._anaf = AnafClient(anaf.rest_url, http)
        self._oauth = AnafOAuthClient(anaf.oauth_url, anaf.client_id, anaf.client_secret, http)
        self._calls = calls_bucket(anaf.rest_url, settings.anaf.calls_per_minute)

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:
        token = await connection_token(conn, poll.connection_id)
        if token is None:
            return Pending("the company's ANAF connection is not active")
        progress = _Progress(_remembered(poll))
        try:
            return await self._ask(conn, poll.upload_id, token, calls, progress)
        except AnafAuthError as refused:
            fresh = await refresh_refused_token(conn, poll.connection_id, token, self._oauth)
            if fresh is None:
                return Pending(
                    f"ANAF refused the token (HTTP {refused.status}); not refreshed",
                    decided=progress.decided,
                )
            return Pending("the token was refreshed", at=utcnow(), decided=progress.decided)
        except (AnafTransientError, AnafRefusedError) as exc:
            return _pending_after(exc, progress.decided)

    async def _ask(
        self,
        conn: Connection,
        upload_id: str,
        token: str,
        calls: list[GovCall],
        progress: _Progress,
    ) -> Outcome:
        if progress.decided is None:
            quota = status_quota(upload_id)
            held = await self._held_back(conn, quota)
            if held is not None:
                return held
            status = await counted_if_answered(
                conn, quota, self._anaf.status(upload_id, token=token, calls=calls)
            )
            if status.stare not in {Stare.OK, Stare.NOK} or status.download_id is None:
                return _undecided(status, upload_id)
            progress.decided = Decided(status.stare.value, status.download_id)
        # A decided message only needs its document: a download held back or throttled is
        # tried again later without asking for the status again.
        decided = progress.decided
        quota = download_quota(decided.document_id)
        held = await self._held_back(conn, quota)
        if held is not None:
            return replace(held, decided=decided)
        content = await counted_if_answered(
            conn, quota, self._anaf.download(decided.document_id, token=token, calls=calls)
        )
        return _decided(Stare(decided.state), decided.document_id, content)

    async def _held_back(self, conn: Connection, quota: DailyQuota) -> Pending | None:
        """A Pending for when the call may go out, or None when it may go out now. The call is
        counted against the quota only once ANAF answered it (counted_if_answered)."""
        wait = await take_token(conn, self._calls)
        if wait:
            return Pending("ANAF's call limit", at=utcnow() + dt.timedelta(seconds=wait))
        resets_at = await quota_resets_at(conn, quota)
        if resets_at is not None:
            return Pending(f"ANAF's daily quota ({quota.key})", at=resets_at)
        return None


@dataclass
class _Progress:
    """How far this poll got: the decision once stareMesaj gave it (or an earlier poll did)."""

    decided: Decided | None


def _remembered(poll: Poll) -> Decided | None:
    state, document_id = poll.decided_state, poll.decided_document
    if state is None or document_id is None:
        return None
    return Decided(state, document_id)


def _decided(stare: Stare, download_id: str, content: bytes) -> Outcome:
    if stare is Stare.OK:
        return Accepted(
            gov_id=download_id,
            gov_message=GOV_MESSAGE_ACCEPTED,
            receipt=content,
            content_type="application/zip",
            file_name=f"{download_id}.zip",
        )
    messages = error_report_messages(content) or (stare.value,)
    return Rejected(gov_id=download_id, messages=messages, report=content)


def _undecided(status: StatusResult, upload_id: str) -> Outcome:
    if status.stare is Stare.REFUSED:
        return Rejected(gov_id=None, messages=(status.stare.value,), report=None)
    if status.stare is Stare.NOK:
        # `nok` is final. Without a report to download, its errors are the ones given inline.
        return Rejected(gov_id=None, messages=status.errors or (status.stare.value,), report=None)
    if status.stare is None and any(e.startswith(QUOTA_REACHED) for e in status.errors):
        quota = status_quota(upload_id)
        return Pending("; ".join(status.errors), at=next_day_starts(quota, utcnow()))
    return Pending("; ".join(status.errors) or (status.stare or "no answer"))


def _pending_after(exc: AnafError, decided: Decided | None) -> Pending:
    if isinstance(exc, AnafRefusedError) and exc.message.startswith(QUOTA_REACHED):
        # A descarcare quota ANAF counts although Clearway's count did not reach it.
        return Pending(exc.message, at=utcnow() + dt.timedelta(hours=1), decided=decided)
    return pending_after(exc, decided)


def follower(
    context: ServiceContext, http: httpx.AsyncClient, anaf: AnafEndpoint
) -> AnafStatusFollower:
    return AnafStatusFollower(context.settings, http, anaf)

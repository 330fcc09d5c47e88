"""What the poller asks ANAF about one upload, and what the answer means.

stareMesaj says `in prelucrare` (ask again), `ok` or `nok` (download the signed ZIP: the
invoice and ANAF's seal, or the error report), or `XML cu erori nepreluat de sistem` (rejected
outright, nothing to download). Both calls count against ANAF's limits: 1000 a minute for
everyone (a bucket shared by every replica), 100 status checks and 10 downloads a message a day.
A refused token is refreshed once (refresh_refused_token); if that fails the connection expires,
which puts the waiting invoices in `error` until it is authorized again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from clearway.accounts import connection_token
from clearway.config import AnafEndpoint
from clearway.connectors import GovCall
from clearway.connectors.anaf import (
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
from clearway.connectors.anaf_oauth import AnafOAuthClient
from clearway.connectors.anaf_tokens import refresh_refused_token
from clearway.domain.ids import utcnow
from clearway.eventstore import Connection
from clearway.resilience.ratelimit import DailyQuota, count_call, next_day_starts, take_token
from clearway.runtime import ServiceContext

from services.poller.decisions import Accepted, Outcome, Pending, Rejected

# ANAF's stare is Romanian; govMessage carries it in ANAF's language, as the seed's timeline shows.
GOV_MESSAGE_ACCEPTED = "Factura a fost acceptata"
QUOTA_REACHED = "S-au facut deja"


class AnafStatusFollower:
    def __init__(
        self, context: ServiceContext, http: httpx.AsyncClient, anaf: AnafEndpoint
    ) -> None:
        settings = context.settings
        self._anaf = AnafClient(anaf.rest_url, http)
        self._oauth = AnafOAuthClient(anaf.oauth_url, anaf.client_id, anaf.client_secret, http)
        self._calls = calls_bucket(anaf.rest_url, settings.anaf_calls_per_minute)

    async def follow(self, conn: Connection, poll: Any, calls: list[GovCall]) -> Outcome:
        token = await connection_token(conn, poll["connection_id"])
        if token is None:
            return Pending("the company's ANAF connection is not active")
        try:
            return await self._ask(conn, poll["upload_id"], token, calls)
        except AnafAuthError as refused:
            fresh = await refresh_refused_token(conn, poll["connection_id"], token, self._oauth)
            if fresh is None:
                return Pending(f"ANAF refused the token (HTTP {refused.status}); not refreshed")
            return Pending("the token was refreshed", at=utcnow())
        except (AnafTransientError, AnafRefusedError) as exc:
            return _pending_after(exc)

    async def _ask(
        self, conn: Connection, upload_id: str, token: str, calls: list[GovCall]
    ) -> Outcome:
        held = await self._held_back(conn, status_quota(upload_id))
        if held is not None:
            return held
        status = await self._anaf.status(upload_id, token=token, calls=calls)
        if status.stare in {Stare.OK, Stare.NOK} and status.download_id is not None:
            held = await self._held_back(conn, download_quota(status.download_id))
            if held is not None:
                return held
            content = await self._anaf.download(status.download_id, token=token, calls=calls)
            return _decided(status.stare, status.download_id, content)
        return _undecided(status, upload_id)

    async def _held_back(self, conn: Connection, quota: DailyQuota) -> Pending | None:
        """A Pending for when the call may go out, or None when it may go out now."""
        wait = await take_token(conn, self._calls)
        if wait:
            return Pending("ANAF's call limit", at=utcnow() + dt.timedelta(seconds=wait))
        if not await count_call(conn, quota, utcnow()):
            return Pending(f"ANAF's daily quota ({quota.key})", at=next_day_starts(quota, utcnow()))
        return None


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
    if status.stare is None and any(e.startswith(QUOTA_REACHED) for e in status.errors):
        quota = status_quota(upload_id)
        return Pending("; ".join(status.errors), at=next_day_starts(quota, utcnow()))
    return Pending("; ".join(status.errors) or (status.stare or "no answer"))


def _pending_after(exc: AnafError) -> Pending:
    if isinstance(exc, AnafRefusedError) and exc.message.startswith(QUOTA_REACHED):
        # A descarcare quota ANAF counts although Clearway's count did not reach it.
        return Pending(exc.message, at=utcnow() + dt.timedelta(hours=1))
    retry_after = exc.retry_after
    at = utcnow() + dt.timedelta(seconds=retry_after) if retry_after else None
    return Pending(str(exc), at=at)

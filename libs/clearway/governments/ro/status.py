"""What the poller asks ANAF about a company's uploads, and what the answers mean.

The company's message list first (listaMesajePaginatieFactura, sent_list.py): read at most once
every ANAF_STATUS_LIST_EVERY seconds per connection in this process, one read answers every
recent upload of the company: `FACTURA TRIMISA` is `ok`, `ERORI FACTURA` is `nok`, each with
the id of its ZIP. An upload the list does not show after ANAF_STATUS_LIST_SILENCE seconds
(still processing, not taken — which ANAF never lists —, or listed too late), or while ANAF
refuses the list (its daily quota, rights), is asked about one by one with stareMesaj:
`in prelucrare` (ask again), `ok` or `nok` (download the signed ZIP: the invoice and ANAF's
seal, or the error report), or `XML cu erori nepreluat de sistem` (rejected outright, nothing to
download). A `nok` is final: without an id_descarcare, its errors are the ones it gives inline.
A decided upload's ZIP is downloaded once.

Every call counts against ANAF's limits: 1000 a minute for everyone (a bucket shared by every
replica), 100,000 paginated lists a CIF, 100 status checks and 10 downloads a message a day,
counted in PostgreSQL for every replica once ANAF answered (quota.py). Once the decision is
known, a download that was throttled is tried again after its Retry-After without asking for
the decision again. A refused token is refreshed once (refresh_refused_token); if that fails
the connection expires, which puts the waiting invoices in `error` until it is authorized again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, replace

import httpx

from clearway.accounts import connection_token
from clearway.config import Settings
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.governments.ro.apis import anaf_apis
from clearway.governments.ro.client import (
    AnafAuthError,
    AnafError,
    AnafRefusedError,
    AnafTransientError,
    MessagePage,
    Stare,
    StatusResult,
    download_quota,
    error_report_messages,
    paged_list_quota,
    status_list_share,
    status_quota,
)
from clearway.governments.ro.identifiers import cif_digits
from clearway.governments.ro.quota import counted_if_answered, quota_resets_at
from clearway.governments.ro.receiving import PAGE_BEYOND_LAST
from clearway.governments.ro.sent_list import OVERLAP, ListWindow, SentList
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
from clearway.store.connections import connection_with_vat
from clearway.store.status_polls import Poll

log = logging.getLogger(__name__)

# ANAF's stare is Romanian; govMessage carries it in ANAF's language, as the seed's timeline shows.
GOV_MESSAGE_ACCEPTED = "Factura a fost acceptata"
QUOTA_REACHED = "S-au facut deja"
# The message list answers 500 rows a page: a read stops after this many pages (a backlog of
# 10,000 decisions in one window); what it did not reach is asked about with stareMesaj.
MAX_LIST_PAGES = 20
# ANAF refused the list for another reason than its quota (rights on the CIF): stareMesaj
# answers for this long before the list is tried again.
LIST_REFUSED_PAUSE = dt.timedelta(minutes=10)

# stareMesaj allows 100 checks a message a day: doubling to POLL_INTERVAL_MAX (60 s) for half an
# hour is at most ~40, then one every 25 minutes is ~56 more.
CADENCE = Cadence(slow_after=dt.timedelta(minutes=30), slow_every=dt.timedelta(minutes=25))


class AnafStatusFollower:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, anaf: AnafEndpoint) -> None:
        self._anaf, self._oauth, self._calls = anaf_apis(anaf, http, settings)
        self._list_every = dt.timedelta(seconds=settings.anaf.status_list_every)
        self._silence = dt.timedelta(seconds=settings.anaf.status_list_silence)
        # One view of each connection's message list in this process; the polls of a
        # connection claimed together wait for one read (its lock) rather than each asking.
        self._lists: dict[str, SentList] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:
        token = await connection_token(conn, poll.connection_id)
        if token is None:
            return Pending("the company's ANAF connection is not active")
        progress = _Progress(_remembered(poll))
        try:
            return await self._ask(conn, poll, token, calls, progress)
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
        poll: Poll,
        token: str,
        calls: list[GovCall],
        progress: _Progress,
    ) -> Outcome:
        upload_id = poll.upload_id
        if progress.decided is None:
            listed = await self._listed(conn, poll, token, calls)
            if isinstance(listed, Pending):
                return listed
            progress.decided = listed
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

    async def _listed(
        self, conn: Connection, poll: Poll, token: str, calls: list[GovCall]
    ) -> Decided | Pending | None:
        """The upload's decision as the company's message list shows it (read now if this
        connection's view is older than ANAF_STATUS_LIST_EVERY); Pending while the list may
        still show it; None when stareMesaj is to answer instead."""
        lock = self._locks.setdefault(poll.connection_id, asyncio.Lock())
        async with lock:
            view = self._lists.get(poll.connection_id)
            if view is None:
                row = await connection_with_vat(conn, poll.connection_id)
                if row is None:
                    return None
                view = self._lists[poll.connection_id] = SentList(cif_digits(row["vat_number"]))
            now = utcnow()
            if view.due(now, self._list_every):
                held = await self._read_list(conn, view, token, calls, now)
                if held is not None and view.decision(poll.upload_id) is None:
                    return held
        decided = view.decision(poll.upload_id)
        if decided is not None:
            return decided
        now = utcnow()
        if view.open(now) and now - poll.created_at < self._silence:
            # Back when the list is read again: sooner finds nothing new, later waits for nothing.
            next_read = view.asked_at + self._list_every if view.asked_at else None
            at = next_read if next_read is not None and next_read > now else None
            return Pending("ANAF's message list does not show the upload yet", at=at)
        return None

    async def _read_list(
        self, conn: Connection, view: SentList, token: str, calls: list[GovCall], now: dt.datetime
    ) -> Pending | None:
        """Read the view's next window, page after page; a Pending when ANAF's per-minute limit
        holds the read back. A refusal (the daily quota, rights) closes the list for a while."""
        window = view.window(now, self._silence + self._list_every + OVERLAP)
        if window is None:
            return None
        view.asked_at = now
        quota, share = paged_list_quota(view.cif), status_list_share(view.cif)
        for page in range(1, MAX_LIST_PAGES + 1):
            wait = await take_token(conn, self._calls)
            if wait:
                return Pending("ANAF's call limit", at=utcnow() + dt.timedelta(seconds=wait))
            view.closed_until = await quota_resets_at(conn, quota) or await quota_resets_at(
                conn, share
            )
            if view.closed_until is not None:
                return None
            page_read = self._list_page(view.cif, window, page, token, calls)
            try:
                # Counted twice when answered: against the CIF's quota and against this share.
                listing = await counted_if_answered(
                    conn, quota, counted_if_answered(conn, share, page_read)
                )
            except AnafRefusedError as refused:
                if refused.message.startswith(PAGE_BEYOND_LAST):
                    break  # rows left ANAF's 60 days since page 1 counted them
                view.closed_until = (
                    next_day_starts(quota, now)
                    if refused.message.startswith(QUOTA_REACHED)
                    else now + LIST_REFUSED_PAUSE
                )
                log.warning("ANAF refused the message list of %s: %s", view.cif, refused.message)
                return None
            view.add(listing.messages)
            if page >= listing.pages:
                break
        else:
            # More pages than a read takes: the window counts as read all the same, or every
            # read would ask it again (20 pages a second, past ANAF's calls per minute); what
            # the pages left unread hold is answered by stareMesaj once the list stays silent.
            log.warning("the message list of %s had more than %s pages", view.cif, MAX_LIST_PAGES)
        view.read(window, now)
        return None

    def _list_page(
        self, cif: str, window: ListWindow, page: int, token: str, calls: list[GovCall]
    ) -> Awaitable[MessagePage]:
        return self._anaf.list_messages(
            cif=cif, start=window.start, end=window.end, page=page, token=token, calls=calls
        )

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
    """How far this poll got: the decision once the list or stareMesaj gave it (or an earlier
    poll did)."""

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

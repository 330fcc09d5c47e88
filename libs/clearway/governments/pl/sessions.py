"""One open KSeF online session per connection (its NIP), shared by the invoices this process
sends for it.

KSeF limits opening online sessions per NIP (GOVERNMENTS.md: 10/s, 30/min, 120/h) far more
tightly than sending into one, and a session takes invoice after invoice until KSeF closes it
itself at its validUntil, 12 hours after it opened. So a connection's invoices go into the
session it has open:

    acquire    the connection's open session if it may take one more invoice (further than
               RENEW_BEFORE from validUntil, fewer than MAX_INVOICES in it), else a new one,
               opened under the connection's lock: concurrent invoices open one session
    release    its send is over; a session replaced meanwhile is closed after its last send
    discard    KSeF says the session takes nothing more (closed, expired, unknown, unavailable):
               it is forgotten, never closed by us, and the invoice goes into a new one
    sweep      a session idle for IDLE_CLOSE, or that may take no more, is closed (KSeF then
               prepares its collective UPO); a background task sweeps while any is open
    close_all  at shutdown, best effort: what stays open KSeF closes itself at validUntil

The sessions live in this process's memory only. Each submitter replica opens its own for a
seller, which KSeF allows (many open sessions per context): a few replicas multiply the opens by
a few, not by the invoices. None of the filing's guarantees rests on this cache: the row records
the session before the send leaves, so a lost answer is looked for in that session's list by the
invoice's hash whoever shares it, and an invoice's status and UPO are read per invoice while its
session is still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from clearway.domain.ids import utcnow
from clearway.governments.pl.client import (
    KsefAuthError,
    KsefRefusedError,
    KsefTransientError,
    OpenedSession,
)

log = logging.getLogger(__name__)

# A seller sending slower than one invoice per IDLE_CLOSE opens a session per invoice: at most
# 30 an hour, a quarter of KSeF's hourly limit; a busier one keeps its session.
IDLE_CLOSE = 120.0
# Not sent into once this close to validUntil: KSeF closes it then by its own clock (ours may
# differ, a send takes time), and a send refused there costs the invoice a second try.
RENEW_BEFORE = 600.0
# Reconciling a lost answer lists the session's invoices, 100 a page under KSeF's tight
# sessionInvoiceList limit: at most one page each time.
MAX_INVOICES = 100
SESSION_LIFETIME = 12 * 3600.0  # when KSeF's answer carries no validUntil
SWEEP_EVERY = 15.0
SHUTDOWN_CLOSE = 5.0  # seconds the closes at shutdown may take

# KSeF's refusals of a send that mean the session itself takes no more (the invoice is fine):
# 21173 no such session, 21180 the session's status allows no sending (closed, expired at
# validUntil, its key did not decrypt), 21184 the session is temporarily unavailable ("open a
# new session to send further invoices", CIRFMF/ksef-api#864).
SESSION_GONE = re.compile(r"(?:^|; )(21173|21180|21184)\b")

Opener = Callable[[], Awaitable[OpenedSession]]
Closer = Callable[[str, str], Awaitable[None]]  # (access token, session reference)


def session_gone(exc: KsefRefusedError) -> bool:
    """Whether KSeF refused the send because of the session, not the invoice."""
    return SESSION_GONE.search(exc.message) is not None


@dataclass(eq=False)
class OnlineSession:
    opened: OpenedSession
    last_send_by: float  # on the cache's clock: RENEW_BEFORE before validUntil
    token: str  # the latest access token sent with, to close the session with
    last_used: float
    invoices: int = 0  # sends begun in it
    sending: int = 0  # sends in flight
    retired: bool = False  # replaced: closed after its last send
    gone: bool = False  # KSeF takes nothing more in it: never closed by us

    @property
    def reference(self) -> str:
        return self.opened.reference


class OnlineSessions:
    """The open sessions of one KSeF endpoint, by connection id."""

    def __init__(self, close: Closer, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._close = close
        self._clock = clock
        self._open: dict[str, OnlineSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def acquire(self, key: str, token: str, open_session: Opener) -> OnlineSession:
        """The session to send the next invoice of `key` in, counted as sending until
        `release`; `open_session`'s failure (and its HeldBackError) comes out as it is."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            session = self._open.get(key)
            if session is None or not self._takes_more(session):
                if session is not None:
                    self._retire(key, session)
                opened = await open_session()
                session = OnlineSession(
                    opened,
                    last_send_by=self._last_send_by(opened),
                    token=token,
                    last_used=self._clock(),
                )
                self._open[key] = session
                self._sweep_in_background()
            session.invoices += 1
            session.sending += 1
            session.token = token
            return session

    def release(self, session: OnlineSession, token: str) -> None:
        session.sending -= 1
        session.last_used = self._clock()
        session.token = token
        if session.retired and not session.gone and session.sending == 0:
            self._close_in_background(session)

    def discard(self, key: str, session: OnlineSession) -> None:
        """KSeF takes nothing more in the session: the next invoice opens a new one."""
        session.gone = True
        if self._open.get(key) is session:
            del self._open[key]
        log.info("KSeF takes no more invoices in session %s", session.reference)

    async def sweep(self) -> None:
        """Close the sessions idle for IDLE_CLOSE or that may take no more, none mid-send."""
        now = self._clock()
        done = [
            (key, session)
            for key, session in self._open.items()
            if session.sending == 0
            and (now - session.last_used >= IDLE_CLOSE or not self._takes_more(session))
        ]
        for key, _ in done:
            del self._open[key]
        for _, session in done:
            await self._close_quietly(session)

    async def close_all(self) -> None:
        """At shutdown: close every open session, within SHUTDOWN_CLOSE (best effort)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        sessions = [s for s in self._open.values() if not s.gone]
        self._open.clear()
        pending = [*(self._close_quietly(s) for s in sessions), *self._closing]
        if pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pending), SHUTDOWN_CLOSE)

    # --- inside ------------------------------------------------------------------------------

    def _takes_more(self, session: OnlineSession) -> bool:
        return self._clock() < session.last_send_by and session.invoices < MAX_INVOICES

    def _last_send_by(self, opened: OpenedSession) -> float:
        lifetime = SESSION_LIFETIME
        if opened.valid_until is not None:
            lifetime = (opened.valid_until - utcnow()).total_seconds()
        return self._clock() + lifetime - RENEW_BEFORE

    def _retire(self, key: str, session: OnlineSession) -> None:
        del self._open[key]
        session.retired = True
        if session.sending == 0:
            self._close_in_background(session)

    def _close_in_background(self, session: OnlineSession) -> None:
        task = asyncio.create_task(self._close_quietly(session))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_quietly(self, session: OnlineSession) -> None:
        """Closing makes KSeF prepare the session's collective UPO; its invoices are filed and
        each has its own UPO either way, and KSeF closes it at validUntil if we cannot."""
        try:
            await self._close(session.token, session.reference)
        except (KsefTransientError, KsefRefusedError, KsefAuthError) as exc:
            log.info("closing session %s failed: %s", session.reference, exc)
        else:
            log.info("closed session %s after %d invoices", session.reference, session.invoices)

    def _sweep_in_background(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_while_open())

    async def _sweep_while_open(self) -> None:
        while self._open:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeping the open KSeF sessions failed")

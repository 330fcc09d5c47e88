"""token-refresher: keeps every connection's tokens fresh before they expire.

Consumes no topic. A loop claims the connections that are due (`next_refresh_at`, a jittered
point of each token's life, per country: clearway.domain.connections), asks their government
for new tokens and records what happened:

    new tokens          sealed; next refresh planned; `connection.refreshed`
    a refusal           `expired` with lastErrorMessage; secrets purged; `connection.expired`;
                        invoices being followed with the connection → `error` (authorize again)
    a passing failure   (the government down, 5xx, 429, timeout) tried again with backoff

Each government renews its own (Government.token_renewer): RO refreshes with ANAF's refresh
token (a new pair each time); PL refreshes the access token with KSeF's refresh token and, when
that one (7 days, not renewable) is about to end, authenticates again with the company's KSeF
token or certificate (a certificate past its notAfter expires the connection instead). A
government without a renewer has certificates, which cannot be renewed here (IT): the
connection expires with the certificate.

Replicas share the work without ever refreshing one connection twice at once: a row is claimed
with FOR UPDATE SKIP LOCKED and leased to a claim id; a replica that outlives its lease finds
its claim id gone and records nothing (the next claimant owns the row).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import secrets
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
from clearway.accounts.connection_secrets import store_secrets
from clearway.accounts.connections import connection_event, expire_connection, planned_refresh
from clearway.config import Settings
from clearway.domain.connections import ConnectionEvent, retry_delay, system_of
from clearway.domain.ids import iso_millis, utcnow
from clearway.governments import GOVERNMENTS
from clearway.governments.base import (
    AUTHORIZE_AGAIN,
    Renewal,
    RenewalDeferredError,
    RenewalRefusedError,
    RenewalTools,
    TokenRenewer,
)
from clearway.observability.metrics import TOKEN_EXPIRY_HORIZON
from clearway.runtime import ServiceContext, work_in_rounds
from clearway.security import Keyring
from clearway.store import connections as store
from clearway.store.outbox import enqueue

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)  # a claim not recorded by then is taken up by another replica
BATCH_SIZE = 20
Clock = Callable[[], dt.datetime]


def register_handlers(_: ServiceContext) -> None:
    """No topic to consume: the work comes from the connections table (see refresh_tokens)."""


async def refresh_tokens(context: ServiceContext) -> None:
    """The service's loop, with the real clock."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        refresher = TokenRefresher(
            context.pool, context.settings, http, on_recorded=context.relay.wake
        )
        await refresher.run_forever(context.settings.token_refresh_interval)


class TokenRefresher:
    def __init__(  # noqa: PLR0913 - each is a seam a test replaces
        self,
        pool: asyncpg.Pool[Any],
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        keyring: Keyring | None = None,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        lease: dt.timedelta = LEASE,
        batch_size: int = BATCH_SIZE,
        on_recorded: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._keyring = keyring
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._lease = lease
        self._batch_size = batch_size
        self._on_recorded = on_recorded or (lambda: None)
        tools = RenewalTools(settings, http, pool, keyring)
        self._renewers: dict[str, TokenRenewer] = {}
        for code, government in GOVERNMENTS.items():
            renewer = government.token_renewer(tools)
            if renewer is not None:
                self._renewers[code] = renewer

    async def run_forever(self, idle_pause: float) -> None:
        await work_in_rounds(
            self._round, pause=idle_pause, log=log, failure="token refresh loop failed; retrying"
        )

    async def _round(self) -> int:
        await self.record_expiry_horizon()
        return await self.run_once()

    async def record_expiry_horizon(self) -> None:
        """Per country, seconds until the first active connection stops working unless a
        person acts: the refresh token's end when refreshing renews it (RO), else the
        credential's own (an IT certificate). Connections that authenticate again by
        themselves (KSeF, with the stored token) have no such horizon."""
        self_renewing = [
            code
            for code, government in GOVERNMENTS.items()
            if government.token_policy is not None and government.token_policy.reauthenticate_before
        ]
        async with self._pool.acquire() as conn:
            horizons = await store.expiry_horizons(conn, except_countries=self_renewing)
        now = self._clock()
        for country, horizon in horizons.items():
            if horizon is not None:
                TOKEN_EXPIRY_HORIZON.labels(country).set((horizon - now).total_seconds())

    async def run_once(self) -> int:
        """Claim the connections due now and handle each; returns how many were claimed."""
        claim_id = secrets.token_hex(8)
        claimed = await self._claim(claim_id)
        if claimed:
            await asyncio.gather(*(self._handle(row, claim_id) for row in claimed))
            self._on_recorded()
        return len(claimed)

    async def _claim(self, claim_id: str) -> list[Any]:
        now = self._clock()
        async with self._pool.acquire() as conn:
            return await store.claim_due_refreshes(
                conn,
                now=now,
                lease_until=now + self._lease,
                owner=claim_id,
                limit=self._batch_size,
            )

    async def _handle(self, row: Any, claim_id: str) -> None:
        system = system_of(row["country"])
        try:
            renewal = await self._renew(row)
        except RenewalRefusedError as exc:
            log.warning("connection %s: %s refused the refresh", row["id"], system)
            await self._expire(row, claim_id, str(exc))
        except RenewalDeferredError as exc:
            log.warning("connection %s: %s; refreshing later", row["id"], exc)
            await self._retry_later(row, claim_id, str(exc))
        except Exception:
            log.exception("connection %s: refresh failed; the lease will lapse", row["id"])
        else:
            if renewal is None:
                await self._release(row, claim_id)
            else:
                await self._record(row, claim_id, renewal)

    async def _renew(self, row: Any) -> Renewal | None:
        """New tokens, or None when there is nothing to do yet."""
        now = self._clock()
        renewer = self._renewers.get(row["country"])
        if renewer is not None:
            return await renewer.renew(row, now)
        expires = row["token_expires_at"]
        if expires is not None and now >= expires:
            raise RenewalRefusedError(
                f"The certificate expired on {iso_millis(expires)}; upload a renewed one "
                f"(POST /v1/connections/{row['id']}/certificate)."
            )
        return None

    async def _record(self, row: Any, claim_id: str, renewal: Renewal) -> None:
        now = self._clock()
        refresh_at = planned_refresh(
            row["country"],
            now=now,
            access_expires_at=renewal.access_expires_at,
            refresh_expires_at=renewal.refresh_expires_at,
            rng=self._rng,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            updated = await store.record_refresh(
                conn,
                row["id"],
                owner=claim_id,
                token_expires_at=renewal.access_expires_at,
                refresh_token_expires_at=renewal.refresh_expires_at,
                next_refresh_at=refresh_at,
            )
            if updated is None:
                # The lease ran out (another replica owns the row now) or the connection was
                # deleted: what this replica got is dropped, never stored.
                log.warning("connection %s: lease lost; refresh not recorded", row["id"])
                return
            await store_secrets(conn, row["id"], renewal.secrets, keyring=self._keyring)
            await enqueue(conn, [connection_event(updated, ConnectionEvent.REFRESHED)])

    async def _expire(self, row: Any, claim_id: str, message: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            expired = await expire_connection(conn, row, message, lease_owner=claim_id)
        if expired is None:
            log.warning("connection %s: lease lost; expiry not recorded", row["id"])

    async def _retry_later(self, row: Any, claim_id: str, reason: str) -> None:
        failures = row["refresh_failures"] + 1
        retry_at = self._clock() + retry_delay(failures, self._rng)
        refresh_expires = row["refresh_token_expires_at"]
        if refresh_expires is not None and retry_at >= refresh_expires:
            await self._expire(
                row,
                claim_id,
                f"{reason}, and the refresh token ran out. {AUTHORIZE_AGAIN}",
            )
            return
        async with self._pool.acquire() as conn:
            await store.refresh_later(
                conn,
                row["id"],
                owner=claim_id,
                retry_at=retry_at,
                failures=failures,
                message=f"{reason}; trying again at {iso_millis(retry_at)}.",
            )

    async def _release(self, row: Any, claim_id: str) -> None:
        """Nothing to do yet (a certificate still valid): look again when it expires."""
        async with self._pool.acquire() as conn:
            await store.refresh_at_expiry(conn, row["id"], owner=claim_id)

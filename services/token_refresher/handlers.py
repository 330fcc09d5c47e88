"""token-refresher: keeps every connection's tokens fresh before they expire.

Consumes no topic. A loop claims the connections that are due (`next_refresh_at`, a jittered
point of each token's life, per country: clearway.domain.connections), asks their government
for new tokens and records what happened:

    new tokens          sealed; next refresh planned; `connection.refreshed`
    a refusal           `expired` with lastErrorMessage; secrets purged; `connection.expired`;
                        invoices being followed with the connection → `error` (authorize again)
    a passing failure   (the government down, 5xx, 429, timeout) tried again with backoff

RO refreshes with ANAF's refresh token (a new pair each time). PL refreshes the access token
with KSeF's refresh token and, when that one (7 days, not renewable) is about to end,
authenticates again with the company's KSeF token or certificate (a certificate past its
notAfter expires the connection instead). IT certificates cannot be renewed here: the
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from clearway.accounts.connections import (
    connection_event,
    expire_connection,
    planned_refresh,
    read_secret,
    store_secrets,
)
from clearway.config import (
    AnafEndpoint,
    KsefEndpoint,
    LiveNotConfiguredError,
    Settings,
    live_or_error,
)
from clearway.domain.connections import (
    GOVERNMENT_SYSTEM,
    TOKEN_POLICIES,
    ConnectionEvent,
    SecretKind,
    needs_reauthentication,
    retry_delay,
)
from clearway.domain.ids import iso_millis, utcnow
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.auth import (
    KsefAuthClient,
    KsefAuthRefusedError,
    KsefUnavailableError,
)
from clearway.governments.pl.tokens import (
    KsefCertificateExpiredError,
    authenticate_again,
    stored_credential,
)
from clearway.governments.ro.client import AnafUnavailableError
from clearway.governments.ro.oauth import AnafOAuthClient, AnafOAuthRefusedError
from clearway.observability.metrics import TOKEN_EXPIRY_HORIZON
from clearway.runtime import ServiceContext
from clearway.security import Keyring
from clearway.store import connections as store
from clearway.store.accounts import vat_number_of
from clearway.store.outbox import enqueue

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)  # a claim not recorded by then is taken up by another replica
BATCH_SIZE = 20
Clock = Callable[[], dt.datetime]


AUTHORIZE_AGAIN = "Authorize the connection again (POST /v1/connections)."


class RefusedError(Exception):
    """The government will not renew; the message tells the user what to do."""


class PassingFailureError(Exception):
    """Nothing was decided (the government did not answer): try again later."""


@dataclass(frozen=True)
class Renewal:
    secrets: Mapping[SecretKind, str]
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None


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
        # Per mode (a connection's livemode): a live connection renews at the live system,
        # or not at all when it is not configured; never at the sandbox.
        governments = settings.governments()

        def anaf_oauth(anaf: AnafEndpoint) -> AnafOAuthClient:
            return AnafOAuthClient(anaf.oauth_url, anaf.client_id, anaf.client_secret, http)

        def ksef_auth(ksef: KsefEndpoint) -> KsefAuthClient:
            return KsefAuthClient(ksef.api_url, http)

        self._anaf: dict[bool, AnafOAuthClient | LiveNotConfiguredError] = {
            False: anaf_oauth(governments.anaf.sandbox),
            True: live_or_error(governments.anaf, anaf_oauth),
        }
        self._ksef: dict[bool, KsefAuthClient | LiveNotConfiguredError] = {
            False: ksef_auth(governments.ksef.sandbox),
            True: live_or_error(governments.ksef, ksef_auth),
        }

    async def run_forever(self, idle_pause: float) -> None:
        while True:
            try:
                await self.record_expiry_horizon()
                if await self.run_once():
                    continue
            except Exception:
                log.exception("token refresh loop failed; retrying")
            await asyncio.sleep(idle_pause)

    async def record_expiry_horizon(self) -> None:
        """Per country, seconds until the first active connection stops working unless a
        person acts: the refresh token's end when refreshing renews it (RO), else the
        credential's own (an IT certificate). Connections that authenticate again by
        themselves (KSeF, with the stored token) have no such horizon."""
        self_renewing = [
            country for country, policy in TOKEN_POLICIES.items() if policy.reauthenticate_before
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
        system = GOVERNMENT_SYSTEM.get(row["country"], "government")
        try:
            renewal = await self._renew(row)
        except RefusedError as exc:
            log.warning("connection %s: %s refused the refresh", row["id"], system)
            await self._expire(row, claim_id, str(exc))
        except PassingFailureError as exc:
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
        country = row["country"]
        if country == "RO":
            return await self._renew_anaf(row, now)
        if country == "PL":
            return await self._renew_ksef(row, now)
        expires = row["token_expires_at"]
        if expires is not None and now >= expires:
            raise RefusedError(
                f"The certificate expired on {iso_millis(expires)}; upload a renewed one "
                f"(POST /v1/connections/{row['id']}/certificate)."
            )
        return None

    async def _secret(self, row: Any, kind: SecretKind) -> str:
        async with self._pool.acquire() as conn:
            value = await read_secret(conn, row["id"], kind, keyring=self._keyring)
        if value is None:
            raise RefusedError(
                f"Clearway holds no {kind.value.replace('_', ' ')} to refresh with. "
                + AUTHORIZE_AGAIN
            )
        return value

    async def _renew_anaf(self, row: Any, now: dt.datetime) -> Renewal:
        oauth = self._anaf[row["livemode"]]
        if isinstance(oauth, LiveNotConfiguredError):
            raise PassingFailureError(str(oauth))  # the operator may yet configure it
        refresh_token = await self._secret(row, SecretKind.REFRESH_TOKEN)
        try:
            tokens = await oauth.refresh(refresh_token, now=now)
        except AnafOAuthRefusedError as exc:
            raise RefusedError(
                f"ANAF refused to refresh the token ({exc}). {AUTHORIZE_AGAIN}"
            ) from None
        except AnafUnavailableError as exc:
            raise PassingFailureError(f"ANAF did not refresh the token ({exc})") from None
        return Renewal(
            secrets={
                SecretKind.ACCESS_TOKEN: tokens.access_token,
                SecretKind.REFRESH_TOKEN: tokens.refresh_token,
            },
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )

    async def _renew_ksef(self, row: Any, now: dt.datetime) -> Renewal:
        ksef = self._ksef[row["livemode"]]
        if isinstance(ksef, LiveNotConfiguredError):
            raise PassingFailureError(str(ksef))  # the operator may yet configure it
        refresh_expires = row["refresh_token_expires_at"]
        try:
            if needs_reauthentication(
                TOKEN_POLICIES["PL"], now=now, refresh_expires_at=refresh_expires
            ):
                async with self._pool.acquire() as conn:
                    credential = await stored_credential(conn, row["id"], keyring=self._keyring)
                    vat = await vat_number_of(conn, row["company_id"])
                if credential is None:
                    raise RefusedError(
                        "Clearway holds no KSeF token or certificate to log in again with. "
                        + AUTHORIZE_AGAIN
                    )
                tokens = await authenticate_again(ksef, credential, pl.compact(vat), now=now)
                renewed = {
                    SecretKind.ACCESS_TOKEN: tokens.access_token,
                    SecretKind.REFRESH_TOKEN: tokens.refresh_token,
                }
            else:
                refresh_token = await self._secret(row, SecretKind.REFRESH_TOKEN)
                tokens = await ksef.refresh(refresh_token, refresh_expires)
                renewed = {SecretKind.ACCESS_TOKEN: tokens.access_token}
        except KsefCertificateExpiredError as exc:
            raise RefusedError(
                f"{exc}; upload a renewed one (POST /v1/connections/{row['id']}/certificate)."
            ) from None
        except KsefAuthRefusedError as exc:
            raise RefusedError(f"{exc}. {AUTHORIZE_AGAIN}") from None
        except KsefUnavailableError as exc:
            raise PassingFailureError(f"KSeF did not refresh the token ({exc})") from None
        return Renewal(
            secrets=renewed,
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )

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

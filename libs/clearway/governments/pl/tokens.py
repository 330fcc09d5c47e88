"""KSeF's tokens: renewed ahead of time (KsefRenewer, for the token-refresher), and an access
token refused mid-flight (HTTP 401): renew it once, or expire the connection.

The token-refresher renews KSeF's minutes-long access tokens ahead of time (and logs in again
before the 7-day refresh token ends); the rest is for the one KSeF refuses anyway. Renewal tries
the refresh token, then a fresh authentication with the company's KSeF token or certificate; if
KSeF refuses both, the connection expires. One renewal per refused token: the connection row is
locked meanwhile, and a caller finding another token than the one refused uses it (another
replica renewed it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from clearway.accounts.connection_secrets import read_secret
from clearway.accounts.connections import expire_connection, replace_refused_token
from clearway.db import Connection
from clearway.domain.connections import SecretKind, needs_reauthentication
from clearway.domain.ids import iso_millis, utcnow
from clearway.governments import base
from clearway.governments.base import Renewal, RenewalDeferredError, RenewalRefusedError
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.auth import (
    KsefAuthClient,
    KsefAuthRefusedError,
    KsefTokens,
    KsefUnavailableError,
)
from clearway.governments.pl.government import TOKEN_POLICY
from clearway.governments.pl.settings import KsefEndpoint
from clearway.governments.pl.xades import KsefCertificate
from clearway.security import Keyring
from clearway.store.connections import active_connection_row, active_connection_with_vat

log = logging.getLogger(__name__)

KsefCredential = str | KsefCertificate  # a KSeF token, or a certificate with its key


class KsefCertificateExpiredError(KsefAuthRefusedError):
    """The stored certificate is past its notAfter: only a renewed one can log in again."""


AUTHORIZE_AGAIN = "Connect the company's KSeF token or certificate again (POST /v1/connections)."


async def renew_refused_token(
    conn: Connection, connection_id: str, refused_token: str, auth: KsefAuthClient
) -> str | None:
    """A token to use instead of `refused_token`; None when the connection is not (or no
    longer) active. KSeF unreachable raises ksef_auth.KsefUnavailableError (try later)."""

    async def renew(row: Any) -> KsefTokens | None:
        tokens = await _renewed(conn, row, auth)
        if tokens is None:
            await expire_connection(
                conn, row, f"KSeF refused both the refresh and the new login. {AUTHORIZE_AGAIN}"
            )
        else:
            log.info("renewed the KSeF token of connection %s after KSeF refused it", connection_id)
        return tokens

    return await replace_refused_token(
        conn,
        connection_id,
        refused_token,
        country="PL",
        active_row=active_connection_with_vat,
        renew=renew,
    )


async def _renewed(conn: Connection, row: Any, auth: KsefAuthClient) -> KsefTokens | None:
    connection_id: str = row["id"]
    refresh_token = await read_secret(conn, connection_id, SecretKind.REFRESH_TOKEN)
    refresh_expires = row["refresh_token_expires_at"]
    if refresh_token is not None and refresh_expires is not None and refresh_expires > utcnow():
        try:
            return await auth.refresh(refresh_token, refresh_expires)
        except KsefAuthRefusedError as exc:
            log.warning("KSeF refused the refresh of %s: %s", connection_id, exc)
    credential = await stored_credential(conn, connection_id)
    if credential is None:
        return None
    try:
        return await authenticate_again(
            auth, credential, pl.compact(row["vat_number"]), now=utcnow()
        )
    except KsefAuthRefusedError as exc:
        log.warning("KSeF refused the stored credential of %s: %s", connection_id, exc)
        return None


async def stored_credential(
    conn: Connection, connection_id: str, *, keyring: Keyring | None = None
) -> KsefCredential | None:
    """What the company connected with: its KSeF token, else its certificate and key."""
    ksef_token = await read_secret(conn, connection_id, SecretKind.KSEF_TOKEN, keyring=keyring)
    if ksef_token is not None:
        return ksef_token
    certificate = await read_secret(conn, connection_id, SecretKind.CERTIFICATE, keyring=keyring)
    key = await read_secret(conn, connection_id, SecretKind.PRIVATE_KEY, keyring=keyring)
    if certificate is None or key is None:
        return None
    return KsefCertificate(certificate, key)


async def authenticate_again(
    auth: KsefAuthClient, credential: KsefCredential, nip: str, *, now: dt.datetime
) -> KsefTokens:
    """A fresh KSeF login with the stored credential. A certificate past its notAfter is not
    even tried (KSeF would refuse it): KsefCertificateExpiredError says so."""
    if isinstance(credential, KsefCertificate):
        expired_on = credential.not_valid_after
        if now >= expired_on:
            raise KsefCertificateExpiredError(
                f"The certificate Clearway signs KSeF logins with expired on "
                f"{iso_millis(expired_on)}"
            )
        return await auth.authenticate_with_certificate(credential, nip)
    return await auth.authenticate_with_token(credential, nip)


async def expire_after_second_refusal(conn: Connection, connection_id: str, reason: str) -> None:
    async with conn.transaction():
        row = await active_connection_row(conn, connection_id)
        if row is not None:
            await expire_connection(conn, row, f"{reason} {AUTHORIZE_AGAIN}")


class KsefRenewer:
    """Refreshes the access token with KSeF's refresh token and, when that one (7 days, not
    renewable) is about to end, logs in again with the company's KSeF token or certificate (a
    certificate past its notAfter expires the connection instead)."""

    def __init__(self, tools: base.RenewalTools) -> None:
        self._tools = tools

        def auth(endpoint: KsefEndpoint) -> KsefAuthClient:
            return KsefAuthClient(endpoint.api_url, tools.http)

        self._auth = base.per_mode(tools.settings.governments().ksef, auth)

    async def renew(self, row: Mapping[str, Any], now: dt.datetime) -> Renewal:
        ksef = self._auth(row["livemode"])
        refresh_expires = row["refresh_token_expires_at"]
        try:
            if needs_reauthentication(TOKEN_POLICY, now=now, refresh_expires_at=refresh_expires):
                async with self._tools.pool.acquire() as conn:
                    credential = await stored_credential(
                        conn, row["id"], keyring=self._tools.keyring
                    )
                    vat = await conn.fetchval(
                        "SELECT vat_number FROM companies WHERE id = $1", row["company_id"]
                    )
                if credential is None:
                    raise RenewalRefusedError(
                        "Clearway holds no KSeF token or certificate to log in again with. "
                        + base.AUTHORIZE_AGAIN
                    )
                tokens = await authenticate_again(ksef, credential, pl.compact(vat), now=now)
                renewed = {
                    SecretKind.ACCESS_TOKEN: tokens.access_token,
                    SecretKind.REFRESH_TOKEN: tokens.refresh_token,
                }
            else:
                refresh_token = await self._tools.secret(row, SecretKind.REFRESH_TOKEN)
                tokens = await ksef.refresh(refresh_token, refresh_expires)
                renewed = {SecretKind.ACCESS_TOKEN: tokens.access_token}
        except KsefCertificateExpiredError as exc:
            raise RenewalRefusedError(
                f"{exc}; upload a renewed one (POST /v1/connections/{row['id']}/certificate)."
            ) from None
        except KsefAuthRefusedError as exc:
            raise RenewalRefusedError(f"{exc}. {base.AUTHORIZE_AGAIN}") from None
        except KsefUnavailableError as exc:
            raise RenewalDeferredError(f"KSeF did not refresh the token ({exc})") from None
        return Renewal(
            secrets=renewed,
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )

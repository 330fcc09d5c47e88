"""ANAF's tokens: renewed before they expire (AnafRenewer, for the token-refresher), and a token
refused mid-flight (HTTP 401/403): refresh it once, or expire the connection.

The token-refresher renews tokens well before they expire; this is for the token ANAF refuses
anyway (revoked, expired early, a simulator scenario). One refresh per refused token: the
connection row is locked while refreshing, and a caller that finds a token other than the one
ANAF refused uses it (another replica refreshed meanwhile) instead of refreshing again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from clearway.accounts.connection_secrets import read_secret
from clearway.accounts.connections import expire_connection, replace_refused_token
from clearway.db import Connection
from clearway.domain.connections import SecretKind
from clearway.domain.ids import utcnow
from clearway.governments.base import (
    AUTHORIZE_AGAIN,
    Renewal,
    RenewalDeferredError,
    RenewalRefusedError,
    RenewalTools,
    per_mode,
)
from clearway.governments.ro.client import AnafUnavailableError
from clearway.governments.ro.oauth import AnafOAuthClient, AnafOAuthRefusedError, OAuthTokens
from clearway.governments.ro.settings import AnafEndpoint
from clearway.store.connections import active_connection_row

log = logging.getLogger(__name__)


def refused_twice_message(status: int) -> str:
    return (
        f"ANAF refused the connection's token (HTTP {status}) again after it was refreshed: "
        "the ANAF user may have lost the SPV rights for this company. Authorize the "
        "connection again (POST /v1/connections)."
    )


async def refresh_refused_token(
    conn: Connection, connection_id: str, refused_token: str, oauth: AnafOAuthClient
) -> str | None:
    """A token to try instead of `refused_token`; None when the connection is not (or no
    longer) active: expired here if ANAF refused the refresh. ANAF being unreachable raises
    AnafUnavailableError (try later; the connection stays active)."""

    async def renew(row: Any) -> OAuthTokens | None:
        refresh_token = await read_secret(conn, connection_id, SecretKind.REFRESH_TOKEN)
        if refresh_token is None:
            await expire_connection(
                conn,
                row,
                "ANAF refused the connection's token and there is no refresh token to renew "
                "it with. Authorize the connection again (POST /v1/connections).",
            )
            return None
        try:
            tokens = await oauth.refresh(refresh_token, now=utcnow())
        except AnafOAuthRefusedError as exc:
            log.warning("ANAF refused to refresh connection %s: %s", connection_id, exc.error)
            await expire_connection(
                conn,
                row,
                f"ANAF refused to refresh the connection's token ({exc.error}). Authorize the "
                "connection again (POST /v1/connections).",
            )
            return None
        log.info("refreshed the token of connection %s after ANAF refused it", connection_id)
        return tokens

    return await replace_refused_token(
        conn,
        connection_id,
        refused_token,
        country="RO",
        active_row=active_connection_row,
        renew=renew,
    )


async def expire_after_second_refusal(conn: Connection, connection_id: str, status: int) -> None:
    async with conn.transaction():
        row = await active_connection_row(conn, connection_id)
        if row is not None:
            await expire_connection(conn, row, refused_twice_message(status))


class AnafRenewer:
    """Refreshes with ANAF's refresh token; ANAF answers a new pair each time."""

    def __init__(self, tools: RenewalTools) -> None:
        self._tools = tools

        def oauth(endpoint: AnafEndpoint) -> AnafOAuthClient:
            return AnafOAuthClient(
                endpoint.oauth_url, endpoint.client_id, endpoint.client_secret, tools.http
            )

        self._oauth = per_mode(tools.settings.governments().anaf, oauth)

    async def renew(self, row: Mapping[str, Any], now: dt.datetime) -> Renewal:
        oauth = self._oauth(row["livemode"])
        refresh_token = await self._tools.secret(row, SecretKind.REFRESH_TOKEN)
        try:
            tokens = await oauth.refresh(refresh_token, now=now)
        except AnafOAuthRefusedError as exc:
            raise RenewalRefusedError(
                f"ANAF refused to refresh the token ({exc}). {AUTHORIZE_AGAIN}"
            ) from None
        except AnafUnavailableError as exc:
            raise RenewalDeferredError(f"ANAF did not refresh the token ({exc})") from None
        return Renewal(
            secrets={
                SecretKind.ACCESS_TOKEN: tokens.access_token,
                SecretKind.REFRESH_TOKEN: tokens.refresh_token,
            },
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )

"""Connecting a company to ANAF: the OAuth round trip.

start_authorization_url() records a single-use state and answers where the user authorizes
Clearway; ANAF then sends the browser back with a code (or an error), which finish_authorization()
exchanges for tokens. The HTTP side (POST /v1/connections, GET /v1/callbacks/anaf) is intake's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx

from clearway.accounts.connections import (
    PendingAuthorization,
    activate_with_tokens,
    start_authorization,
    update_connection,
)
from clearway.config import GovernmentEndpoints, LiveNotConfiguredError
from clearway.db import Connection
from clearway.domain.connections import ConnectionStatus
from clearway.governments.ro.oauth import (
    AnafOAuthClient,
    AnafOAuthRefusedError,
    authorization_url,
)
from clearway.governments.ro.settings import AnafEndpoint


async def start_authorization_url(
    conn: Connection,
    row: Mapping[str, Any],
    redirect_uri: str,
    anaf: AnafEndpoint,
    *,
    now: dt.datetime,
) -> str:
    """Where the user authorizes Clearway at ANAF for this connection."""
    state = await start_authorization(conn, row, redirect_uri, now=now)
    return authorization_url(anaf.oauth_url, anaf.client_id, redirect_uri, state)


async def finish_authorization(  # noqa: PLR0913 - what ANAF sent back, and where to
    conn: Connection,
    pending: PendingAuthorization,
    *,
    code: str | None,
    error: str | None,
    error_description: str | None,
    anaf: GovernmentEndpoints[AnafEndpoint],
    timeout: httpx.Timeout,
    now: dt.datetime,
) -> tuple[Any, str | None]:
    """The connection row after ANAF's answer, and why it is not active (None: it is).

    Without a code, or when ANAF refuses it, the connection is marked `error`; ANAF not
    answering raises AnafUnavailableError, for the caller to roll back (the state stays unused)."""
    row = pending.connection
    reason = None
    if error or not code:
        reason = not_authorized(error, error_description)
    else:
        try:
            endpoint = anaf.for_mode(row["livemode"])
        except LiveNotConfiguredError as exc:  # its live configuration was removed
            reason = str(exc)
        else:
            async with httpx.AsyncClient(timeout=timeout) as http:
                oauth = AnafOAuthClient(
                    endpoint.oauth_url, endpoint.client_id, endpoint.client_secret, http
                )
                try:
                    tokens = await oauth.exchange_code(code, pending.redirect_uri, now=now)
                except AnafOAuthRefusedError as exc:
                    reason = f"ANAF refused the authorization code ({exc})."
    if reason is not None:
        # The state is used up either way: a new attempt starts with a new URL.
        row = await update_connection(
            conn, row["id"], status=ConnectionStatus.ERROR.value, last_error_message=reason
        )
        return row, reason
    return await activate_with_tokens(conn, row, "RO", tokens, now=now), None


def not_authorized(error: str | None, description: str | None) -> str:
    """Why the connection is not active, when ANAF sent the browser back without a code."""
    if error == "access_denied":
        # The user refused (or cancelled) the consent with their certificate at ANAF.
        reason = (
            "The ANAF user refused to authorize Clearway at ANAF's eSign step (access_denied), "
            "so the connection was not activated. Authorize again with a certificate of a user "
            "who has SPV rights for the company, and approve the request"
        )
    else:
        reason = f"ANAF did not authorize Clearway: {error or 'no authorization code'}"
    return reason + (f" ({description})." if description else ".")

"""ANAF OAuth 2.0 (logincert.anaf.ro/anaf-oauth2/v1): the authorize URL, the code exchange and the
refresh, as ANAF's OAuth guide describes them (GOVERNMENTS.md §1).

The access JWT lives 90 days and the refresh JWT 365; a refresh answers a new pair. ANAF states
only `expires_in` (the access token's); the refresh token's end is read from its `exp` claim,
else the documented lifetime is assumed. Nothing here logs a token or a code.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from http import HTTPStatus
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict, Field

from clearway.governments.ro.client import AnafUnavailableError
from clearway.governments.ro.government import TOKEN_POLICY


class AnafOAuthRefusedError(Exception):
    """ANAF refused the grant (RFC 6749 error): the code or refresh token is no good."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


class OAuthTokens(BaseModel):
    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime


def _jwt_expiry(token: str) -> dt.datetime | None:
    """The `exp` claim of a JWT, unverified: used only to schedule the next refresh."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return None


def authorization_url(oauth_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """Where the user authorizes the app; ANAF then sends the browser to redirect_uri with
    `code` and `state`."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "token_content_type": "jwt",  # ANAF's guide: ask for JWT tokens
        }
    )
    return f"{oauth_url.rstrip('/')}/authorize?{query}"


class AnafOAuthClient:
    def __init__(
        self, base_url: str, client_id: str, client_secret: str, http: httpx.AsyncClient
    ) -> None:
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http

    async def exchange_code(self, code: str, redirect_uri: str, *, now: dt.datetime) -> OAuthTokens:
        return await self._token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            now=now,
        )

    async def refresh(self, refresh_token: str, *, now: dt.datetime) -> OAuthTokens:
        return await self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, now=now
        )

    async def _token(self, form: dict[str, str], *, now: dt.datetime) -> OAuthTokens:
        try:
            response = await self._http.post(
                f"{self._base}/token",
                data={**form, "client_id": self._client_id, "client_secret": self._client_secret},
            )
        except httpx.HTTPError as exc:
            raise AnafUnavailableError(f"ANAF OAuth did not answer: {type(exc).__name__}") from exc
        if response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR or response.status_code in {
            HTTPStatus.TOO_MANY_REQUESTS,
            HTTPStatus.REQUEST_TIMEOUT,
        }:
            raise AnafUnavailableError(f"ANAF OAuth answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise AnafUnavailableError(
                f"ANAF OAuth answered HTTP {response.status_code} without JSON"
            ) from None
        if response.status_code != HTTPStatus.OK or "access_token" not in body:
            raise AnafOAuthRefusedError(
                str(body.get("error") or f"HTTP {response.status_code}"),
                str(body.get("error_description") or ""),
            )
        policy = TOKEN_POLICY
        lifetime = dt.timedelta(seconds=int(body.get("expires_in") or 0)) or policy.access_lifetime
        refresh_token = str(body.get("refresh_token") or form.get("refresh_token") or "")
        if not refresh_token:
            raise AnafOAuthRefusedError("invalid_response", "ANAF gave no refresh token")
        return OAuthTokens(
            access_token=str(body["access_token"]),
            refresh_token=refresh_token,
            access_expires_at=now + lifetime,
            refresh_expires_at=_jwt_expiry(refresh_token) or now + policy.refresh_lifetime,
        )

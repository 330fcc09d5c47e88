"""KSeF 2.0 authentication with a KSeF token or a certificate (GOVERNMENTS.md §2, ksef-docs
uwierzytelnianie.md):

1. POST /auth/challenge → {challenge, timestampMs}
2. POST /auth/ksef-token with the challenge, the context (Nip) and Base64 RSA-OAEP-SHA256 of
   "token|timestampMs" under the Ministry's `KsefTokenEncryption` key (published at
   GET /security/public-key-certificates) → {referenceNumber, authenticationToken};
   or POST /auth/xades-signature with the AuthTokenRequest XML (challenge and Nip) signed
   XAdES-BES with the company's certificate (ksef_xades) → the same answer
3. GET /auth/{referenceNumber} with the authentication token until 100 (in progress) ends:
   200 succeeded, anything else is a refusal with its description and details
4. POST /auth/token/redeem (once) → accessToken and refreshToken, each {token, validUntil}
5. POST /auth/token/refresh with the refresh token → a new accessToken (the refresh token
   itself is not renewed: it lives up to 7 days, then the company authenticates again)

The encryption of step 2 is ksef-client's. Nothing here logs a token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from http import HTTPStatus
from typing import Any

import httpx
from ksef_client.services.auth import encrypt_ksef_token
from pydantic import BaseModel, ConfigDict, Field

from clearway.governments.pl.xades import (
    KsefCertificate,
    XadesSigningError,
    sign_auth_token_request,
)

KSEF_TOKEN_ENCRYPTION = "KsefTokenEncryption"  # noqa: S105 - a key usage, not a secret
AUTH_IN_PROGRESS = 100
AUTH_SUCCEEDED = 200


class KsefAuthRefusedError(Exception):
    """KSeF refused the authentication or the refresh: the token is no good for this NIP."""


class KsefUnavailableError(Exception):
    """KSeF did not answer usefully (network, 5xx, 429, unreadable): try again later."""


class KsefTokens(BaseModel):
    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    access_expires_at: dt.datetime
    refresh_token: str = Field(repr=False)
    refresh_expires_at: dt.datetime


def _refusal_text(body: Any) -> str:
    """The exception details of KSeF's 400 body, or a problem's detail."""
    if isinstance(body, dict):
        details = (body.get("exception") or {}).get("exceptionDetailList") or []
        texts = [
            " ".join(
                str(part)
                for part in (d.get("exceptionDescription"), *(d.get("details") or []))
                if part
            )
            for d in details
            if isinstance(d, dict)
        ]
        if texts:
            return "; ".join(texts)
        if body.get("detail"):
            return str(body["detail"])
    return "no reason given"


class KsefAuthClient:
    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        *,
        poll_interval: float = 0.25,
        auth_timeout: float = 60.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._http = http
        self._poll_interval = poll_interval
        self._auth_timeout = auth_timeout

    async def _call(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        body: Any = None,
        xml: bytes | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        if xml is not None:
            headers["Content-Type"] = "application/xml"
        try:
            response = await self._http.request(
                method, f"{self._base}{path}", json=body, content=xml, headers=headers
            )
        except httpx.HTTPError as exc:
            raise KsefUnavailableError(f"KSeF did not answer: {type(exc).__name__}") from exc
        if (
            response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR
            or response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        ):
            raise KsefUnavailableError(f"KSeF answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise KsefUnavailableError(
                f"KSeF answered HTTP {response.status_code} without JSON"
            ) from None
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            raise KsefAuthRefusedError(
                f"KSeF refused ({response.status_code}): {_refusal_text(answer)}"
            )
        return answer

    async def _token_encryption_certificate(self) -> tuple[str, str | None]:
        keys = await self._call("GET", "/security/public-key-certificates")
        for key in keys if isinstance(keys, list) else []:
            if KSEF_TOKEN_ENCRYPTION in (key.get("usage") or []):
                return str(key["certificate"]), key.get("publicKeyId")
        raise KsefUnavailableError("KSeF published no KsefTokenEncryption key")

    async def authenticate_with_token(self, ksef_token: str, nip: str) -> KsefTokens:
        certificate, public_key_id = await self._token_encryption_certificate()
        challenge = await self._call("POST", "/auth/challenge")
        encrypted = encrypt_ksef_token(
            public_certificate=certificate,
            token=ksef_token,
            timestamp_ms=int(challenge["timestampMs"]),
        )
        started = await self._call(
            "POST",
            "/auth/ksef-token",
            body={
                "challenge": challenge["challenge"],
                "contextIdentifier": {"type": "Nip", "value": nip},
                "encryptedToken": encrypted,
                **({"publicKeyId": public_key_id} if public_key_id else {}),
            },
        )
        return await self._redeem_when_decided(started)

    async def authenticate_with_certificate(
        self, certificate: KsefCertificate, nip: str
    ) -> KsefTokens:
        """The XAdES login: the AuthTokenRequest for a fresh challenge, signed with the
        company's certificate (a qualified seal or signature, or a KSeF certificate, whose
        subject carries the NIP), then the same verdict and redeem as with a KSeF token."""
        challenge = await self._call("POST", "/auth/challenge")
        try:
            signed = sign_auth_token_request(
                str(challenge["challenge"]),
                nip,
                certificate.certificate_pem.encode(),
                certificate.private_key_pem.encode(),
                now=dt.datetime.now(dt.UTC),
            )
        except XadesSigningError as exc:
            raise KsefAuthRefusedError(f"The certificate cannot sign a KSeF login: {exc}") from None
        started = await self._call("POST", "/auth/xades-signature", xml=signed)
        return await self._redeem_when_decided(started)

    async def _redeem_when_decided(self, started: Any) -> KsefTokens:
        reference = str(started["referenceNumber"])
        authentication_token = str(started["authenticationToken"]["token"])
        await self._wait_for_verdict(reference, authentication_token)
        tokens = await self._call("POST", "/auth/token/redeem", bearer=authentication_token)
        return KsefTokens(
            access_token=str(tokens["accessToken"]["token"]),
            access_expires_at=_instant(tokens["accessToken"]["validUntil"]),
            refresh_token=str(tokens["refreshToken"]["token"]),
            refresh_expires_at=_instant(tokens["refreshToken"]["validUntil"]),
        )

    async def _wait_for_verdict(self, reference: str, authentication_token: str) -> None:
        deadline = asyncio.get_running_loop().time() + self._auth_timeout
        while True:
            answer = await self._call("GET", f"/auth/{reference}", bearer=authentication_token)
            status = answer.get("status") or {}
            code = status.get("code")
            if code == AUTH_SUCCEEDED:
                return
            if code != AUTH_IN_PROGRESS:
                details = "; ".join(str(d) for d in status.get("details") or [])
                raise KsefAuthRefusedError(
                    f"KSeF refused the authentication ({code} {status.get('description', '')}"
                    + (f": {details})" if details else ")")
                )
            if asyncio.get_running_loop().time() > deadline:
                raise KsefUnavailableError(
                    f"KSeF did not decide the authentication within {self._auth_timeout:.0f}s"
                )
            await asyncio.sleep(self._poll_interval)

    async def refresh(self, refresh_token: str, refresh_expires_at: dt.datetime) -> KsefTokens:
        answer = await self._call("POST", "/auth/token/refresh", bearer=refresh_token)
        return KsefTokens(
            access_token=str(answer["accessToken"]["token"]),
            access_expires_at=_instant(answer["accessToken"]["validUntil"]),
            refresh_token=refresh_token,
            refresh_expires_at=refresh_expires_at,
        )


def _instant(value: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise KsefUnavailableError(f"KSeF answered an unreadable time {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

"""The dashboard's session: the API key, sealed in a cookie the page's scripts cannot read.

The cookie holds the key, a CSRF token and an expiry, encrypted and authenticated with the
master keys that seal stored secrets (clearway.security: AES-256-GCM envelope), so the key is
never in a page, a URL or the database, and a cookie nobody sealed opens as no session.
Every request still authenticates the key with the API: a revoked key ends its sessions.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from clearway.security import (
    Keyring,
    SealedSecret,
    SecretIntegrityError,
    UnknownMasterKeyError,
    keyring_from_setting,
    seal,
    unseal,
)
from fastapi import Request
from fastapi.responses import Response

from services.intake.settings import service_settings

SESSION_COOKIE = "cw_session"
# Before sign-in there is no session to hold a CSRF token: the sign-in form's is
# double-submitted (this cookie and the form's field must agree).
SIGN_IN_CSRF_COOKIE = "cw_sign_in_csrf"
SESSION_SECONDS = 8 * 3600  # a working day; then the key is asked for again
_CONTEXT = b"dashboard-session/v1"


@dataclass(frozen=True)
class Session:
    api_key: str
    csrf_token: str
    expires_at: float

    @property
    def livemode(self) -> bool:
        return self.api_key.startswith("sk_live_")


@functools.cache
def _keyring() -> Keyring:
    return keyring_from_setting(service_settings().security.master_keys)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_session(session: Session) -> str:
    payload = json.dumps(
        {"key": session.api_key, "csrf": session.csrf_token, "exp": session.expires_at}
    ).encode()
    sealed = seal(_keyring(), payload, _CONTEXT)
    return ".".join(
        (_b64(sealed.master_key_id.encode()), _b64(sealed.wrapped_key), _b64(sealed.ciphertext))
    )


def open_session(cookie: str | None, *, now: float | None = None) -> Session | None:
    """The session a cookie holds; None when there is none, or it is forged, tampered with,
    sealed under a key no longer configured, or expired."""
    if not cookie:
        return None
    try:
        key_id, wrapped, ciphertext = (_unb64(part) for part in cookie.split("."))
        sealed = SealedSecret(key_id.decode(), wrapped, ciphertext)
        payload = json.loads(unseal(_keyring(), sealed, _CONTEXT))
        session = Session(str(payload["key"]), str(payload["csrf"]), float(payload["exp"]))
    except (
        ValueError,  # wrong number of parts, bad base64 or JSON, a bad key id
        binascii.Error,
        KeyError,
        TypeError,
        SecretIntegrityError,
        UnknownMasterKeyError,
    ):
        return None
    if session.expires_at <= (time.time() if now is None else now):
        return None
    return session


def new_session(api_key: str) -> Session:
    return Session(api_key, secrets.token_urlsafe(32), time.time() + SESSION_SECONDS)


def session_of(request: Request) -> Session | None:
    return open_session(request.cookies.get(SESSION_COOKIE))


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    # Secure: sent over HTTPS only (browsers count http://localhost and 127.0.0.1 as secure);
    # HttpOnly: no script reads it; Lax: sent on the top-level navigation back from ANAF's
    # consent page, never on another site's form POST or fetch.
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
    )


def start_session(response: Response, session: Session) -> None:
    _set_cookie(response, SESSION_COOKIE, seal_session(session), SESSION_SECONDS)
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path="/", secure=True, httponly=True)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def sign_in_token(request: Request) -> str:
    """The sign-in form's CSRF token: the browser's, or a new one (remember_sign_in_token)."""
    return request.cookies.get(SIGN_IN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def remember_sign_in_token(response: Response, token: str) -> None:
    _set_cookie(response, SIGN_IN_CSRF_COOKIE, token, 3600)


def tokens_match(expected: str | None, given: object) -> bool:
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())

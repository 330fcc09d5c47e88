"""The dashboard's session: a server-side row (clearway.store.dashboard_sessions) that the
browser's cookie names by a random id, the only thing the cookie holds.

The row keeps the API key sealed with the master keys that seal stored secrets
(clearway.security: AES-256-GCM envelope, its context naming the session), so the key is never
in a page, a URL, a cookie or the database in the clear. The server decides whether a session
is open: sign-out deletes the row (a copy of the cookie opens nothing afterwards), it expires
after SESSION_SECONDS, and a revoked key ends it. Every request still authenticates the key
with the API.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from clearway.accounts import key_id_of
from clearway.security import (
    Keyring,
    SecretIntegrityError,
    UnknownMasterKeyError,
    keyring_from_setting,
    seal,
    unseal,
)
from clearway.store import dashboard_sessions as store
from fastapi import Request
from fastapi.responses import Response

from services.intake.settings import service_settings

SESSION_COOKIE = "cw_session"
# Before sign-in there is no session to hold a CSRF token: the sign-in form's is
# double-submitted (this cookie and the form's field must agree).
SIGN_IN_CSRF_COOKIE = "cw_sign_in_csrf"
SESSION_SECONDS = 8 * 3600  # a working day; then the key is asked for again


@dataclass(frozen=True)
class Session:
    session_id: str  # the cookie's value
    api_key: str
    csrf_token: str

    @property
    def livemode(self) -> bool:
        return self.api_key.startswith("sk_live_")


@functools.cache
def _keyring() -> Keyring:
    return keyring_from_setting(service_settings().security.master_keys)


def session_id_hash(session_id: str) -> str:
    """What the row is found by: a database read gives no cookie that opens it."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _context(id_hash: str) -> bytes:
    # A sealed key copied onto another session's row does not open.
    return f"dashboard-session/{id_hash}".encode()


async def new_session(request: Request, api_key: str) -> Session | None:
    """A session for a key the API has just accepted, stored server-side (None: the key is
    not known after all)."""
    session_id = secrets.token_urlsafe(32)
    id_hash = session_id_hash(session_id)
    csrf_token = secrets.token_urlsafe(32)
    async with request.app.state.pool.acquire() as conn:
        key_id = await key_id_of(conn, api_key)
        if key_id is None:
            return None
        sealed = seal(_keyring(), api_key.encode(), _context(id_hash))
        await store.insert_session(
            conn, id_hash, store.SessionRow(key_id, csrf_token, sealed), SESSION_SECONDS
        )
    return Session(session_id, api_key, csrf_token)


async def session_of(request: Request) -> Session | None:
    """The request's session; None when its cookie names none that is open (signed out,
    expired, its key revoked, never made), or its key was sealed under a master key no
    longer configured."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    id_hash = session_id_hash(session_id)
    async with request.app.state.pool.acquire() as conn:
        row = await store.open_session(conn, id_hash)
    if row is None:
        return None
    try:
        api_key = unseal(_keyring(), row.sealed_key, _context(id_hash)).decode()
    except (SecretIntegrityError, UnknownMasterKeyError):
        return None
    return Session(session_id, api_key, row.csrf_token)


async def close_session(request: Request, session: Session) -> None:
    async with request.app.state.pool.acquire() as conn:
        await store.delete_session(conn, session_id_hash(session.session_id))


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    # Secure: sent over HTTPS only (browsers count http://localhost and 127.0.0.1 as secure);
    # HttpOnly: no script reads it; Lax: sent on the top-level navigation back from ANAF's
    # consent page, never on another site's form POST or fetch.
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
    )


def start_session(response: Response, session: Session) -> None:
    _set_cookie(response, SESSION_COOKIE, session.session_id, SESSION_SECONDS)
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

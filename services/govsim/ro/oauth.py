"""The simulated ANAF OAuth server (logincert.anaf.ro/anaf-oauth2/v1).

The real consent step needs a qualified certificate on a USB token; the simulator answers for the
user at once: it approves, with SPV rights on every CIF, unless a test queued the user's answer
(a Consent): refusing the eSign sends the browser back with `error=access_denied`, as RFC 6749
§4.1.2.1 and ANAF do; approving may give rights on some CIFs only. What stays faithful is the
protocol: a single-use code bound to its redirect_uri, client authentication at the token
endpoint (HTTP Basic or form fields), the `authorization_code` and `refresh_token` grants,
RFC 6749 error bodies, and token lifetimes of 90 days (access) and 365 days (refresh).

Tokens are JWT-shaped (HS256, signed with a key made per simulator instance) because ANAF issues
JWTs and some clients read the `exp` claim out of the access token. The simulator never trusts a
token's claims: it looks the whole string up in its own registry, so a token is valid only while
this process remembers it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from services.govsim.tokens import expire_now, hs256_jwt

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

ACCESS_TOKEN_LIFETIME_SECONDS = 129_600 * 60  # 90 days, as ANAF's OAuth guide states in minutes
REFRESH_TOKEN_LIFETIME_SECONDS = 525_600 * 60  # 365 days
AUTHORIZATION_CODE_LIFETIME_SECONDS = 600  # RFC 6749 recommends at most ten minutes
ISSUER = "govsim-anaf-oauth2"

TokenKind = Literal["access", "refresh"]


class OAuthError(Exception):
    """An RFC 6749 error: rendered as {"error", "error_description"} with its HTTP status."""

    def __init__(self, status_code: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status_code = status_code
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Grant:
    """One user's consent for the app: every token refreshed from it shares its rights.

    `allowed_cifs` is None for the sandbox default (rights on every CIF); a set restricts the
    user to those CIFs, as an SPV account with rights on a few companies.
    """

    grant_id: str
    client_id: str
    certificate_serial: str
    allowed_cifs: frozenset[str] | None = None
    revoked: bool = False

    def may_act_for(self, cif: str) -> bool:
        return self.allowed_cifs is None or cif in self.allowed_cifs

    @property
    def has_any_cif(self) -> bool:
        return self.allowed_cifs is None or bool(self.allowed_cifs)


@dataclass
class IssuedToken:
    value: str
    kind: TokenKind
    grant: Grant
    expires_at: float

    def is_usable(self, now: float) -> bool:
        return not self.grant.revoked and now < self.expires_at


@dataclass(frozen=True)
class Consent:
    """The user's answer at ANAF's eSign step: refused, or approved with SPV rights on `cifs`
    (None: every CIF)."""

    refuse: bool = False
    cifs: frozenset[str] | None = None


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    expires_at: float
    allowed_cifs: frozenset[str] | None = None
    used: bool = False
    issued_tokens: list[IssuedToken] = field(default_factory=list)


class AnafOAuthServer:
    """State of the OAuth server: the one registered app, pending codes and issued tokens."""

    def __init__(self, *, client_id: str, client_secret: str, clock: Callable[[], float]) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._signing_key = secrets.token_bytes(32)
        self._codes: dict[str, AuthorizationCode] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._consents: deque[Consent] = deque()

    def reset(self) -> None:
        self._codes.clear()
        self._tokens.clear()
        self._consents.clear()

    def queue_consent(self, consent: Consent) -> None:
        """How the user answers at the next authorization (test-only)."""
        self._consents.append(consent)

    # --- authorize -------------------------------------------------------------------------

    def authorize(
        self,
        *,
        response_type: str | None,
        client_id: str | None,
        redirect_uri: str | None,
        state: str | None,
    ) -> str:
        """The user's answer (approved unless a Consent was queued): the URL to redirect the
        browser to.

        Raises OAuthError when the client or redirect_uri cannot be trusted: RFC 6749 §4.1.2.1
        forbids redirecting in that case. Other errors travel back on the redirect.
        """
        if client_id != self.client_id:
            raise OAuthError(400, "invalid_request", "Unknown or missing client_id")
        if not redirect_uri or not _is_absolute_http_url(redirect_uri):
            raise OAuthError(400, "invalid_request", "redirect_uri must be an absolute http(s) URL")
        if response_type != "code":
            return _with_query(
                redirect_uri,
                {"error": "unsupported_response_type", "state": state},
            )
        consent = self._consents.popleft() if self._consents else Consent()
        if consent.refuse:
            return _with_query(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "The resource owner denied the request",
                    "state": state,
                },
            )
        code = secrets.token_urlsafe(24)
        self._codes[code] = AuthorizationCode(
            client_id=client_id,
            redirect_uri=redirect_uri,
            expires_at=self._clock() + AUTHORIZATION_CODE_LIFETIME_SECONDS,
            allowed_cifs=consent.cifs,
        )
        return _with_query(redirect_uri, {"code": code, "state": state})

    # --- token -----------------------------------------------------------------------------

    def token(self, form: Mapping[str, str], authorization_header: str | None) -> dict[str, Any]:
        """The token endpoint: authenticate the client, then run the requested grant."""
        self._authenticate_client(form, authorization_header)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            return self._refresh(form)
        raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type}")

    def _authenticate_client(self, form: Mapping[str, str], authorization: str | None) -> None:
        basic = _basic_credentials(authorization)
        if basic is not None and "client_secret" in form:
            raise OAuthError(400, "invalid_request", "Use one client authentication method")
        client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
        if basic is not None and form.get("client_id", client_id) != client_id:
            raise OAuthError(400, "invalid_request", "client_id differs from the Basic credentials")
        if not (
            client_id == self.client_id
            and client_secret is not None
            and hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed")

    def _exchange_code(self, form: Mapping[str, str]) -> dict[str, Any]:
        code_value = form.get("code")
        if not code_value:
            raise OAuthError(400, "invalid_request", "code is required")
        code = self._codes.get(code_value)
        if code is None or code.expires_at <= self._clock():
            raise OAuthError(400, "invalid_grant", "Invalid or expired authorization code")
        if code.used:
            # RFC 6749 §4.1.2: a replayed code may mean it leaked, so what it bought is revoked.
            for token in code.issued_tokens:
                token.grant.revoked = True
            raise OAuthError(400, "invalid_grant", "Authorization code already used")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization")
        code.used = True
        grant = self._new_grant()
        grant.allowed_cifs = code.allowed_cifs
        response, issued = self._issue_pair(grant)
        code.issued_tokens.extend(issued)
        return response

    def _refresh(self, form: Mapping[str, str]) -> dict[str, Any]:
        value = form.get("refresh_token")
        if not value:
            raise OAuthError(400, "invalid_request", "refresh_token is required")
        token = self._tokens.get(value)
        if token is None or token.kind != "refresh" or not token.is_usable(self._clock()):
            raise OAuthError(400, "invalid_grant", "Invalid or expired refresh token")
        # ANAF answers a refresh with a new pair; whether the old refresh token dies is not
        # documented, so it stays valid until it expires (the lenient choice).
        response, _ = self._issue_pair(token.grant)
        return response

    # --- bearer tokens on the API ----------------------------------------------------------

    def grant_for_access_token(self, value: str) -> Grant | None:
        token = self._tokens.get(value)
        if token is None or token.kind != "access" or not token.is_usable(self._clock()):
            return None
        return token.grant

    def client_of(self, value: str) -> str | None:
        """The OAuth app behind a token string, valid or not (for per-app rate limiting)."""
        token = self._tokens.get(value)
        return token.grant.client_id if token else None

    # --- test-only controls ----------------------------------------------------------------

    def mint(self, allowed_cifs: frozenset[str] | None) -> dict[str, Any]:
        """Issue a token pair without the browser dance (what a consented user would get)."""
        grant = self._new_grant()
        grant.allowed_cifs = allowed_cifs
        response, _ = self._issue_pair(grant)
        return response

    def restrict(self, token_value: str, allowed_cifs: frozenset[str] | None) -> bool:
        token = self._tokens.get(token_value)
        if token is None:
            return False
        token.grant.allowed_cifs = allowed_cifs
        return True

    def expire(self, token_value: str) -> bool:
        return expire_now(self._tokens, token_value, self._clock())

    # --- helpers ---------------------------------------------------------------------------

    def _new_grant(self) -> Grant:
        return Grant(
            grant_id=secrets.token_hex(8),
            client_id=self.client_id,
            # SPV lists answer with the serial of the user's certificate.
            certificate_serial=secrets.token_hex(8).upper(),
        )

    def _issue_pair(self, grant: Grant) -> tuple[dict[str, Any], list[IssuedToken]]:
        access = self._issue(grant, "access", ACCESS_TOKEN_LIFETIME_SECONDS)
        refresh = self._issue(grant, "refresh", REFRESH_TOKEN_LIFETIME_SECONDS)
        # Standard RFC 6749 fields only; the refresh token's lifetime is in its own `exp` claim.
        response = {
            "access_token": access.value,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
            "refresh_token": refresh.value,
        }
        return response, [access, refresh]

    def _issue(self, grant: Grant, kind: TokenKind, lifetime: int) -> IssuedToken:
        issued_at = int(self._clock())
        claims = {
            "iss": ISSUER,
            "sub": grant.grant_id,
            "aud": grant.client_id,
            "client_id": grant.client_id,
            "token_type": kind,
            "iat": issued_at,
            "exp": issued_at + lifetime,
            "jti": secrets.token_hex(16),
        }
        value = hs256_jwt(self._signing_key, claims)
        token = IssuedToken(value=value, kind=kind, grant=grant, expires_at=issued_at + lifetime)
        self._tokens[value] = token
        return token


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials") from exc
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return unquote(client_id), unquote(client_secret)


def _is_absolute_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _with_query(url: str, params: Mapping[str, str | None]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((name, value) for name, value in params.items() if value is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))

"""Authentication in the simulated KSeF 2.0: challenge, KSeF-token and XAdES logins, redeem and
refresh.

The flow and its status codes follow the official API documentation (ksef-docs,
uwierzytelnianie.md, and the TE OpenAPI):

1. POST /auth/challenge: a challenge valid for 10 minutes, with its timestamp in milliseconds.
2. POST /auth/ksef-token: the challenge, the context (Nip) and Base64 RSA-OAEP-SHA256 of
   "token|timestampMs"; 202 with a reference number and an authentication (operation) token.
   Or POST /auth/xades-signature: the AuthTokenRequest XML signed XAdES with a certificate
   whose subject carries the NIP (checked in ksef_xades); the same answer.
3. GET /auth/{referenceNumber} with that token: 100 "Uwierzytelnianie w toku" until the check
   ends, then 200, or 415/450 with the documented descriptions and details.
4. POST /auth/token/redeem with that token: the access and refresh tokens, once only.
5. POST /auth/token/refresh with the refresh token: a new access token; the refresh token can
   be used again until it expires (up to 7 days).

KSeF tokens themselves are minted in the portal after a XAdES login (POST /tokens); here a
test-only control registers one for a NIP. Issued tokens are JWT-shaped (HS256 under a key made
per simulator instance) since KSeF issues JWTs, but the simulator looks every token up in its
own registry and never trusts the claims.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from services.govsim.pl.crypto import (
    DecryptionError,
    KeyUsage,
    published_key,
    reference_number,
    rsa_decrypt,
    sha256_b64,
)
from services.govsim.tokens import expire_now, hs256_jwt

if TYPE_CHECKING:
    from services.govsim.clock import Clock
    from services.govsim.pl.xades import SubjectIdentifier

CHALLENGE_LIFETIME_SECONDS = 600  # "Czas życia challenge wynosi 10 minut"
# The documentation's sample operation token lives 45 minutes (exp - iat = 2700): UNCONFIRMED.
AUTHENTICATION_TOKEN_LIFETIME_SECONDS = 45 * 60
DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS = 15 * 60  # the sample access token: exp - iat = 900
REFRESH_TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600  # "do 7 dni"
DEFAULT_AUTH_DELAY_SECONDS = 0.5

# The documented status table of GET /auth/{referenceNumber}.
AUTH_IN_PROGRESS = (100, "Uwierzytelnianie w toku")
AUTH_SUCCEEDED = (200, "Uwierzytelnianie zakończone sukcesem")
AUTH_NO_PERMISSIONS = (415, "Uwierzytelnianie zakończone niepowodzeniem")
AUTH_BAD_TOKEN = (450, "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu")


class TokenKind(StrEnum):
    AUTHENTICATION = "OperationToken"
    ACCESS = "ContextToken"
    REFRESH = "RefreshToken"


# Exception codes. 21470 is documented (bezpieczenstwo/klucze-publiczne-do-szyfrowania.md);
# 21173, 21180 and 21418 are what the ksef-client SDK explains; the others are UNCONFIRMED.
INPUT_VALIDATION = 21405
NOT_AUTHORIZED = 21301
UNKNOWN_KEY = 21470
SESSION_NOT_FOUND = 21173
SESSION_NOT_OPEN = 21180
SESSION_UNAVAILABLE = 21184  # CIRFMF/ksef-api#864: a send refused while the session is serviced
INVOICE_NOT_FOUND = 21175
BAD_CONTINUATION_TOKEN = 21418
INPUT_INVALID = "Błąd walidacji danych wejściowych."


class KsefError(Exception):
    """A request KSeF refuses at once: HTTP 400 with an exception body."""

    def __init__(self, code: int, description: str, details: list[str] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.details = details or []


def invalid_input(*details: str) -> KsefError:
    return KsefError(INPUT_VALIDATION, INPUT_INVALID, list(details))


@dataclass
class RegisteredKsefToken:
    value: str
    nip: str
    revoked: bool = False


@dataclass
class Challenge:
    value: str
    issued_at: float
    used: bool = False

    @property
    def timestamp_ms(self) -> int:
        return int(self.issued_at * 1000)


@dataclass
class AuthOperation:
    reference_number: str
    context_nip: str
    started_at: float
    ready_at: float
    outcome: tuple[int, str]
    outcome_details: list[str]
    request_digest: str  # SHA-256 of the authentication request, quoted in the UPO
    authentication_method: str = "Token"  # or QualifiedSeal, QualifiedSignature (XAdES)
    redeemed: bool = False
    refresh_token_expires_at: float | None = None

    def status(self, now: float) -> tuple[int, str, list[str]]:
        if now < self.ready_at:
            return (*AUTH_IN_PROGRESS, [])
        return (*self.outcome, self.outcome_details)

    def succeeded(self, now: float) -> bool:
        return now >= self.ready_at and self.outcome == AUTH_SUCCEEDED


@dataclass
class IssuedToken:
    value: str
    kind: TokenKind
    operation: AuthOperation
    expires_at: float
    revoked: bool = False

    def usable(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at

    @property
    def context_nip(self) -> str:
        return self.operation.context_nip


@dataclass
class KsefAuthority:
    """Everything about who may call the simulated KSeF, and for which NIP."""

    clock: Clock
    access_token_lifetime: float = DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS
    auth_delay: float = DEFAULT_AUTH_DELAY_SECONDS
    _signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _ksef_tokens: dict[str, RegisteredKsefToken] = field(default_factory=dict)
    _challenges: dict[str, Challenge] = field(default_factory=dict)
    _operations: dict[str, AuthOperation] = field(default_factory=dict)
    _tokens: dict[str, IssuedToken] = field(default_factory=dict)

    def reset(self) -> None:
        self._ksef_tokens.clear()
        self._challenges.clear()
        self._operations.clear()
        self._tokens.clear()
        self.auth_delay = DEFAULT_AUTH_DELAY_SECONDS

    # --- test-only: KSeF tokens as the portal would mint them ------------------------------

    def register_ksef_token(self, nip: str, value: str | None = None) -> str:
        token = value or (
            f"{reference_number('EC', self._now())}|nip-{nip}|{secrets.token_hex(32)}"
        )
        self._ksef_tokens[token] = RegisteredKsefToken(token, nip)
        return token

    def revoke_ksef_token(self, value: str) -> bool:
        registered = self._ksef_tokens.get(value)
        if registered is None:
            return False
        registered.revoked = True
        return True

    def expire_token(self, value: str) -> bool:
        return expire_now(self._tokens, value, self.clock())

    # --- 1. challenge ----------------------------------------------------------------------

    def new_challenge(self) -> Challenge:
        challenge = Challenge(reference_number("CR", self._now()), self.clock())
        self._challenges[challenge.value] = challenge
        return challenge

    # --- 2. POST /auth/ksef-token ----------------------------------------------------------

    def start_ksef_token_auth(
        self,
        *,
        challenge_value: str,
        context_nip: str,
        encrypted_token: str,
        public_key_id: str | None,
        request_body: bytes,
    ) -> tuple[AuthOperation, IssuedToken]:
        if (
            public_key_id is not None
            and public_key_id != published_key(KeyUsage.KSEF_TOKEN_ENCRYPTION).public_key_id
        ):
            raise KsefError(
                UNKNOWN_KEY,
                "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
            )
        challenge = self._take_challenge(challenge_value)
        outcome, details = self._check_ksef_token(encrypted_token, context_nip, challenge)
        return self._start_operation(context_nip, outcome, details, "Token", request_body)

    def _take_challenge(self, challenge_value: str) -> Challenge:
        """The challenge, used up now; KsefError when unknown, expired or already used."""
        challenge = self._challenges.get(challenge_value)
        if (
            challenge is None
            or challenge.used
            or self.clock() - challenge.issued_at > CHALLENGE_LIFETIME_SECONDS
        ):
            # Code and wording for a bad challenge: UNCONFIRMED.
            raise KsefError(
                INPUT_VALIDATION,
                INPUT_INVALID,
                [f"Challenge {challenge_value} jest nieprawidłowy, wygasł lub został już użyty."],
            )
        challenge.used = True
        return challenge

    def _start_operation(
        self,
        context_nip: str,
        outcome: tuple[int, str],
        details: list[str],
        method: str,
        request_body: bytes,
    ) -> tuple[AuthOperation, IssuedToken]:
        now = self.clock()
        operation = AuthOperation(
            reference_number=reference_number("AU", self._now()),
            context_nip=context_nip,
            started_at=now,
            ready_at=now + self.auth_delay,
            outcome=outcome,
            outcome_details=details,
            request_digest=sha256_b64(request_body),
            authentication_method=method,
        )
        self._operations[operation.reference_number] = operation
        token = self._issue(
            TokenKind.AUTHENTICATION, operation, AUTHENTICATION_TOKEN_LIFETIME_SECONDS
        )
        return operation, token

    # --- 2'. POST /auth/xades-signature (the signature and certificate checked before) ------

    def start_xades_auth(
        self,
        *,
        challenge_value: str,
        context_nip: str,
        subject: SubjectIdentifier | None,
        request_body: bytes,
    ) -> tuple[AuthOperation, IssuedToken]:
        """A verified signature's login. The simulator grants a certificate rights only in the
        context of the NIP its subject carries (no ZAW-FA, no fingerprint grants): any other
        subject ends in 415, as a KSeF token for another NIP does."""
        self._take_challenge(challenge_value)
        if subject is not None and subject.kind == "Nip" and subject.value == context_nip:
            outcome, details = AUTH_SUCCEEDED, []
        else:
            outcome, details = AUTH_NO_PERMISSIONS, ["Brak przypisanych uprawnień"]
        method = subject.authentication_method if subject else "QualifiedSignature"
        return self._start_operation(context_nip, outcome, details, method, request_body)

    def _check_ksef_token(
        self, encrypted_token: str, context_nip: str, challenge: Challenge
    ) -> tuple[tuple[int, str], list[str]]:
        """The verdict GET /auth/{ref} shows once the check is over (descriptions documented)."""
        try:
            plaintext = rsa_decrypt(KeyUsage.KSEF_TOKEN_ENCRYPTION, encrypted_token).decode()
        except (DecryptionError, UnicodeDecodeError):
            return AUTH_BAD_TOKEN, ["Nieprawidłowy token"]
        token_value, separator, timestamp = plaintext.rpartition("|")
        registered = self._ksef_tokens.get(token_value) if separator else None
        if registered is None:
            return AUTH_BAD_TOKEN, ["Nieprawidłowy token"]
        if timestamp != str(challenge.timestamp_ms):
            return AUTH_BAD_TOKEN, ["Nieprawidłowy czas tokena"]
        if registered.revoked:
            return AUTH_BAD_TOKEN, ["Token unieważniony"]
        if registered.nip != context_nip:
            return AUTH_NO_PERMISSIONS, ["Brak przypisanych uprawnień"]
        return AUTH_SUCCEEDED, []

    # --- 3. GET /auth/{referenceNumber} ----------------------------------------------------

    def operation_for(self, reference: str, bearer: str | None) -> AuthOperation | None:
        token = self._usable(bearer, TokenKind.AUTHENTICATION)
        if token is None or token.operation.reference_number != reference:
            return None
        return token.operation

    # --- 4. and 5. redeem and refresh ------------------------------------------------------

    def authentication_token(self, bearer: str | None) -> IssuedToken | None:
        return self._usable(bearer, TokenKind.AUTHENTICATION)

    def redeem(self, authentication_token: IssuedToken) -> tuple[IssuedToken, IssuedToken]:
        operation = authentication_token.operation
        now = self.clock()
        if not operation.succeeded(now):
            raise KsefError(
                NOT_AUTHORIZED,
                "Brak autoryzacji.",
                [f"Uwierzytelnianie {operation.reference_number} nie zakończyło się sukcesem."],
            )
        if operation.redeemed:
            # The documentation: every later call with the same token answers 400.
            raise KsefError(
                NOT_AUTHORIZED,
                "Brak autoryzacji.",
                [f"Tokeny dla uwierzytelniania {operation.reference_number} zostały już pobrane."],
            )
        operation.redeemed = True
        access = self._issue(TokenKind.ACCESS, operation, self.access_token_lifetime)
        refresh = self._issue(TokenKind.REFRESH, operation, REFRESH_TOKEN_LIFETIME_SECONDS)
        operation.refresh_token_expires_at = refresh.expires_at
        return access, refresh

    def refresh(self, bearer: str | None) -> IssuedToken | None:
        refresh = self._usable(bearer, TokenKind.REFRESH)
        if refresh is None:
            return None
        return self._issue(TokenKind.ACCESS, refresh.operation, self.access_token_lifetime)

    def access_token(self, bearer: str | None) -> IssuedToken | None:
        return self._usable(bearer, TokenKind.ACCESS)

    def token_kind(self, bearer: str | None) -> TokenKind | None:
        token = self._tokens.get(bearer or "")
        return token.kind if token else None

    # --- helpers ---------------------------------------------------------------------------

    def _usable(self, value: str | None, kind: TokenKind) -> IssuedToken | None:
        token = self._tokens.get(value or "")
        if token is None or token.kind is not kind or not token.usable(self.clock()):
            return None
        return token

    def _issue(self, kind: TokenKind, operation: AuthOperation, lifetime: float) -> IssuedToken:
        issued_at = int(self.clock())
        claims: dict[str, Any] = {
            "token-type": kind.value,
            "context-identifier-type": "Nip",
            "context-identifier-value": operation.context_nip,
            "authentication-method": operation.authentication_method,
            "operation-reference-number": operation.reference_number,
            "exp": int(issued_at + lifetime),
            "iat": issued_at,
            "iss": "govsim-ksef",
            "aud": "govsim-ksef",
            "jti": secrets.token_hex(16),
        }
        token = IssuedToken(
            hs256_jwt(self._signing_key, claims), kind, operation, self.clock() + lifetime
        )
        self._tokens[token.value] = token
        return token

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

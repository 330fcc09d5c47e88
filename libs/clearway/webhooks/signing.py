"""Standard Webhooks signatures (standardwebhooks.com), which every receiver can verify.

A secret is `whsec_` + base64 of 32 random bytes. A message is signed as
`v1,` + base64(HMAC-SHA256(the secret's bytes, "{webhook-id}.{webhook-timestamp}.{body}")); while a
secret is being rotated, `webhook-signature` carries one such signature per live secret,
separated by spaces, and a receiver accepts the message if any one of them matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_…` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    signing_secrets: Sequence[str], webhook_id: str, timestamp: int, body: bytes
) -> str:
    """The `webhook-signature` value: one signature per live secret, newest first."""
    return " ".join(sign(secret, webhook_id, timestamp, body) for secret in signing_secrets)


def webhook_id_for(endpoint_id: str, event_id: str) -> str:
    """The `webhook-id` of one event sent to one endpoint: the same on every retry and replay,
    so the receiver can use it as its idempotency key; different per endpoint."""
    digest = hashlib.sha256(f"{endpoint_id}/{event_id}".encode()).hexdigest()
    return f"msg_{digest[:32]}"

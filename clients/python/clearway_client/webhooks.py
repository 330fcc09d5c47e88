"""Verifying Clearway's webhooks: Standard Webhooks (standardwebhooks.com), as the
webhook-dispatcher signs them.

The dispatcher sends `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`:
`v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{raw body}")), the key being
the base64 after `whsec_`; during a secret rotation one signature per live secret, separated
by spaces. A request is accepted when any signature matches any of the receiver's secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence

from clearway_client.errors import WebhookVerificationError
from clearway_client.models import WebhookEvent

DEFAULT_TOLERANCE = 300  # seconds either side of now, as Standard Webhooks recommends
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SIGNATURE_VERSION = "v1"


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header whatever its case (frameworks hand them over differently)."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"the request has no {name} header: not a Clearway webhook")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError(
            "the secret is not a whsec_… secret as the API showed it"
        ) from exc


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,…` signature, as the dispatcher computes it (for tests of your own receiver)."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION}," + base64.b64encode(digest).decode()


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """The event of a webhook request, once it is proven Clearway's, unaltered and recent;
    WebhookVerificationError otherwise. `body` is the raw body as received, before any parsing;
    `secret` may be several (the old and the new during a rotation)."""
    raw = body.encode() if isinstance(body, str) else body
    webhook_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature").split()
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError(f"webhook-timestamp {stamp!r} is not Unix seconds") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {current - timestamp:+.0f}s from now, beyond {tolerance:g}s: "
            "a replayed or delayed request"
        )
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise WebhookVerificationError("no secret to verify with")
    expected = [sign(s, webhook_id, timestamp, raw) for s in secrets]
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in signatures):
        raise WebhookVerificationError(
            "no signature matches: another secret, or a body changed on the way"
        )
    try:
        return WebhookEvent.model_validate(json.loads(raw))
    except ValueError as exc:
        raise WebhookVerificationError(f"signed, but the body is not an event: {exc}") from exc


class Webhooks:
    """`client.webhooks.verify(...)`: the same as `clearway_client.webhooks.verify`."""

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.tolerance = tolerance

    def verify(
        self,
        body: bytes | str,
        headers: Mapping[str, str],
        secret: str | Sequence[str],
        *,
        now: float | None = None,
    ) -> WebhookEvent:
        return verify(body, headers, secret, tolerance=self.tolerance, now=now)

"""Tokens the simulators issue: HMAC-signed JWTs and expiring them on demand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Protocol


def hs256_jwt(key: bytes, claims: Mapping[str, Any]) -> str:
    """A JWT over `claims`, HMAC-SHA256-signed with `key` (compact JSON, unpadded base64url)."""
    header = _base64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _base64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_base64url(signature)}"


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Expiring(Protocol):
    expires_at: float


def expire_now(tokens: Mapping[str, Expiring], value: str, now: float) -> bool:
    """End the token `value`'s life now (a test control); False when there is no such token."""
    token = tokens.get(value)
    if token is None:
        return False
    token.expires_at = now
    return True

"""Who is calling: the API key, and how fast it may call.

The rate limit is a token bucket per key, per intake process (with N replicas behind a balancer
a key gets up to N times the rate; the limit protects each process, not a global budget).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from clearway.accounts import ApiKeyOwner, owner_of_api_key
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake.errors import ApiError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, default_per_second: float) -> None:
        self._default = default_per_second
        self._buckets: dict[str, _Bucket] = {}

    def take(self, owner: ApiKeyOwner) -> float | None:
        """Take one token; None when allowed, else the seconds until one is available."""
        rate = float(owner.rate_limit_per_second or self._default)
        burst = max(2 * rate, 1.0)
        now = time.monotonic()
        bucket = self._buckets.setdefault(owner.key_id, _Bucket(tokens=burst, updated=now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / rate

    def headers(self, owner: ApiKeyOwner) -> dict[str, str]:
        """The key's budget after its last take, as RateLimit-* headers (the IETF httpapi
        draft's names): the burst, the requests left now, the seconds until the bucket is full."""
        rate = float(owner.rate_limit_per_second or self._default)
        burst = max(2 * rate, 1.0)
        tokens = self._buckets[owner.key_id].tokens
        return {
            "RateLimit-Limit": str(math.floor(burst)),
            "RateLimit-Remaining": str(max(math.floor(tokens), 0)),
            "RateLimit-Reset": str(math.ceil((burst - tokens) / rate)),
        }


async def key_owner_from_pool(pool: asyncpg.Pool[Any], key: str) -> ApiKeyOwner:
    async with pool.acquire() as conn:
        owner = await owner_of_api_key(conn, key)
    if owner is None:
        raise ApiError("authentication_error", "Invalid API key.")
    return owner


def api_key_from(authorization: str | None) -> str:
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(("sk_test_", "sk_live_")):
        raise ApiError(
            "authentication_error",
            "Missing or malformed API key: send 'Authorization: Bearer sk_test_…'.",
        )
    return key


# Declares the bearer scheme in the OpenAPI document (components.securitySchemes, and each
# operation's security) instead of an `authorization` header parameter; it refuses nothing
# itself: a missing or malformed key gets our own 401 below.
BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    description="An API key: sk_test_… (sandbox: government simulators) or sk_live_…",
    auto_error=False,
)


async def authenticate(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> ApiKeyOwner:
    authorization = request.headers.get("authorization")
    owner = await key_owner_from_pool(request.app.state.pool, api_key_from(authorization))
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.take(owner)
    # Sent on every answer to this request, refusals included (see the intake's middleware).
    request.state.rate_limit_headers = limiter.headers(owner)
    if wait is not None:
        raise ApiError(
            "rate_limit_error",
            "Too many requests for this API key; slow down.",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return owner


# A route that takes an Owner answers 401 (or 429) before doing anything else.
Owner = Annotated[ApiKeyOwner, Depends(authenticate)]

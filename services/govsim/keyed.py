"""What the API-key simulators (Peppol access point, French platform, ZRE) share beyond a
ReceivingSimulator: the API key, and the check every call meets first (the bearer API key,
then the rate limit), answered in each API's own words."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.govsim.arrivals import Processed, ReceivingSimulator
from services.govsim.guard import bearer_token, guarded_router

Item = TypeVar("Item", bound=Processed)
Forced = TypeVar("Forced")


@dataclass
class KeyedSimulator(ReceivingSimulator[str, Item, Forced]):
    """A simulator behind one bearer API key, its items received by string ids."""

    api_key: str = field(kw_only=True)

    def stamp(self, at: float) -> str:
        return datetime.fromtimestamp(at, UTC).isoformat()


@dataclass(frozen=True)
class KeyRefusals:
    """An API's own answers to a missing or wrong key, and to a call over the rate limit (given
    the seconds to wait)."""

    unauthorized: Callable[[], Response]
    too_many_requests: Callable[[int], Response]


def admit_keyed(
    simulator: KeyedSimulator[Any, Any], refusals: KeyRefusals, request: Request
) -> Response | None:
    """What settles due work, then refuses a call without the API key or over the limit."""
    simulator.settle()
    key = bearer_token(request)
    if key is None or not secrets.compare_digest(key, simulator.api_key):
        return refusals.unauthorized()
    refusal = simulator.limiter.admit("api-key", simulator.rate_limit)
    if refusal is None:
        return None
    return refusals.too_many_requests(refusal.retry_after_seconds)


def keyed_api_router(
    simulator: KeyedSimulator[Any, Any], refusals: KeyRefusals, *, prefix: str, tag: str
) -> APIRouter:
    """The router of a keyed API: its routes run inside the guard, behind `admit_keyed`."""
    return guarded_router(
        prefix=prefix,
        tag=tag,
        faults=simulator.faults,
        admit=lambda request: admit_keyed(simulator, refusals, request),
    )


def add_lookup_route(
    router: APIRouter,
    path: str,
    simulator: KeyedSimulator[Item, Any],
    render: Callable[[Any, Item], dict[str, Any]],
    unknown: Callable[[str], Response],
) -> None:
    """GET `path` (ending in `{item_id}`): one received item as `render(simulator, item)` shows
    it, or the API's own 404 (`unknown`, given the id)."""

    @router.get(path)
    async def lookup(item_id: str) -> Response:
        item = simulator.received.get(item_id)
        if item is None:
            return unknown(item_id)
        return JSONResponse(render(simulator, item))

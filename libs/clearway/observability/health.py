"""What every process answers over HTTP besides its own API: /metrics, /healthz, /readyz.

Live (/healthz) means the process runs; ready (/readyz) means it reaches both the broker and
the database, so an orchestrator sends it no work (and restarts nothing) while either is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clearway.observability.metrics import registry

CHECK_TIMEOUT_SECONDS = 2.0

ReadyCheck = Callable[[], Awaitable[bool]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def database_reachable(pool: asyncpg.Pool[Any]) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return bool(await pool.fetchval("SELECT true"))
    except Exception:  # noqa: BLE001 - any failure means "not ready", which is the answer
        return False


async def broker_reachable(broker: KafkaBroker) -> bool:
    try:
        return await broker.ping(timeout=CHECK_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - as above
        return False


def metrics_exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def _asgi(answer: Callable[[], Awaitable[tuple[int, bytes, str]]]) -> AsgiApp:
    async def app(_scope: Scope, _receive: Receive, send: Send) -> None:
        status, body, content_type = await answer()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def observability_routes(ready: ReadyCheck) -> list[tuple[str, AsgiApp]]:
    """The three routes as plain ASGI apps (a worker serves them with FastStream's ASGI app)."""

    async def metrics() -> tuple[int, bytes, str]:
        return (200, *metrics_exposition())

    async def healthz() -> tuple[int, bytes, str]:
        return 200, b'{"status":"ok"}', "application/json"

    async def readyz() -> tuple[int, bytes, str]:
        if await ready():
            return 200, b'{"status":"ready"}', "application/json"
        return 503, b'{"status":"not ready"}', "application/json"

    return [("/metrics", _asgi(metrics)), ("/healthz", _asgi(healthz)), ("/readyz", _asgi(readyz))]

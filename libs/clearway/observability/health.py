"""What every process answers over HTTP besides its own API: /metrics, /healthz, /readyz.

Live (/healthz) means the process runs; ready (/readyz) means it reaches both the broker and
the database, so an orchestrator sends it no work (and restarts nothing) while either is down.
/readyz says which check failed and why: `{"status": "not ready", "checks": {"broker": "ok",
"postgres": "sorry, too many clients already"}}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clearway.observability.metrics import registry

CHECK_TIMEOUT_SECONDS = 2.0
CHECK_OK = "ok"

# What each check found: CHECK_OK, or why it failed. A bare bool is a process with no checks
# to name (the simulator).
Checks = Mapping[str, str]
ReadyCheck = Callable[[], Awaitable[Checks | bool]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def database_check(pool: asyncpg.Pool[Any] | None) -> str:
    """CHECK_OK, or why the database cannot be used (PostgreSQL's own words when it refused)."""
    if pool is None:
        return "not connected yet"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await pool.fetchval("SELECT true")
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; it says why
        return str(exc) or type(exc).__name__
    return CHECK_OK


async def broker_check(broker: KafkaBroker) -> str:
    try:
        if await broker.ping(timeout=CHECK_TIMEOUT_SECONDS):
            return CHECK_OK
    except Exception as exc:  # noqa: BLE001 - as above
        return str(exc) or type(exc).__name__
    return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"


async def database_reachable(pool: asyncpg.Pool[Any]) -> bool:
    return await database_check(pool) == CHECK_OK


async def broker_reachable(broker: KafkaBroker) -> bool:
    return await broker_check(broker) == CHECK_OK


async def service_checks(broker: KafkaBroker, pool: asyncpg.Pool[Any] | None) -> Checks:
    """The checks of a process that uses the broker and the database (every service)."""
    broker_state, postgres_state = await asyncio.gather(broker_check(broker), database_check(pool))
    return {"broker": broker_state, "postgres": postgres_state}


def readiness(result: Checks | bool) -> tuple[int, dict[str, Any]]:  # noqa: FBT001 - ReadyCheck's answer
    """The /readyz answer: 200 when every check is ok, else 503 naming what is not."""
    if isinstance(result, bool):
        ready, body = result, {}
    else:
        ready = all(state == CHECK_OK for state in result.values())
        body = {"checks": dict(result)}
    return (200, {"status": "ready", **body}) if ready else (503, {"status": "not ready", **body})


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
        status, body = readiness(await ready())
        return status, json.dumps(body).encode(), "application/json"

    return [("/metrics", _asgi(metrics)), ("/healthz", _asgi(healthz)), ("/readyz", _asgi(readyz))]

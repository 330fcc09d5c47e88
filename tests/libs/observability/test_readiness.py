"""/readyz says which check failed and why, in PostgreSQL's or the broker's own words."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.db import DatabaseUnavailableError, create_pool, unavailable_reason
from clearway.messaging import build_broker
from clearway.observability.health import (
    CHECK_OK,
    broker_check,
    database_check,
    readiness,
    service_checks,
)

from services.stack.infra import free_port


def test_ready_only_when_every_check_is_ok() -> None:
    assert readiness({"broker": CHECK_OK, "postgres": CHECK_OK}) == (
        200,
        {"status": "ready", "checks": {"broker": "ok", "postgres": "ok"}},
    )
    assert readiness({"broker": CHECK_OK, "postgres": "sorry, too many clients already"}) == (
        503,
        {
            "status": "not ready",
            "checks": {"broker": "ok", "postgres": "sorry, too many clients already"},
        },
    )
    assert readiness(False) == (503, {"status": "not ready"})
    assert readiness(True) == (200, {"status": "ready"})


async def test_a_server_that_is_not_there_is_named_as_unreachable() -> None:
    port = free_port()
    broker = build_broker(f"127.0.0.1:{port}", client_id="readiness-test")
    assert await broker_check(broker) != CHECK_OK
    pool: asyncpg.Pool[Any] = await create_pool(
        f"postgresql://nobody@127.0.0.1:{port}/none", min_size=0
    )
    try:
        reason = await database_check(pool)
        assert reason.startswith("PostgreSQL cannot be reached"), reason
        checks = await service_checks(broker, pool)
        assert set(checks) == {"broker", "postgres"}
        assert CHECK_OK not in checks.values()
        with pytest.raises(DatabaseUnavailableError) as refused:
            await pool.fetchval("SELECT 1")
        assert unavailable_reason(refused.value) == reason
    finally:
        await pool.close()
    assert await database_check(None) == "not connected yet"

"""PostgreSQL refusing connections, for real: an intake whose database role may open no more
connections answers the documented error envelope with 503 and Retry-After (never a bare 500),
changes nothing, says why on /readyz, and recovers once PostgreSQL takes connections again.
Only intake answers here: the second intake runs beside the API-only stack (api_stack)."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from clearway_client import Clearway, ServiceUnavailableError

from services.stack.infra import free_port, spawn, stop_processes
from services.stack.stack import Stack, wait_until_ready

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture
async def limited_role(api_db: asyncpg.Pool[Any]) -> AsyncIterator[str]:
    """A role with the rights the intake needs, whose connection limit the test controls."""
    role = f"clearway_limited_{secrets.token_hex(3)}"
    await api_db.execute(f"CREATE ROLE {role} LOGIN")
    await api_db.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    await api_db.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    await api_db.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    try:
        yield role
    finally:
        await api_db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
        )
        await api_db.execute(f"DROP OWNED BY {role}")
        await api_db.execute(f"DROP ROLE {role}")


@pytest.fixture
async def limited_intake(api_stack: Stack, limited_role: str) -> AsyncIterator[str]:
    """A second intake process connecting as `limited_role`; its base URL."""
    port = free_port()
    log_path = api_stack.log_dir / f"intake-{limited_role}.log"
    env = {
        **api_stack.service_env(),
        "DATABASE_URL": _as_role(api_stack.database.url, limited_role),
        "DATABASE_POOL_MIN": "1",
        "DATABASE_POOL_MAX": "3",
    }
    process = spawn(
        [sys.executable, "-m", "services.intake", "--port", str(port)], log_path=log_path, env=env
    )
    try:
        await wait_until_ready(f"http://127.0.0.1:{port}/readyz", process, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(stop_processes, [process])


async def test_refused_connections_answer_503_with_retry_after_and_readyz_says_why(
    api_stack: Stack,
    api_db: asyncpg.Pool[Any],
    limited_role: str,
    limited_intake: str,
    seed_invoice: dict[str, Any],
) -> None:
    auth = {"Authorization": f"Bearer {api_stack.api_key}"}
    async with httpx.AsyncClient(base_url=limited_intake, headers=auth, timeout=30) as client:
        assert (await client.get("/v1/invoices", params={"limit": 1})).status_code == 200

        # PostgreSQL takes no more connections from the role, and those it had are gone.
        await api_db.execute(f"ALTER ROLE {limited_role} CONNECTION LIMIT 0")
        await api_db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
            limited_role,
        )
        await asyncio.sleep(0.3)  # the pool sees its connections closed

        listed = await client.get("/v1/invoices")
        external_id = f"unavailable-{secrets.token_hex(4)}"
        created = await client.post(
            "/v1/invoices", json={**seed_invoice, "externalId": external_id}
        )
        for answer in (listed, created):
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "2"
            error = answer.json()["error"]
            assert error["type"] == "service_unavailable"
            assert "too many connections for role" in error["message"]
            assert set(error) == {"type", "message", "errors"}  # no field at fault: no param
        written = "SELECT count(*) FROM invoices WHERE external_id = $1"
        assert await api_db.fetchval(written, external_id) == 0
        # The Python client (clients/python) raises its typed error for this real answer.
        with (
            Clearway(api_stack.api_key, limited_intake, max_retries=0) as clearway,
            pytest.raises(ServiceUnavailableError) as unavailable,
        ):
            clearway.invoices.list_page(limit=1)
        assert unavailable.value.retry_after == 2
        assert unavailable.value.status == 503

        # A check that times out on a loaded machine says "no answer within 2 s": ask again
        # until PostgreSQL's own refusal is what it reports.
        deadline = time.monotonic() + 10
        while (  # noqa: ASYNC110 - polling another process over HTTP
            "too many connections for role"
            not in (ready := await client.get("/readyz")).json()["checks"]["postgres"]
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.2)
        assert ready.status_code == 503
        assert ready.json()["status"] == "not ready"
        assert ready.json()["checks"]["broker"] == "ok"
        assert "too many connections for role" in ready.json()["checks"]["postgres"]

        await api_db.execute(f"ALTER ROLE {limited_role} CONNECTION LIMIT -1")
        deadline = time.monotonic() + 10
        while (ready := await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            await asyncio.sleep(0.2)
        assert ready.json() == {"status": "ready", "checks": {"broker": "ok", "postgres": "ok"}}
        assert (await client.get("/v1/invoices", params={"limit": 1})).status_code == 200

"""The services behind PgBouncer in transaction mode (server connections shared a transaction at
a time, so no session state survives between transactions): an intake and the validator stage
reach PostgreSQL only through it, and invoices go from POST to `accepted`, with idempotency.

The stack's own validator is stopped meanwhile, so validation is done by the one behind
PgBouncer; it is started again afterwards."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from services.stack.infra import free_port, spawn, stop_processes
from services.stack.stack import Launch, Stack, wait_until_ready
from tests.conftest import FINAL_STATUSES
from tests.pgbouncer import PgBouncer, start_pgbouncer

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def bouncer(stack: Stack) -> AsyncIterator[PgBouncer]:
    running = await start_pgbouncer(stack.database.server_url, pool_size=3)
    try:
        yield running
    finally:
        running.stop()


# Joining a consumer group takes a rebalance, slow on a busy machine: wait longer than the stack.
READY_TIMEOUT = 180.0


async def _start(stack: Stack, name: str, launch: Launch) -> None:
    process = spawn(launch.command, log_path=launch.log_path, env=launch.env, append=True)
    stack.processes[name] = process
    await wait_until_ready(
        f"{launch.base_url}/readyz", process, launch.log_path, timeout=READY_TIMEOUT
    )


@pytest.fixture
async def pooled_intake(stack: Stack, bouncer: PgBouncer) -> AsyncIterator[str]:
    """An intake and a validator whose DATABASE_URL is PgBouncer; the intake's base URL."""
    pooled = {
        "DATABASE_URL": bouncer.url_for(stack.database.url),
        "DATABASE_STATEMENT_CACHE_SIZE": "0",
        "DATABASE_POOL_MIN": "1",
        "DATABASE_POOL_MAX": "4",
    }
    validator = stack.launches["validator"]
    await asyncio.to_thread(stop_processes, [stack.processes["validator"]])
    pooled_validator = validator.again("validator-pgbouncer")
    port = free_port()
    launches = {
        "validator-pgbouncer": replace(pooled_validator, env={**pooled_validator.env, **pooled}),
        "intake-pgbouncer": Launch(
            [sys.executable, "-m", "services.intake", "--port", str(port)],
            {**stack.service_env(), **pooled},
            stack.log_dir / "intake-pgbouncer.log",
            port,
        ),
    }
    try:
        await asyncio.gather(*(_start(stack, name, launch) for name, launch in launches.items()))
        yield f"http://127.0.0.1:{port}"
    finally:
        started = [stack.processes.pop(name) for name in launches if name in stack.processes]
        await asyncio.to_thread(stop_processes, started)
        await _start(stack, "validator", validator)


async def test_intake_and_validator_work_behind_pgbouncer_in_transaction_mode(
    stack: Stack, pooled_intake: str, seed_invoice: dict[str, Any]
) -> None:
    auth = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=pooled_intake, headers=auth, timeout=30) as client:
        created: list[dict[str, Any]] = []
        for n in range(3):
            body = {**seed_invoice, "externalId": f"pgbouncer-{secrets.token_hex(3)}-{n}"}
            key = {"X-Idempotency-Key": body["externalId"]}
            first = await client.post("/v1/invoices", json=body, headers=key)
            again = await client.post("/v1/invoices", json=body, headers=key)
            assert first.status_code == again.status_code == 201, first.text
            assert again.json() == first.json()
            assert again.headers["Idempotent-Replayed"] == "true"
            created.append(first.json()["data"])

        for invoice in created:
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                answer = await client.get(f"/v1/invoices/{invoice['id']}")
                assert answer.status_code == 200, answer.text
                if answer.json()["data"]["status"] in FINAL_STATUSES:
                    break
                assert asyncio.get_running_loop().time() < deadline, answer.text
                await asyncio.sleep(0.2)
            assert answer.json()["data"]["status"] == "accepted", answer.text
            events = (await client.get(f"/v1/invoices/{invoice['id']}/events")).json()["data"]
            assert "invoice.validated" in [e["event"] for e in events]
        ready = await client.get("/readyz")
        assert ready.json() == {"status": "ready", "checks": {"broker": "ok", "postgres": "ok"}}

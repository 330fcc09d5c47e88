"""The services behind PgBouncer in transaction mode (server connections shared a transaction at
a time, so no session state survives between transactions): an intake and every stage a Romanian
invoice passes (validator, converter, submitter, poller) plus the redriver and the token
refresher reach PostgreSQL only through it, and invoices go from POST to `accepted`, with
idempotency, leases and the outbox all pooled.

The stack's own processes of those stages are stopped meanwhile, so the work is done by the ones
behind PgBouncer; they are started again afterwards. (The webhook dispatcher's LISTEN needs a
session: docs/operations.md says to point it at PostgreSQL directly.)"""

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
from tests.conftest import ACCEPTED_EVENTS, FINAL_STATUSES
from tests.pgbouncer import PgBouncer, start_pgbouncer

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.kafka]

# Every worker on the path of a sandbox Romanian invoice, and the two that sweep the store.
POOLED_WORKERS = ("validator", "converter", "submitter_ro", "poller", "redriver", "token_refresher")


@pytest.fixture
async def bouncer(stack: Stack) -> AsyncIterator[PgBouncer]:
    running = await start_pgbouncer(stack.database.server_url, pool_size=4)
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
    """An intake and the pooled workers, whose DATABASE_URL is PgBouncer; the intake's URL."""
    pooled = {
        "DATABASE_URL": bouncer.url_for(stack.database.url),
        "DATABASE_STATEMENT_CACHE_SIZE": "0",
        "DATABASE_POOL_MIN": "1",
        "DATABASE_POOL_MAX": "4",
    }
    own = {name: stack.launches[name] for name in POOLED_WORKERS}
    await asyncio.to_thread(stop_processes, [stack.processes[name] for name in own])
    port = free_port()
    launches = {
        **{
            f"{name}-pgbouncer": replace(again, env={**again.env, **pooled})
            for name, launch in own.items()
            for again in (launch.again(f"{name}-pgbouncer"),)
        },
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
        await asyncio.gather(*(_start(stack, name, launch) for name, launch in own.items()))


async def test_the_filing_path_works_behind_pgbouncer_in_transaction_mode(
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
            assert [e["event"] for e in events] == ACCEPTED_EVENTS
        ready = await client.get("/readyz")
        assert ready.json() == {"status": "ready", "checks": {"broker": "ok", "postgres": "ok"}}

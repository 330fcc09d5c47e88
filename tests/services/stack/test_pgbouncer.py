"""The services behind PgBouncer in transaction mode (server connections shared a transaction at
a time, so no session state survives between transactions): an intake and every stage a Romanian
invoice passes (validator, converter, submitter, poller) plus the redriver and the token
refresher reach PostgreSQL only through it, and invoices go from POST to `accepted`, with
idempotency, leases and the outbox all pooled.

They run beside a stack of their own that has the API and no worker (api-only: the broker, the
simulators, the dev account and an intake reaching PostgreSQL directly), so the work is done by
the ones behind PgBouncer; the whole-stack tests' stack is left alone, and this test runs beside
them in `make test`. (The webhook dispatcher's LISTEN needs a session: docs/operations.md says
to point it at PostgreSQL directly; invoices reach `accepted` without it.)"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.stack.infra import free_port, spawn, stop_processes
from services.stack.stack import Launch, Stack, wait_until_ready
from tests.conftest import ACCEPTED_EVENTS, FINAL_STATUSES, running_stack, stack_config_for_tests
from tests.pgbouncer import PgBouncer, start_pgbouncer

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

# Every worker on the path of a sandbox Romanian invoice, and the two that sweep the store.
POOLED_WORKERS = ("validator", "converter", "submitter_ro", "poller", "redriver", "token_refresher")


@pytest.fixture
async def api_only(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """A stack of this test's own with no worker: the pooled ones below do all the work."""
    config = stack_config_for_tests(
        tmp_path_factory.mktemp("pgbouncer-stack"), "clearway_pgbouncer", extra_env={}, workers=()
    )
    async with running_stack(config) as running:
        yield running


@pytest.fixture
async def bouncer(api_only: Stack) -> AsyncIterator[PgBouncer]:
    running = await start_pgbouncer(api_only.database.server_url, pool_size=4)
    try:
        yield running
    finally:
        running.stop()


# Joining a consumer group takes a rebalance, slow on a busy machine: wait longer than the stack.
READY_TIMEOUT = 180.0


async def _start(stack: Stack, name: str, launch: Launch) -> None:
    process = spawn(launch.command, log_path=launch.log_path, env=launch.env)
    stack.processes[name] = process
    await wait_until_ready(
        f"{launch.base_url}/readyz", process, launch.log_path, timeout=READY_TIMEOUT
    )


def _pooled_launch(stack: Stack, service: str, pooled: dict[str, str]) -> Launch:
    """`python -m services.<service>` as the stack starts it, its DATABASE_URL PgBouncer."""
    port = free_port()
    command = [sys.executable, "-m", f"services.{service}"]
    env = {**stack.service_env(), **pooled}
    if service == "intake":
        command += ["--port", str(port)]  # a server takes its port as a flag, a worker from env
    else:
        env["CLEARWAY_HTTP_PORT"] = str(port)
    return Launch(command, env, stack.log_dir / f"{service}-pgbouncer.log", port)


@pytest.fixture
async def pooled_intake(api_only: Stack, bouncer: PgBouncer) -> AsyncIterator[str]:
    """An intake and the pooled workers, whose DATABASE_URL is PgBouncer; the intake's URL."""
    pooled = {
        "DATABASE_URL": bouncer.url_for(api_only.database.url),
        "DATABASE_STATEMENT_CACHE_SIZE": "0",
        "DATABASE_POOL_MIN": "1",
        "DATABASE_POOL_MAX": "4",
    }
    launches = {
        f"{service}-pgbouncer": _pooled_launch(api_only, service, pooled)
        for service in (*POOLED_WORKERS, "intake")
    }
    try:
        await asyncio.gather(*(_start(api_only, name, launch) for name, launch in launches.items()))
        yield launches["intake-pgbouncer"].base_url
    finally:
        started = [api_only.processes.pop(name) for name in launches if name in api_only.processes]
        await asyncio.to_thread(stop_processes, started)


async def test_the_filing_path_works_behind_pgbouncer_in_transaction_mode(
    api_only: Stack, pooled_intake: str, seed_invoice: dict[str, Any]
) -> None:
    auth = {"Authorization": f"Bearer {api_only.api_key}"}
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

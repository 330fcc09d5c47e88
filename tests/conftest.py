"""Session fixtures: the whole stack (real broker, real PostgreSQL, every service as its own
process) started once, on its own ports and its own database, exactly as `make run` starts it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts import KeyMode, create_account, create_api_key
from clearway.config import variables
from clearway.db import connect, create_pool, migrate

from services.stack.infra import free_port, provision_database
from services.stack.stack import WORKERS, Stack, StackConfig, start_stack
from tests.otlp_receiver import OtlpReceiver

FIXTURES = Path(__file__).parent / "fixtures"
# The stack's master key in tests: the bytes 0..31, a test key and nothing else.
TEST_MASTER_KEYS = "test-1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
# Webhook retries, timeouts and leases in seconds instead of hours (clearway.webhooks.settings).
WEBHOOK_TEST_ENV = {
    "WEBHOOK_RETRY_SCHEDULE": "0.3,0.6,1.2",
    "WEBHOOK_RETRY_JITTER": "0",
    "WEBHOOK_TIMEOUT_SECONDS": "1.5",
    "WEBHOOK_LEASE_SECONDS": "4",
    "WEBHOOK_DISABLE_AFTER_SECONDS": "5",
}
# The other simulated governments decide as soon as ANAF does in tests (anaf_processing_delay
# below), not after their 2 s default: every invoice filed in tests waits for one decision.
GOVSIM_TEST_ENV = {
    f"GOVSIM_{cc}_PROCESSING_DELAY": "0.5" for cc in ("PL", "IT", "PEPPOL", "FR", "DE")
}
# Tests never call a real government: whatever the shell holds, the stack's live mode has no
# credentials or endpoints of its own (empty is unset), so no live country is configured.
NO_LIVE_GOVERNMENTS = {
    variable.name: ""
    for variable in variables()
    if "_LIVE_" in variable.name and variable.default is None
}


# Fixtures that start processes of a whole stack (tests/chaos/conftest.py has the chaos one),
# and those of them that start a stack of their own rather than share the session's.
WHOLE_STACK_FIXTURES = frozenset({"stack", "chaos_stack"})
OWN_STACK_FIXTURES = frozenset({"chaos_stack"})


@pytest.hookimpl(tryfirst=True)  # before -m selects by markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a whole stack is marked `stack`, whether or not its module says so,
    and one on a stack of its own also `own_stack`: `make test` (tests/run_in_two.py) runs the
    tests of the shared stack in one process, so that one stack serves them all, and the others
    beside it."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if WHOLE_STACK_FIXTURES & fixtures:
            item.add_marker(pytest.mark.stack)
        if OWN_STACK_FIXTURES & fixtures:
            item.add_marker(pytest.mark.own_stack)


@pytest.fixture
def seed_invoice() -> dict[str, Any]:
    """The POST /v1/invoices body of ../shared/seeds/001, verbatim."""
    return json.loads((FIXTURES / "seed_ro_invoice.json").read_text())


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """Where the stack's services send their spans (OTLP over HTTP), kept in memory."""
    receiver = OtlpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def stack_config_for_tests(
    state_dir: Path,
    database_prefix: str,
    *,
    extra_env: dict[str, str],
    workers: tuple[str, ...] = WORKERS,
) -> StackConfig:
    """A stack on its own ports and a throwaway database, with the tests' short timings."""
    return StackConfig(
        state_dir=state_dir,
        database_name=f"{database_prefix}_{secrets.token_hex(4)}",
        api_port=free_port(),  # never 8080: a `make run` may be using it
        anaf_processing_delay=0.5,
        poll_interval_initial=0.25,
        submit_retry_base=0.2,
        anaf_reconcile_window=30.0,  # > a lease, a restart and the `slow` 8 s processing
        work_lease_seconds=8.0,
        redrive_stalled_after=3.0,
        breaker_reset_seconds=3.0,  # a breaker opened by one test does not hold up the next
        # Production's pace: every test company's connection receives, and RO's looks share
        # ANAF's calls per minute with filing. A test that waits for a look makes it due.
        receive_interval=30.0,
        master_keys=TEST_MASTER_KEYS,
        webhook_env=WEBHOOK_TEST_ENV,
        # An upload the message list does not show 2 s on (rejected_inline: never) is asked
        # about with stareMesaj: ANAF decides in 0.5 s here.
        extra_env={
            **NO_LIVE_GOVERNMENTS,
            **GOVSIM_TEST_ENV,
            "ANAF_STATUS_LIST_SILENCE": "2",
            **extra_env,
        },
        workers=workers,
    )


@asynccontextmanager
async def running_stack(config: StackConfig) -> AsyncIterator[Stack]:
    """The stack of `config`, stopped and its database dropped afterwards."""
    running = await start_stack(config)
    try:
        yield running
    finally:
        dead = running.dead_processes()
        await running.shutdown(drop_database=True)
        print(f"\nstack logs: {running.log_dir}; exited early: {dead}")  # noqa: T201


@pytest_asyncio.fixture(scope="session")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, otlp_receiver: OtlpReceiver
) -> AsyncIterator[Stack]:
    tracing = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # milliseconds: spans arrive while a test waits
    }
    config = stack_config_for_tests(
        tmp_path_factory.mktemp("stack"), "clearway_test", extra_env=tracing
    )
    async with running_stack(config) as running:
        yield running


@pytest_asyncio.fixture(scope="session")
async def api_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The API alone: the broker, the government simulators and intake, as the whole stack
    starts them (the dev account seeded, its sandbox countries connected) but with no worker
    service, over a database of its own. For tests of what intake answers, and nothing after
    it: they run beside the whole-stack tests in `make test` (tests/run_in_two.py)."""
    config = stack_config_for_tests(
        tmp_path_factory.mktemp("api-stack"), "clearway_api", extra_env={}, workers=()
    )
    async with running_stack(config) as running:
        yield running


@pytest_asyncio.fixture(scope="session")
async def store_db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A migrated database of its own, with no service reading it: for store-level tests whose
    rows must not reach the running pipeline."""
    database = await provision_database(
        f"clearway_store_{secrets.token_hex(4)}", tmp_path_factory.mktemp("store")
    )
    await migrate(database.url)
    pool = await create_pool(database.url)
    try:
        yield pool
    finally:
        await pool.close()
        await database.drop()
        database.stop_embedded()


@asynccontextmanager
async def pool_of(stack: Stack) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A pool on `stack`'s database, closed afterwards."""
    pool = await create_pool(stack.database.url)
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture(scope="session")
async def db(stack: Stack) -> AsyncIterator[asyncpg.Pool[Any]]:
    async with pool_of(stack) as pool:
        yield pool


@pytest_asyncio.fixture(scope="session")
async def api_db(api_stack: Stack) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A pool on the API-only stack's database."""
    async with pool_of(api_stack) as pool:
        yield pool


MakeAccount = Callable[..., Awaitable[tuple[str, httpx.AsyncClient]]]


async def new_api_key(stack: Stack, account_id: str, mode: KeyMode) -> str:
    """A new API key of the account, "test" (sandbox) or "live"."""
    conn = await connect(stack.database.url)
    try:
        return await create_api_key(conn, account_id, mode)
    finally:
        await conn.close()


def api_client(stack: Stack, key: str) -> httpx.AsyncClient:
    """A client of the stack's API authenticated with `key`; the caller closes it."""
    return httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


@asynccontextmanager
async def account_maker(stack: Stack) -> AsyncIterator[MakeAccount]:
    """New accounts of `stack` with their own sandbox key: (account id, a client authenticated
    as it); the clients are closed afterwards."""
    clients: list[httpx.AsyncClient] = []

    async def make(
        *, monthly_invoice_limit: int | None = None, rate_limit_per_second: Decimal | None = None
    ) -> tuple[str, httpx.AsyncClient]:
        conn = await connect(stack.database.url)
        try:
            account_id = await create_account(
                conn,
                f"test account {secrets.token_hex(3)}",
                monthly_invoice_limit=monthly_invoice_limit,
                rate_limit_per_second=rate_limit_per_second,
            )
        finally:
            await conn.close()
        client = api_client(stack, await new_api_key(stack, account_id, "test"))
        clients.append(client)
        return account_id, client

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()


@pytest_asyncio.fixture
async def make_account(stack: Stack) -> AsyncIterator[MakeAccount]:
    """New accounts of the whole stack (account_maker)."""
    async with account_maker(stack) as make:
        yield make


@pytest_asyncio.fixture
async def make_api_account(api_stack: Stack) -> AsyncIterator[MakeAccount]:
    """New accounts of the API-only stack (account_maker)."""
    async with account_maker(api_stack) as make:
        yield make


@pytest_asyncio.fixture(scope="session")
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(stack, stack.api_key) as client:
        yield client


FINAL_STATUSES = {"accepted", "rejected", "error"}
# The events of an invoice filed and accepted without a hitch, in their order.
ACCEPTED_EVENTS = ["invoice.created", "invoice.validated", "invoice.submitted", "invoice.accepted"]
WaitFinal = Callable[[str], Awaitable[dict[str, Any]]]


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of an API answer, which must have come with `status`."""
    assert response.status_code == status, response.text
    return response.json()["data"]


def error_of(response: httpx.Response, status: int) -> Any:
    """The `error` object of an API answer, which must have come with `status`."""
    assert response.status_code == status, response.text
    return response.json()["error"]


async def wait_status(
    client: httpx.AsyncClient, invoice_id: str, wanted: set[str], timeout: float = 90
) -> dict[str, Any]:
    """Poll GET /v1/invoices/:id until the invoice's status is one of `wanted`."""
    deadline = time.monotonic() + timeout
    while True:
        invoice: dict[str, Any] = data_of(await client.get(f"/v1/invoices/{invoice_id}"))
        if invoice["status"] in wanted:
            return invoice
        if time.monotonic() > deadline:
            pytest.fail(f"{invoice_id} still {invoice['status']} after {timeout}s")
        await asyncio.sleep(0.2)


@pytest.fixture
def wait_final(api: httpx.AsyncClient) -> WaitFinal:
    """Poll GET /v1/invoices/:id until the invoice reaches a final status."""

    async def wait(invoice_id: str, timeout: float = 90) -> dict[str, Any]:
        return await wait_status(api, invoice_id, FINAL_STATUSES, timeout)

    return wait

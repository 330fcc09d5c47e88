"""The chaos suite's own stack: every service, a real broker, and a PostgreSQL of its own (an
embedded server it may crash), loaded with invoices for every country Clearway files in.

Each fault adds a row to the report printed at the end of the run (and written to
$CHAOS_REPORT_DIR as chaos.json and chaos.md when set, as `make chaos` does).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from clearway.db import create_pool

from services.stack.infra import free_port
from services.stack.stack import WORKERS, Stack, StackConfig, start_stack
from tests.chaos.report import REPORT, report_table
from tests.conftest import GOVSIM_TEST_ENV, TEST_MASTER_KEYS, WEBHOOK_TEST_ENV
from tests.libs.security.certmaker import make_certificate, pem_bundle
from tests.libs.validation.bodies import clean_body
from tests.services.connections_support import connect_pl, new_company, start_connection
from tests.services.webhook_dispatcher.webhooktools import Receiver, create_endpoint

# The countries whose invoices go all the way to a government decision (a submitter exists).
CHAOS_COUNTRIES = tuple(
    cc for cc in ("RO", "PL", "FR", "IT", "BE", "DE") if f"submitter_{cc.lower()}" in WORKERS
)


@dataclass
class ChaosAccount:
    api: httpx.AsyncClient
    receiver: Receiver
    webhook_url: str


# Package-scoped: one chaos stack serves the filing and the receiving faults (a start is ~30 s), and
# it stops as soon as tests/chaos is done instead of idling (a broker and every service, ~half a
# core) beside the shared stack for the rest of the session.
@pytest_asyncio.fixture(scope="package")
async def chaos_stack() -> AsyncIterator[Stack]:
    # Not under pytest's tmp dir (mode 0700, root's): the embedded server runs as its own user.
    state_dir = Path(tempfile.mkdtemp(prefix="clearway-chaos-"))
    state_dir.chmod(0o755)
    running = await start_stack(
        StackConfig(
            state_dir=state_dir,
            database_name=f"clearway_chaos_{secrets.token_hex(4)}",
            own_postgres=True,
            api_port=free_port(),
            anaf_processing_delay=0.5,
            poll_interval_initial=0.25,
            submit_retry_base=0.2,
            anaf_reconcile_window=30.0,
            work_lease_seconds=8.0,
            redrive_stalled_after=3.0,
            breaker_reset_seconds=3.0,  # back to work soon after a government recovers
            master_keys=TEST_MASTER_KEYS,
            webhook_env=WEBHOOK_TEST_ENV,
            extra_env=GOVSIM_TEST_ENV,
        )
    )
    try:
        yield running
    finally:
        await running.shutdown(drop_database=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest_asyncio.fixture(scope="package")
async def chaos_account(chaos_stack: Stack) -> AsyncIterator[ChaosAccount]:
    """The dev account (its RO company is connected), a connected company for every other
    country, and a webhook endpoint receiving every event."""
    receiver = Receiver()
    await receiver.start()
    async with httpx.AsyncClient(
        base_url=chaos_stack.api_url,
        headers={"Authorization": f"Bearer {chaos_stack.api_key}"},
        timeout=30,
    ) as api:
        for country in CHAOS_COUNTRIES:
            if country != "RO":
                await _connect(chaos_stack, api, country)
        url = receiver.route()
        await create_endpoint(api, url)
        try:
            yield ChaosAccount(api, receiver, url)
        finally:
            await receiver.stop()


async def _connect(stack: Stack, api: httpx.AsyncClient, country: str) -> None:
    """A company for the supplier of clean_body(country), with an active connection."""
    vat_number = clean_body(country)["supplier"]["vatNumber"]
    company_id = await new_company(api, country, vatNumber=vat_number)
    if country == "PL":  # KSeF: the company's own KSeF token, made in the (simulated) portal
        connection = await connect_pl(stack, api, company_id, vat_number[2:])
    else:
        connection = await start_connection(api, company_id, country)
    if country == "IT":  # SDI: the transmitter's certificate
        certificate, key = make_certificate()
        answer = await api.post(
            f"/v1/connections/{connection['id']}/certificate",
            json={"format": "pem", "certificate": pem_bundle(certificate, key).decode()},
        )
        connection = answer.json()["data"]
    if country in {"BE", "DE"}:  # the buyer must be reachable on Peppol (listed in the SMP)
        buyer = clean_body(country)["customer"]
        participant = buyer.get("peppolId") or f"9930:{buyer['vatNumber']}"
        async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
            listed = await sim.post(
                "/_sim/peppol/participants", json={"participantId": participant}
            )
        assert listed.status_code == 201, listed.text
    assert connection["status"] == "active", connection


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def db(chaos_stack: Stack) -> Any:
    """A pool on the chaos stack's database, for the tests' own checks."""
    pool = await create_pool(chaos_stack.database.url)
    try:
        yield pool
    finally:
        await pool.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT:
        return
    lines = report_table()
    terminalreporter.write_sep("=", "chaos: invoices per fault")
    for line in lines:
        terminalreporter.write_line(line)
    target = os.environ.get("CHAOS_REPORT_DIR")
    if target:
        directory = Path(target)
        directory.mkdir(parents=True, exist_ok=True)
        rows = [asdict(outcome) for outcome in REPORT]
        (directory / "chaos.json").write_text(json.dumps(rows, indent=2) + "\n")
        (directory / "chaos.md").write_text("\n".join(lines) + "\n")
        terminalreporter.write_line(f"written to {directory}/chaos.json and chaos.md")

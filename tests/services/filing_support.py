"""What every country's submitter tests assert alike: a company connected for filing, the
timeline of an invoice filed and accepted, and a sandbox scenario recovered with one filing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from services.stack.stack import Stack
from tests.conftest import MakeAccount, wait_status
from tests.services.connections_support import new_company, start_connection
from tests.services.network_support import wait_for_state
from tests.services.submitter_ro.ro_support import submission_of, wait_ended

FILED_TIMELINE = ["invoice.created", "invoice.validated", "invoice.submitted", "invoice.accepted"]


async def connected_client(make_account: MakeAccount, country: str) -> httpx.AsyncClient:
    """A new account's client whose company's connection (an identifier: no token) is active."""
    _, client = await make_account()
    company_id = await new_company(client, country)
    connection = await start_connection(client, company_id, country)
    assert connection["status"] == "active", connection
    return client


async def recovered(
    client: httpx.AsyncClient, invoice_id: str, scenario: str, endpoint: str, sends: list[Any]
) -> dict[str, Any]:
    """The invoice ends accepted, its uploads to `endpoint` answered `sends` (HTTP statuses), a
    lost answer (`timeout`) was reconciled; invoice.submitted's metadata."""
    await wait_ended(client, invoice_id, "accepted")
    submitted = await submission_of(client, invoice_id)
    assert [a["httpStatus"] for a in submitted["attempts"] if a["endpoint"] == endpoint] == sends
    if scenario == "timeout":
        assert submitted["reconciled"] is True
    return submitted


async def rejected_with(
    client: httpx.AsyncClient, invoice_id: str, message: str, translated: str, fix: str
) -> dict[str, Any]:
    """The invoice ends rejected with the three error fields: the government's message starting
    `message`, its translation holding `translated` and the fix naming `fix`."""
    invoice = await wait_ended(client, invoice_id, "rejected")
    assert invoice["errorMessage"].startswith(message), invoice["errorMessage"]
    assert translated in invoice["errorTranslated"]
    assert fix in invoice["errorFix"]
    return invoice


InFlight = Callable[[], Awaitable[bool]]


class SharedKill:
    """One kill -9 of `service` (stack.restart), shared by `flows` concurrent flows: it comes
    once every one of them is ready for it, and each goes on once the service is back. Killing
    once for several flows makes them wait out the broker's reassignment of the killed group's
    partitions together.

    A flow may say how to tell its work is still in flight (`in_flight`): the kill asks each just
    before it comes, and a flow whose work was already done fails, instead of passing without
    having met a kill."""

    def __init__(self, stack: Stack, service: str, *, flows: int = 1) -> None:
        self._stack = stack
        self._service = service
        self._ready = asyncio.Barrier(flows)
        self._checks: dict[int, InFlight] = {}
        self._met: dict[int, bool] = {}
        self.done = asyncio.Event()

    async def when_all_ready(self, in_flight: InFlight | None = None) -> None:
        me = len(self._checks)
        self._checks[me] = in_flight or _always_in_flight
        if await self._ready.wait() == 0:  # exactly one of the flows kills
            for flow, check in self._checks.items():
                self._met[flow] = await check()
            # Shielded: a flow cancelled (another failed) must not leave the service dead for
            # every later test of the session.
            await asyncio.shield(self._stack.restart(self._service))
            self.done.set()
        await self.done.wait()
        assert self._met[me], f"the {self._service} kill came after this flow's work was done"


async def _always_in_flight() -> bool:
    return True


async def accepted_through_restarts(
    db: asyncpg.Pool[Any],
    client: httpx.AsyncClient,
    invoice_id: str,
    submitter: SharedKill,
    poller: SharedKill,
) -> None:
    """Kill the submitter (-9) while the invoice's upload is in flight, then the poller while its
    decision is being followed: the invoice still ends accepted."""
    await wait_for_state(db, invoice_id, "uploading")
    await submitter.when_all_ready()
    await wait_status(client, invoice_id, {"submitted", "accepted"}, timeout=120)
    await poller.when_all_ready()
    await wait_ended(client, invoice_id, "accepted", timeout=120)


def recovery_scenarios(ok: int, *, slow: bool = False) -> list[tuple[str, list[int]]]:
    """The sandbox scenarios a filing recovers from, each with the HTTP statuses its sends are
    answered (`ok`: the government's answer to a send it takes); `slow` adds the late answer."""
    scenarios = [
        ("transient_error", [503, 503, ok]),
        ("rate_limited", [429, ok]),
        ("token_expired", [401, ok]),
        ("timeout", [504]),
    ]
    return [*scenarios, ("slow", [ok])] if slow else scenarios

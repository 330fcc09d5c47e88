"""What the whole-stack receiving tests share: a delivery through a simulator's sandbox control,
waiting for what arrives, the original and the evidence as the API gives them back, and a
redelivery (the inbox read again from its beginning: the same government ids handed over again)."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from clearway.countries.checksums import is_valid_luhn
from clearway.governments.fr.identifiers import vat_key

from services.stack.stack import Stack
from tests.conftest import data_of


async def deliver(stack: Stack, control: str, body: dict[str, Any]) -> dict[str, Any]:
    """A purchase invoice delivered by a simulator's sandbox control (e.g.
    /_sim/pl/purchase-invoices); what the simulator answered."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as sim:
        answer = await sim.post(control, json=body)
    assert answer.status_code == 201, answer.text
    delivered: dict[str, Any] = answer.json()
    return delivered


async def received_list(
    client: httpx.AsyncClient, company_id: str, *, at_least: int = 1, timeout: float = 60
) -> list[dict[str, Any]]:
    """The company's received invoices once `at_least` arrived (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[dict[str, Any]] = data_of(
            await client.get("/v1/received-invoices", params={"companyId": company_id})
        )
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Arrived:
    """One received invoice as the API gives it: its JSON, its original and its evidence."""

    received: dict[str, Any]
    document: httpx.Response
    evidence: httpx.Response


async def arrived_once(client: httpx.AsyncClient, company_id: str) -> Arrived:
    """The one invoice the company received, with /document and /evidence."""
    [summary] = await received_list(client, company_id)
    path = f"/v1/received-invoices/{summary['id']}"
    received: dict[str, Any] = data_of(await client.get(path))
    document = await client.get(f"{path}/document")
    evidence = await client.get(f"{path}/evidence")
    assert (document.status_code, evidence.status_code) == (200, 200)
    assert [f for f in received["findings"] if f["severity"] == "error"] == []
    return Arrived(received, document, evidence)


async def delivered_again_adds_nothing(
    db: asyncpg.Pool[Any], client: httpx.AsyncClient, arrived: Arrived
) -> None:
    """The inbox read again from its beginning, at once: the government hands the same
    messages over again; the company still has the one received invoice, with one event."""
    connection_id = arrived.received["connectionId"]
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE inbox_cursors SET cursor = NULL, next_fetch_at = now() "
            "WHERE connection_id = $1",
            connection_id,
        )
    read_again = False
    deadline = time.monotonic() + 30
    while not read_again and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        async with db.acquire() as conn:
            # A page recorded from the beginning: the cursor is saved again, the lease let go.
            read_again = await conn.fetchval(
                "SELECT cursor IS NOT NULL AND lease_until IS NULL AND last_error IS NULL "
                "FROM inbox_cursors WHERE connection_id = $1",
                connection_id,
            )
    assert read_again, "the receiver did not read the inbox again"
    received_id = arrived.received["id"]
    company_id = arrived.received["companyId"]
    again = data_of(await client.get("/v1/received-invoices", params={"companyId": company_id}))
    assert [r["id"] for r in again] == [received_id]
    events = data_of(await client.get(f"/v1/received-invoices/{received_id}/events"))
    assert [e["event"] for e in events] == ["invoice.received"]


def random_siren() -> str:
    """A SIREN of the test's own (valid Luhn key): its own inbox at the simulated PA."""
    while True:
        siren = str(secrets.randbelow(9 * 10**8) + 10**8)
        if is_valid_luhn(siren):
            return siren


def french_vat_number(siren: str) -> str:
    return f"FR{vat_key(siren)}{siren}"

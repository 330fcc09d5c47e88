"""What the RO submitter and poller tests share: a company of its own (its own CIF, so the
simulator's messages can be counted per test) with an active ANAF connection made through the
real flow, and ways to file an invoice and watch it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from services.stack.stack import Stack
from tests.conftest import FINAL_STATUSES, MakeAccount, data_of, wait_status
from tests.services.connections_support import connect_ro, new_company


@dataclass(frozen=True)
class RoCompany:
    client: httpx.AsyncClient
    cif: str
    company_id: str
    connection_id: str


async def ro_company(make_account: MakeAccount) -> RoCompany:
    _, client = await make_account()
    cif = str(secrets.randbelow(90_000_000) + 10_000_000)  # 8 digits, its own in the simulator
    company_id = await new_company(client, "RO", vatNumber=f"RO{cif}")
    # It only sends: a receiver reading ANAF with its tokens could meet a refusal (a revoked
    # token, say) before the submitter that a test counts on.
    connection = await connect_ro(client, company_id, isReceiver=False)
    assert connection["status"] == "active", connection
    return RoCompany(client, cif, company_id, connection["id"])


def invoice_body(seed: dict[str, Any], company: RoCompany) -> dict[str, Any]:
    number = f"INV-{secrets.token_hex(4)}"
    return {
        **seed,
        "externalId": number,
        "invoiceNumber": number,
        "supplier": {**seed["supplier"], "vatNumber": f"RO{company.cif}"},
    }


async def file_invoice(
    company: RoCompany, seed: dict[str, Any], scenario: str | None = None
) -> str:
    headers = {"X-Clearway-Sandbox-Scenario": scenario} if scenario else {}
    created = await company.client.post(
        "/v1/invoices", json=invoice_body(seed, company), headers=headers
    )
    assert created.status_code == 201, created.text
    invoice_id: str = created.json()["data"]["id"]
    return invoice_id


async def accepted_invoice(
    company: RoCompany, seed: dict[str, Any], scenario: str | None = None
) -> str:
    """File the invoice (in the sandbox `scenario`) and wait until it is accepted; its id."""
    invoice_id = await file_invoice(company, seed, scenario)
    await wait_ended(company.client, invoice_id, "accepted")
    return invoice_id


async def wait_final(client: httpx.AsyncClient, invoice_id: str, timeout: float = 90) -> Any:
    return await wait_status(client, invoice_id, FINAL_STATUSES, timeout)


async def wait_ended(
    client: httpx.AsyncClient, invoice_id: str, status: str, timeout: float = 90
) -> dict[str, Any]:
    """The invoice once final, which must be `status`."""
    invoice: dict[str, Any] = await wait_final(client, invoice_id, timeout)
    assert invoice["status"] == status, invoice
    return invoice


async def events_of(client: httpx.AsyncClient, invoice_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = data_of(await client.get(f"/v1/invoices/{invoice_id}/events"))
    return events


def event(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(e for e in events if e["event"] == name)


async def metadata_of(client: httpx.AsyncClient, invoice_id: str, name: str) -> dict[str, Any]:
    """The metadata of the invoice's event `name` (invoice.submitted, invoice.accepted, ...)."""
    metadata: dict[str, Any] = event(await events_of(client, invoice_id), name)["metadata"]
    return metadata


async def submission_of(client: httpx.AsyncClient, invoice_id: str) -> dict[str, Any]:
    """The metadata of the invoice's invoice.submitted event: what was filed, and how."""
    return await metadata_of(client, invoice_id, "invoice.submitted")


async def filings(stack: Stack, cif: str) -> list[dict[str, Any]]:
    """Every upload the simulated ANAF registered for this CIF."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        messages = (await sim.get("/_sim/anaf/messages")).json()
    return [m for m in messages if m["cif"] == cif]

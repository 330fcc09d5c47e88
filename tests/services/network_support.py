"""What the BE and DE submitter tests share: buyers of their own on the simulated Peppol SMP
and ZRE (so that what the simulators received can be counted per test), filing, and reading
the simulators' side."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import asyncpg
import httpx
import pytest

from services.stack.stack import Stack
from tests.libs.validation.bodies import clean_body
from tests.services.submitter_ro.ro_support import submission_of, wait_ended

PEPPOL_KEY = "clearway-sandbox-peppol"
ZRE_KEY = "clearway-sandbox-zre"
LEITWEG_ID = "991-33333TEST-33"  # the widely used test Leitweg-ID (valid check digits)


def enterprise_number() -> str:
    """A fresh Belgian enterprise number with valid check digits."""
    body = f"0{secrets.randbelow(10**7):07d}"
    return f"{body}{97 - int(body) % 97:02d}"


def german_vat_number() -> str:
    return f"DE{secrets.randbelow(9 * 10**8) + 10**8}"


async def register_participant(stack: Stack, participant_id: str) -> None:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        answer = await sim.post("/_sim/peppol/participants", json={"participantId": participant_id})
    assert answer.status_code == 201, answer.text


async def register_leitweg_id(stack: Stack, leitweg_id: str = LEITWEG_ID) -> None:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        answer = await sim.post("/_sim/de/leitweg-ids", json={"leitwegId": leitweg_id})
    assert answer.status_code == 201, answer.text


async def queue_fault(stack: Stack, country: str, path_contains: str) -> None:
    """The next call whose path holds `path_contains` takes effect, its caller gets 504."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        answer = await sim.post(
            f"/_sim/{country}/faults",
            json={"kind": "lost_response", "path_contains": path_contains},
        )
    assert answer.status_code == 200, answer.text


async def peppol_documents(stack: Stack, **query: str) -> list[dict[str, Any]]:
    """What the access point received (?receiver=, ?instanceIdentifier=)."""
    async with httpx.AsyncClient(
        base_url=stack.govsim_url, headers={"Authorization": f"Bearer {PEPPOL_KEY}"}, timeout=10
    ) as ap:
        answer = await ap.get("/peppol/documents", params=query)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["documents"]
    return found


async def zre_uploads(stack: Stack, invoice_number: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(
        base_url=stack.govsim_url, headers={"Authorization": f"Bearer {ZRE_KEY}"}, timeout=10
    ) as platform:
        answer = await platform.get("/zre/invoices", params={"invoiceNumber": invoice_number})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["invoices"]
    return found


async def file(
    client: httpx.AsyncClient, body: dict[str, Any], scenario: str | None = None
) -> tuple[str, str]:
    """POST the invoice under a number of its own: (invoice id, number)."""
    number = f"N-{secrets.token_hex(4)}"
    headers = {"X-Clearway-Sandbox-Scenario": scenario} if scenario else {}
    created = await client.post(
        "/v1/invoices",
        json={**body, "invoiceNumber": number, "externalId": number},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["data"]["id"], number


async def wait_for_state(
    db: asyncpg.Pool[Any], invoice_id: str, state: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = await db.fetchval(
            "SELECT state FROM submissions WHERE invoice_id = $1", invoice_id
        )
        if current == state:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"the submission of {invoice_id} never was {state}")


def calls_to(attempts: list[dict[str, Any]], endpoint: str) -> list[int | None]:
    return [a["httpStatus"] for a in attempts if a["endpoint"] == endpoint]


async def accepted(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[str, str]:
    """File the invoice (file) and wait until it is accepted: (invoice id, number)."""
    invoice_id, number = await file(client, body)
    await wait_ended(client, invoice_id, "accepted")
    return invoice_id, number


async def peppol_buyer(
    stack: Stack, country: str, vat_number: str, participant: str, *, registered: bool = True
) -> tuple[dict[str, Any], str]:
    """clean_body(country) sold to a buyer of the test's own on Peppol (registered in the SMP
    unless told otherwise): (body, its participant id)."""
    if registered:
        await register_participant(stack, participant)
    body = clean_body(country)
    body["customer"] = {**body["customer"], "vatNumber": vat_number, "peppolId": participant}
    return body, participant


async def reconciled_after_a_lost_answer(
    stack: Stack, client: httpx.AsyncClient, body: dict[str, Any], fault: tuple[str, str], send: str
) -> tuple[dict[str, Any], str]:
    """File the invoice with the answer to its send lost (`fault`: the simulator's country and
    path, queue_fault): it still ends accepted, reconciled, sent once. (invoice.submitted's
    metadata, the invoice's number)."""
    await queue_fault(stack, *fault)
    invoice_id, number = await file(client, body)
    await wait_ended(client, invoice_id, "accepted")
    submitted = await submission_of(client, invoice_id)
    assert submitted["reconciled"] is True
    assert calls_to(submitted["attempts"], send) == [504]
    return submitted, number

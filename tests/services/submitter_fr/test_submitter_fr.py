"""submitter-fr and the poller against the simulated Plateforme Agréée, in the running stack:
deposited, issued, its status history as the receipt; a rejection translated; the sandbox
scenarios recovering with one deposit each."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from clearway.governments.fr.client import ISSUED

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.libs.validation.bodies import clean_body
from tests.services.filing_support import FILED_TIMELINE, connected_client, recovered
from tests.services.submitter_ro.ro_support import event, events_of, wait_final

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]
SIREN = "303265045"  # the supplier of clean_body("FR")
DEPOSIT = "POST /invoices"


@pytest.fixture
async def client(make_account: MakeAccount) -> httpx.AsyncClient:
    return await connected_client(make_account, "FR")


async def _file(client: httpx.AsyncClient, scenario: str | None = None) -> tuple[str, str]:
    body: dict[str, Any] = clean_body("FR")
    number = f"F-{secrets.token_hex(4)}"
    body["invoiceNumber"] = number
    body["externalId"] = number
    headers = {"X-Clearway-Sandbox-Scenario": scenario} if scenario else {}
    created = await client.post("/v1/invoices", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["data"]["id"], number


async def _deposits(stack: Stack, number: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(
        base_url=stack.govsim_url,
        headers={"Authorization": "Bearer clearway-sandbox-pa"},
        timeout=10,
    ) as pa:
        answer = await pa.get(
            "/pa/invoices", params={"invoiceNumber": number, "sellerSiren": SIREN}
        )
    found: list[dict[str, Any]] = answer.json()["invoices"]
    return found


async def test_a_deposit_is_issued_and_its_status_history_is_the_receipt(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    invoice_id, number = await _file(client)
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events] == FILED_TIMELINE
    [deposit] = await _deposits(stack, number)
    assert event(events, "invoice.submitted")["metadata"]["uploadId"] == deposit["invoiceId"]
    # 201 Émise, or a later status when the first poll came after it (a busy machine).
    gov_message = event(events, "invoice.accepted")["metadata"]["govMessage"]
    assert int(gov_message.split()[0]) in ISSUED, gov_message
    receipt = await client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/json"
    assert [s["code"] for s in json.loads(receipt.content)["statuses"]][:2] == [200, 201]


async def test_reject_is_rejected_with_the_field_to_change(client: httpx.AsyncClient) -> None:
    invoice_id, _ = await _file(client, "reject")
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "rejected", invoice
    assert invoice["errorMessage"].startswith("REJ_SEMAN: SIREN de l'acheteur")
    assert "SIREN" in invoice["errorTranslated"]
    assert "/customer/siret" in invoice["errorFix"]


@pytest.mark.parametrize(
    ("scenario", "deposits"),
    [
        ("transient_error", [503, 503, 201]),
        ("rate_limited", [429, 201]),
        ("timeout", [504]),
    ],
)
async def test_scenarios_recover_with_one_deposit(
    stack: Stack, client: httpx.AsyncClient, scenario: str, deposits: list[int]
) -> None:
    invoice_id, number = await _file(client, scenario)
    await recovered(client, invoice_id, scenario, DEPOSIT, deposits)
    assert len(await _deposits(stack, number)) == 1

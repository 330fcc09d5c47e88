"""The seed's Romanian invoice, verbatim, from POST /v1/invoices to `accepted` through every
service process, the real broker and real PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ACCEPTED_EVENTS, WaitFinal

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def test_seed_invoice_reaches_accepted_with_the_seed_timeline(
    api: httpx.AsyncClient, seed_invoice: dict[str, Any], wait_final: WaitFinal
) -> None:
    created = await api.post(
        "/v1/invoices", json=seed_invoice, headers={"X-Idempotency-Key": "order-12345-inv-001"}
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["status"] == "created"
    assert (data["netAmount"], data["vatAmount"], data["grossAmount"]) == (
        "5200.00",
        "988.00",
        "6188.00",
    )
    assert (data["supplierVat"], data["customerVat"], data["currency"]) == (
        "RO12345678",
        "RO87654321",
        "RON",
    )
    assert data["externalId"] == "order-12345"
    assert data["id"].startswith("inv_")
    assert data["createdAt"].endswith("Z")

    invoice = await wait_final(data["id"])
    assert invoice["status"] == "accepted", invoice
    assert invoice["govId"]
    assert invoice["errorMessage"] is None

    events = (await api.get(f"/v1/invoices/{data['id']}/events")).json()["data"]
    assert [e["event"] for e in events] == ACCEPTED_EVENTS
    assert [e["status"] for e in events] == ["created", "validated", "submitted", "accepted"]
    assert events[0]["metadata"] is None
    assert events[1]["metadata"]["format"] == "UBL-CIUS-RO"
    assert events[1]["metadata"]["rulesChecked"] > 0
    assert events[2]["metadata"]["govEndpoint"] == "ANAF e-Factura"
    assert events[2]["metadata"]["uploadId"]
    assert events[3]["metadata"]["govId"] == invoice["govId"]
    assert events[3]["metadata"]["govMessage"]
    for event in events:
        assert set(event) == {"id", "event", "status", "metadata", "createdAt"}
    assert [e["createdAt"] for e in events] == sorted(e["createdAt"] for e in events)


async def test_idempotency_key_replays_the_same_invoice(
    api: httpx.AsyncClient, seed_invoice: dict[str, Any]
) -> None:
    headers = {"X-Idempotency-Key": "replay-check-1"}
    first = await api.post("/v1/invoices", json=seed_invoice, headers=headers)
    second = await api.post("/v1/invoices", json=seed_invoice, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"

    changed = {**seed_invoice, "note": "a different body"}
    conflict = await api.post("/v1/invoices", json=changed, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["type"] == "conflict_error"


async def test_a_rate_the_issue_date_did_not_have_is_rejected_naming_the_valid_rates(
    api: httpx.AsyncClient, seed_invoice: dict[str, Any], wait_final: WaitFinal
) -> None:
    body = {**seed_invoice, "issueDate": "2025-09-01", "dueDate": "2025-10-01"}
    created = await api.post("/v1/invoices", json=body)
    assert created.status_code == 201
    invoice = await wait_final(created.json()["data"]["id"])
    assert invoice["status"] == "rejected"
    events = (await api.get(f"/v1/invoices/{invoice['id']}/events")).json()["data"]
    assert [e["event"] for e in events] == ["invoice.created", "invoice.rejected"]
    errors = events[1]["metadata"]["errors"]
    pointers = {e["pointer"] for e in errors if e["severity"] == "error"}
    assert pointers == {"/lines/0/vatRate", "/lines/1/vatRate"}
    assert "21%" in errors[0]["message"]
    assert "11%" in errors[0]["message"]

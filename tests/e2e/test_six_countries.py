"""One JSON shape, six legal formats: through the running validator and converter, each
country's clean invoice becomes its document; a document a gate refuses is never submitted."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import ACCEPTED_EVENTS, MakeAccount, wait_status
from tests.libs.validation.bodies import clean_body
from tests.services.connections_support import new_company, start_connection
from tests.services.handlers_support import DEFAULT_FORMAT
from tests.services.network_support import register_participant
from tests.services.submitter_it.it_support import file_invoice, it_company

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _document(db: asyncpg.Pool[Any], invoice_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await db.fetchrow(
            "SELECT format, xml FROM documents WHERE invoice_id = $1", invoice_id
        )
        if row is not None:
            return row
        await asyncio.sleep(0.2)
    pytest.fail(f"no document for {invoice_id} after {timeout}s")


@pytest.mark.parametrize("country", sorted(DEFAULT_FORMAT))
async def test_each_country_is_validated_and_converted(
    api: httpx.AsyncClient, db: asyncpg.Pool[Any], country: str
) -> None:
    created = await api.post("/v1/invoices", json=clean_body(country))
    assert created.status_code == 201, created.text
    invoice_id = created.json()["data"]["id"]
    document = await _document(db, invoice_id)
    assert document["format"] == DEFAULT_FORMAT[country]
    assert document["xml"].startswith(b"<?xml")
    events = (await api.get(f"/v1/invoices/{invoice_id}/events")).json()["data"]
    validated = next(e for e in events if e["event"] == "invoice.validated")
    assert validated["metadata"]["format"] == DEFAULT_FORMAT[country]


async def test_a_document_the_gate_refuses_is_rejected_at_conversion_and_never_submitted(
    api: httpx.AsyncClient, db: asyncpg.Pool[Any], wait_final: Any
) -> None:
    # FatturaPA allows 80 characters in a name (an XSD limit no JSON rule repeats): the validator
    # stage passes it, the converter's gate refuses it. (POST /v1/invoices/validate runs that gate
    # too and says so before anything is created; the pipeline's stages keep their own jobs.)
    clean = clean_body("IT")
    body = {**clean, "customer": {**clean["customer"], "name": "Cliente " + "x" * 92}}
    created = (await api.post("/v1/invoices", json=body)).json()["data"]
    invoice = await wait_final(created["id"])
    assert invoice["status"] == "rejected"
    assert invoice["errorMessage"]
    assert invoice["errorTranslated"]
    assert invoice["errorFix"]
    events = (await api.get(f"/v1/invoices/{created['id']}/events")).json()["data"]
    assert [e["event"] for e in events] == [
        "invoice.created",
        "invoice.validated",
        "invoice.rejected",
    ]
    rejection = events[-1]["metadata"]
    assert rejection["stage"] == "conversion"
    assert any(
        e["rule"] == "FATTURAPA-XSD" and e["pointer"] == "/customer" for e in rejection["errors"]
    ), rejection["errors"]
    assert all(e["pointer"].startswith("/") for e in rejection["errors"])
    assert rejection["findings"]
    assert (
        await db.fetchval("SELECT count(*) FROM documents WHERE invoice_id = $1", created["id"])
        == 0
    )
    assert (
        await db.fetchval("SELECT count(*) FROM submissions WHERE invoice_id = $1", created["id"])
        == 0
    )


async def test_the_document_is_served_as_generated(
    api: httpx.AsyncClient, db: asyncpg.Pool[Any], seed_invoice: dict[str, Any], make_account: Any
) -> None:
    created = (await api.post("/v1/invoices", json=seed_invoice)).json()["data"]
    stored = await _document(db, created["id"])
    response = await api.get(f"/v1/invoices/{created['id']}/document")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["X-Clearway-Format"] == "UBL-CIUS-RO"
    assert response.content == bytes(stored["xml"])
    _, stranger = await make_account()
    assert (await stranger.get(f"/v1/invoices/{created['id']}/document")).status_code == 404


async def test_an_italian_invoice_is_filed_with_sdi_and_accepted(
    make_account: MakeAccount,
) -> None:
    # IT: a company whose SDI connection holds the channel certificate, the FatturaPA sent to
    # the simulated SDI, its RC (ricevuta di consegna) the decision.
    company = await it_company(make_account)
    invoice_id = await file_invoice(company)
    invoice = await wait_status(company.client, invoice_id, {"accepted", "rejected", "error"})
    assert invoice["status"] == "accepted", invoice
    events = (await company.client.get(f"/v1/invoices/{invoice_id}/events")).json()["data"]
    assert [e["event"] for e in events] == ACCEPTED_EVENTS
    assert events[1]["metadata"]["format"] == "FATTURAPA"


# The buyers of clean_body("BE") and clean_body("DE") on Peppol: the BE one's peppolId, the DE
# one's 9930 and VAT number (what submitter-de derives for a buyer without a peppolId).
PEPPOL_BUYERS = {"BE": "0208:0403170701", "DE": "9930:DE811569869"}


@pytest.mark.parametrize("country", sorted(PEPPOL_BUYERS))
async def test_belgian_and_german_invoices_are_delivered_over_peppol_and_accepted(
    stack: Stack, make_account: MakeAccount, country: str
) -> None:
    # A company with its network connection (its participant id), and a buyer the SMP knows.
    _, client = await make_account()
    company_id = await new_company(client, country)
    connection = await start_connection(client, company_id, country)
    assert connection["status"] == "active", connection
    await register_participant(stack, PEPPOL_BUYERS[country])
    created = await client.post("/v1/invoices", json=clean_body(country))
    assert created.status_code == 201, created.text
    invoice_id = created.json()["data"]["id"]
    invoice = await wait_status(client, invoice_id, {"accepted", "rejected", "error"})
    assert invoice["status"] == "accepted", invoice
    events = (await client.get(f"/v1/invoices/{invoice_id}/events")).json()["data"]
    assert [e["event"] for e in events] == ACCEPTED_EVENTS
    assert events[1]["metadata"]["format"] == DEFAULT_FORMAT[country]
    assert events[2]["metadata"]["govEndpoint"] == "Peppol"
    assert (await client.get(f"/v1/invoices/{invoice_id}/receipt")).status_code == 200

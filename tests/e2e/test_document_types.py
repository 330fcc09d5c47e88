"""Every document type each country files, end to end: one invoice, one credit note and, where
the country's rules have one, one debit note per country, sent through REST, filed with the
country's simulator and accepted by it."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from clearway.governments.pl.identifiers import is_nip_format, nip_check_digit
from lxml import etree

from services.stack.stack import Stack
from tests.conftest import ACCEPTED_EVENTS, MakeAccount
from tests.e2e.test_six_countries import DEFAULT_FORMAT, PEPPOL_BUYERS
from tests.libs.validation.bodies import clean_body
from tests.services.connections_support import new_company, start_connection
from tests.services.network_support import register_participant
from tests.services.submitter_it.it_support import invoice_body as it_invoice_body
from tests.services.submitter_it.it_support import it_company
from tests.services.submitter_ro.ro_support import events_of, ro_company, wait_final
from tests.services.submitter_ro.ro_support import invoice_body as ro_invoice_body

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

# A debit note (383) is among the document types of neither CIUS-RO (BR-RO-020) nor the French
# CTC rules (BR-FR-04): Romania and France file invoices and credit notes only. XRechnung's
# BR-DE-17 only warns of one (as KoSIT's rules do), and Peppol BIS carries it: Germany files it.
DOCUMENT_TYPES = {
    "RO": ("invoice", "credit_note"),
    "IT": ("invoice", "credit_note", "debit_note"),
    "PL": ("invoice", "credit_note", "debit_note"),
    "FR": ("invoice", "credit_note"),
    "BE": ("invoice", "credit_note", "debit_note"),
    "DE": ("invoice", "credit_note", "debit_note"),
}
CASES = [(country, kind) for country, kinds in sorted(DOCUMENT_TYPES.items()) for kind in kinds]
UBL_COUNTRIES = {"RO", "BE", "DE", "FR"}  # whose credit note is a UBL CreditNote


def _as(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """The body as `kind`, with a number of its own; a correction names what it corrects."""
    number = f"{kind[:2].upper()}-{secrets.token_hex(4)}-1"
    typed = {**body, "invoiceType": kind, "invoiceNumber": number, "externalId": number}
    if kind != "invoice":
        typed["precedingInvoice"] = {"number": "INV-2025-0001", "issueDate": "2025-08-01"}
    return typed


def _nip() -> str:
    """A NIP of the test's own (valid check digit), so its KSeF session is its own."""
    while True:
        body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(8))
        check = nip_check_digit(body)
        if check is not None and is_nip_format(body + check):
            return body + check


async def _filer(
    stack: Stack, make_account: MakeAccount, country: str
) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    """A client whose company has an active connection for `country`, and a clean body it may
    file (its supplier that company)."""
    if country == "RO":
        ro = await ro_company(make_account)
        return ro.client, ro_invoice_body(clean_body("RO"), ro)
    if country == "IT":
        it = await it_company(make_account)
        return it.client, it_invoice_body(it)
    _, client = await make_account()
    body = clean_body(country)
    if country == "PL":
        nip = _nip()
        company_id = await new_company(client, "PL", vatNumber=f"PL{nip}")
        pending = await start_connection(client, company_id, "PL")
        async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
            token = (await sim.post("/_sim/pl/ksef-tokens", json={"nip": nip})).json()["token"]
        active = await client.post(
            f"/v1/connections/{pending['id']}/ksef-token", json={"token": token}
        )
        assert active.status_code == 200, active.text
        body["supplier"]["vatNumber"] = f"PL{nip}"
        return client, body
    company_id = await new_company(client, country)
    connection = await start_connection(client, company_id, country)
    assert connection["status"] == "active", connection
    if country in PEPPOL_BUYERS:
        await register_participant(stack, PEPPOL_BUYERS[country])
    return client, body


@pytest.mark.parametrize(("country", "kind"), CASES)
async def test_each_document_type_is_filed_and_accepted(
    stack: Stack, make_account: MakeAccount, country: str, kind: str
) -> None:
    client, body = await _filer(stack, make_account, country)
    created = await client.post("/v1/invoices", json=_as(body, kind))
    assert created.status_code == 201, created.text
    invoice_id = created.json()["data"]["id"]
    invoice = await wait_final(client, invoice_id)
    outcome = {k: invoice.get(k) for k in ("status", "errorMessage", "errorTranslated")}
    assert invoice["status"] == "accepted", outcome
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events] == ACCEPTED_EVENTS
    assert events[1]["metadata"]["format"] == DEFAULT_FORMAT[country]
    if kind == "credit_note" and country in UBL_COUNTRIES:
        document = await client.get(f"/v1/invoices/{invoice_id}/document")
        assert document.status_code == 200, document.text
        assert etree.QName(etree.fromstring(document.content)).localname == "CreditNote"

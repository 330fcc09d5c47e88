"""submitter-pl and the poller against the KSeF simulator, in the running stack: a company's
invoices in one shared session, the status and the UPO; a rejection in KSeF's words translated;
503s retried, a lost answer found in the session, an expired access token renewed, each filed
exactly once."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.libs.governments.pl.nips import random_nip
from tests.libs.security.certmaker import make_seal_certificate, pkcs12_bundle
from tests.libs.validation.bodies import clean_body
from tests.services.connections_support import new_company, start_connection
from tests.services.filing_support import FILED_TIMELINE, recovered, recovery_scenarios
from tests.services.submitter_ro.ro_support import event, events_of, wait_ended

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


@dataclass(frozen=True)
class PlCompany:
    client: httpx.AsyncClient
    nip: str
    connection_id: str


@pytest.fixture
async def company(stack: Stack, make_account: MakeAccount) -> PlCompany:
    _, client = await make_account()
    nip = random_nip()
    company_id = await new_company(client, "PL", vatNumber=f"PL{nip}")
    # A sender only: the receiver would also read KSeF with the connection's token (and renew
    # a refused one), and these tests count the submitter's own calls and renewals.
    pending = await start_connection(client, company_id, "PL", isReceiver=False)
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        token = (await sim.post("/_sim/pl/ksef-tokens", json={"nip": nip})).json()["token"]
    active = await client.post(f"/v1/connections/{pending['id']}/ksef-token", json={"token": token})
    assert active.status_code == 200, active.text
    return PlCompany(client, nip, pending["id"])


async def _file(company: PlCompany, scenario: str | None = None) -> str:
    body: dict[str, Any] = clean_body("PL")
    number = f"FV/{secrets.token_hex(3)}/2025"
    body["invoiceNumber"] = number
    body["externalId"] = number
    body["supplier"]["vatNumber"] = f"PL{company.nip}"
    headers = {"X-Clearway-Sandbox-Scenario": scenario} if scenario else {}
    created = await company.client.post("/v1/invoices", json=body, headers=headers)
    assert created.status_code == 201, created.text
    invoice_id: str = created.json()["data"]["id"]
    return invoice_id


async def _received(stack: Stack, nip: str) -> list[dict[str, Any]]:
    """Every invoice the simulated KSeF received for this NIP, across its sessions."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        sessions = (await sim.get("/_sim/pl/sessions")).json()
    return [i for s in sessions if s["nip"] == nip for i in s["invoices"]]


async def _sim(stack: Stack, path: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        answer = await sim.post(path, json=body)
    assert answer.is_success, answer.text


async def test_an_invoice_goes_through_a_session_to_accepted_with_its_upo(
    stack: Stack, company: PlCompany
) -> None:
    invoice_id = await _file(company)
    invoice = await wait_ended(company.client, invoice_id, "accepted")

    events = await events_of(company.client, invoice_id)
    assert [e["event"] for e in events] == FILED_TIMELINE
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "KSeF"
    assert submitted["sessionReferenceNumber"]
    endpoints = [a["endpoint"] for a in submitted["attempts"]]
    assert "POST /sessions/online" in endpoints
    assert "POST /sessions/online/{ref}/invoices" in endpoints
    [received] = await _received(stack, company.nip)
    assert received["referenceNumber"] == submitted["uploadId"]
    assert invoice["govId"] == received["ksefNumber"]

    upo = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert upo.status_code == 200
    assert upo.headers["content-type"].startswith("application/xml")
    assert received["ksefNumber"].encode() in upo.content


async def test_a_companys_invoices_share_one_session_and_are_accepted_while_it_is_open(
    stack: Stack, company: PlCompany
) -> None:
    invoice_ids = [await _file(company) for _ in range(3)]
    sessions = set()
    for invoice_id in invoice_ids:
        await wait_ended(company.client, invoice_id, "accepted")
        submitted = event(await events_of(company.client, invoice_id), "invoice.submitted")
        sessions.add(submitted["metadata"]["sessionReferenceNumber"])
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        listed = (await sim.get("/_sim/pl/sessions")).json()
    [session] = [s for s in listed if s["nip"] == company.nip]
    assert sessions == {session["referenceNumber"]}
    assert len(session["invoices"]) == 3
    assert session["open"] is True  # each invoice decided, its UPO read, before any close


async def test_a_rejection_is_translated_with_the_field_to_change(
    stack: Stack, company: PlCompany
) -> None:
    await _sim(stack, "/_sim/pl/invoice-outcomes", {"code": 440, "details": ["Duplikat"]})
    invoice_id = await _file(company)
    invoice = await wait_ended(company.client, invoice_id, "rejected")
    assert invoice["errorMessage"].startswith("440 Duplikat faktury")
    assert "duplicate" in invoice["errorTranslated"]
    assert "/invoiceNumber" in invoice["errorFix"]


async def test_503s_are_retried_and_the_invoice_is_received_once(
    stack: Stack, company: PlCompany
) -> None:
    await _sim(
        stack,
        "/_sim/pl/faults",
        {"kind": "http_503", "count": 2, "path_contains": "/sessions/online/"},
    )
    invoice_id = await _file(company)
    await wait_ended(company.client, invoice_id, "accepted")
    submitted = event(await events_of(company.client, invoice_id), "invoice.submitted")
    sends = [
        a["httpStatus"]
        for a in submitted["metadata"]["attempts"]
        if a["endpoint"] == "POST /sessions/online/{ref}/invoices"
    ]
    assert sends == [503, 503, 202]
    assert len(await _received(stack, company.nip)) == 1


async def test_a_lost_answer_is_found_in_the_session_and_not_sent_again(
    stack: Stack, company: PlCompany
) -> None:
    await _sim(
        stack,
        "/_sim/pl/faults",
        {"kind": "lost_response", "path_contains": "/sessions/online/"},
    )
    invoice_id = await _file(company)
    await wait_ended(company.client, invoice_id, "accepted")
    submitted = event(await events_of(company.client, invoice_id), "invoice.submitted")
    assert submitted["metadata"]["reconciled"] is True
    [received] = await _received(stack, company.nip)
    assert received["referenceNumber"] == submitted["metadata"]["uploadId"]


async def test_an_access_token_ksef_refuses_is_renewed_once(
    stack: Stack, company: PlCompany
) -> None:
    from clearway.accounts.connection_secrets import read_secret  # noqa: PLC0415
    from clearway.db import connect  # noqa: PLC0415
    from clearway.domain.connections import SecretKind  # noqa: PLC0415

    from tests.services.connections_support import stack_keyring  # noqa: PLC0415

    conn = await connect(stack.database.url)
    try:
        token = await read_secret(
            conn, company.connection_id, SecretKind.ACCESS_TOKEN, keyring=stack_keyring(stack)
        )
    finally:
        await conn.close()
    await _sim(stack, "/_sim/pl/tokens/expire", {"token": token})

    invoice_id = await _file(company)
    await wait_ended(company.client, invoice_id, "accepted")
    submitted = event(await events_of(company.client, invoice_id), "invoice.submitted")
    statuses = [a["httpStatus"] for a in submitted["metadata"]["attempts"]]
    assert 401 in statuses
    assert len(await _received(stack, company.nip)) == 1


async def test_a_company_connected_with_a_certificate_files_to_accepted(
    stack: Stack, make_account: MakeAccount
) -> None:
    """The XAdES login end to end: a company seal carrying the NIP, uploaded as PKCS#12."""
    _, client = await make_account()
    nip = random_nip()
    company_id = await new_company(client, "PL", vatNumber=f"PL{nip}")
    pending = await start_connection(client, company_id, "PL")
    certificate, key = make_seal_certificate(nip)
    p12 = base64.b64encode(pkcs12_bundle(certificate, key, b"seal")).decode()
    active = await client.post(
        f"/v1/connections/{pending['id']}/certificate",
        json={"format": "pkcs12", "certificate": p12, "password": "seal"},
    )
    assert active.status_code == 200, active.text
    assert active.json()["data"]["status"] == "active"
    company = PlCompany(client, nip, pending["id"])

    invoice = await wait_ended(client, await _file(company), "accepted")
    [received] = await _received(stack, nip)
    assert invoice["govId"] == received["ksefNumber"]


SEND = "POST /sessions/online/{ref}/invoices"


@pytest.mark.parametrize(("scenario", "sends"), recovery_scenarios(202, slow=True))
async def test_each_sandbox_scenario_ends_accepted_and_received_once(
    stack: Stack, company: PlCompany, scenario: str, sends: list[int]
) -> None:
    invoice_id = await _file(company, scenario)
    await recovered(company.client, invoice_id, scenario, SEND, sends)
    assert len(await _received(stack, company.nip)) == 1


async def test_the_reject_scenario_fills_the_three_error_fields(company: PlCompany) -> None:
    invoice_id = await _file(company, "reject")
    invoice = await wait_ended(company.client, invoice_id, "rejected")
    assert invoice["errorMessage"].startswith("450 ")
    assert "P_1" in invoice["errorMessage"]
    assert invoice["errorTranslated"]
    assert invoice["errorFix"]

"""submitter-it and the poller against the simulated SDI, in the running stack: a file sent
under its own name, delivered (RC, the receipt), refused (NS, translated), not deliverable to a
business (MC: issued); the sandbox scenarios and a lost answer recovering with one file each.
(The submitter and the poller killed mid-flight: tests/services/test_killed_mid_flight.py.)"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import asyncpg
import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.filing_support import FILED_TIMELINE, recovered, recovery_scenarios
from tests.services.submitter_it.it_support import (
    LOOKUP,
    SEND,
    ItCompany,
    file_invoice,
    it_company,
    sdi_files,
)
from tests.services.submitter_ro.ro_support import (
    event,
    events_of,
    submission_of,
    wait_ended,
    wait_final,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
async def company(make_account: MakeAccount) -> ItCompany:
    return await it_company(make_account)


async def _sim(stack: Stack, method: str, path: str, **request: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        answer = await sim.request(method, path, **request)
    assert answer.is_success, answer.text
    return answer


async def test_a_file_is_delivered_and_the_rc_is_the_receipt(
    stack: Stack, company: ItCompany
) -> None:
    invoice_id = await file_invoice(company)
    await wait_ended(company.client, invoice_id, "accepted")
    events = await events_of(company.client, invoice_id)
    assert [e["event"] for e in events] == FILED_TIMELINE
    [received] = await sdi_files(stack, company)
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["uploadId"] == str(received["identificativoSdI"])
    assert submitted["fileName"] == received["nomeFile"]
    assert re.fullmatch(rf"{company.transmitter}_[0-9A-Z]{{5}}\.xml", submitted["fileName"])
    accepted = event(events, "invoice.accepted")["metadata"]
    assert accepted["govId"] == submitted["uploadId"]
    assert accepted["govMessage"].startswith("RC (ricevuta di consegna): delivered to M5UXCR1")
    receipt = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"].startswith("application/xml")
    assert b"RicevutaConsegna" in receipt.content
    assert f"<IdentificativoSdI>{submitted['uploadId']}<".encode() in receipt.content


async def test_two_invoices_of_one_company_get_two_file_names(
    stack: Stack, company: ItCompany
) -> None:
    first, second = [await file_invoice(company) for _ in range(2)]
    for invoice_id in (first, second):
        assert (await wait_final(company.client, invoice_id))["status"] == "accepted"
    names = {(await submission_of(company.client, i))["fileName"] for i in (first, second)}
    assert len(names) == 2
    assert {f["nomeFile"] for f in await sdi_files(stack, company)} == names


async def test_reject_is_rejected_with_sdis_words_translated_and_the_field_to_change(
    company: ItCompany,
) -> None:
    invoice_id = await file_invoice(company, "reject")
    invoice = await wait_ended(company.client, invoice_id, "rejected")
    assert invoice["errorMessage"] == "00305: 1.4.1.1.2 <IdCodice> non valido"
    assert "buyer's VAT number" in invoice["errorTranslated"]
    assert "/customer/vatNumber" in invoice["errorFix"]
    rejected = event(await events_of(company.client, invoice_id), "invoice.rejected")["metadata"]
    assert [e["rule"] for e in rejected["errors"]] == ["00305"]
    assert (await company.client.get(f"/v1/invoices/{invoice_id}/receipt")).status_code == 404


async def test_mc_to_a_business_is_issued_and_says_where_the_buyer_finds_it(
    stack: Stack, company: ItCompany
) -> None:
    await _sim(stack, "POST", "/_sim/it/next-outcomes", json={"tipo": "MC"})
    invoice_id = await file_invoice(company)
    await wait_ended(company.client, invoice_id, "accepted")
    accepted = event(await events_of(company.client, invoice_id), "invoice.accepted")["metadata"]
    assert accepted["govMessage"].startswith("MC (mancata consegna)")
    assert "cassetto fiscale" in accepted["govMessage"]
    receipt = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert b"NotificaMancataConsegna" in receipt.content


@pytest.mark.parametrize(("scenario", "sends"), recovery_scenarios(200))
async def test_scenarios_recover_with_one_file(
    stack: Stack, company: ItCompany, scenario: str, sends: list[int]
) -> None:
    invoice_id = await file_invoice(company, scenario)
    submitted = await recovered(company.client, invoice_id, scenario, SEND, sends)
    assert submitted.get("reconciled", False) is (scenario == "timeout")
    [received] = await sdi_files(stack, company)
    assert submitted["uploadId"] == str(received["identificativoSdI"])


async def _no_it_polls(db: asyncpg.Pool[Any], timeout: float = 60) -> None:
    """Wait until no IT status check can be in flight: a queued fault must meet the send."""
    deadline = time.monotonic() + timeout
    while await db.fetchval("SELECT count(*) FROM status_polls WHERE country = 'IT'"):
        if time.monotonic() > deadline:
            pytest.fail("IT invoices of earlier tests are still being followed")
        await asyncio.sleep(0.2)


async def test_a_lost_answer_is_reconciled_by_file_name_not_sent_again(
    stack: Stack, db: asyncpg.Pool[Any], company: ItCompany
) -> None:
    await _no_it_polls(db)
    # The next SDI call (the send) takes effect, but its answer is lost: HTTP 504.
    await _sim(
        stack,
        "POST",
        "/_sim/it/faults",
        json={"kind": "lost_response", "path_contains": "/sdi/files"},
    )
    invoice_id = await file_invoice(company)
    await wait_ended(company.client, invoice_id, "accepted")
    submitted = await submission_of(company.client, invoice_id)
    assert submitted["reconciled"] is True
    assert [(a["endpoint"], a["httpStatus"]) for a in submitted["attempts"]] == [
        (SEND, 504),
        (LOOKUP, 200),
    ]
    [received] = await sdi_files(stack, company)
    assert submitted["uploadId"] == str(received["identificativoSdI"])
    assert (await _sim(stack, "GET", "/_sim/it/faults")).json() == {"pending": []}

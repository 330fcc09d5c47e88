"""submitter-ro in the running stack, against the ANAF simulator: each sandbox scenario, the
lost-response fault file the invoice exactly once, and every call shows in the timeline as
`attempts`. (A crash mid-upload: tests/services/test_killed_mid_flight.py.)"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from services.stack.stack import Stack
from tests.services.connections_support import stack_keyring
from tests.services.filing_support import FILED_TIMELINE
from tests.services.submitter_ro.ro_support import (
    RoCompany,
    accepted_invoice,
    event,
    events_of,
    file_invoice,
    filings,
    submission_of,
    wait_ended,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


def _uploads(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in attempts if a["endpoint"] == "POST /upload"]


async def test_a_clean_run_keeps_the_seed_timeline_and_records_its_one_upload(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await accepted_invoice(company, seed_invoice)

    events = await events_of(company.client, invoice_id)
    assert [e["event"] for e in events] == FILED_TIMELINE
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "ANAF e-Factura"
    [attempt] = submitted["attempts"]
    assert attempt["attempt"] == 1
    assert attempt["endpoint"] == "POST /upload"
    assert attempt["httpStatus"] == 200
    assert attempt["outcome"] == "ok"
    assert isinstance(attempt["durationMs"], int)
    accepted = event(events, "invoice.accepted")["metadata"]
    # Followed with the company's message list, then its ZIP downloaded once: no stareMesaj.
    followed = [a["endpoint"] for a in accepted["attempts"]]
    assert set(followed[:-1]) == {"GET /listaMesajePaginatieFactura"}
    assert followed[-1] == "GET /descarcare"

    [filed] = await filings(stack, company.cif)
    assert str(filed["index_incarcare"]) == submitted["uploadId"]


async def test_a_credit_note_is_uploaded_as_cn_and_accepted(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    # ANAF validates against the schema `standard` names: a CreditNote sent as UBL is refused
    # ("Cannot find the declaration of element 'CreditNote'") and would end in `error`.
    credit_note = {
        **seed_invoice,
        "invoiceType": "credit_note",
        "precedingInvoice": {"number": "INV-2025-0001", "issueDate": "2025-08-01"},
    }
    await accepted_invoice(company, credit_note)
    [filed] = await filings(stack, company.cif)
    assert (filed["standard"], filed["stare"]) == ("CN", "ok")


async def test_reject_reaches_rejected_with_the_three_error_fields(
    company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await file_invoice(company, seed_invoice, "reject")
    invoice = await wait_ended(company.client, invoice_id, "rejected")
    assert invoice["errorMessage"].startswith("[BR-RO-101]")  # ANAF's own words
    assert "Bucharest" in invoice["errorTranslated"]
    assert "SECTOR1" in invoice["errorTranslated"]
    assert "/customer/address/city" in invoice["errorFix"]

    rejected = event(await events_of(company.client, invoice_id), "invoice.rejected")
    [error] = rejected["metadata"]["errors"]
    assert error["rule"] == "BR-RO-101"
    assert error["pointer"] == "/customer/address/city"
    receipt = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 404


async def test_transient_errors_are_retried_and_filed_once(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await accepted_invoice(company, seed_invoice, "transient_error")

    submitted = event(await events_of(company.client, invoice_id), "invoice.submitted")
    uploads = _uploads(submitted["metadata"]["attempts"])
    assert [u["httpStatus"] for u in uploads] == [503, 503, 200]
    assert [u["attempt"] for u in submitted["metadata"]["attempts"]] == [1, 2, 3]
    assert len(await filings(stack, company.cif)) == 1


async def test_rate_limited_waits_for_retry_after_and_files_once(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await accepted_invoice(company, seed_invoice, "rate_limited")

    events = await events_of(company.client, invoice_id)
    submitted = event(events, "invoice.submitted")
    assert [u["httpStatus"] for u in _uploads(submitted["metadata"]["attempts"])] == [429, 200]
    # The simulator said Retry-After: 1; the retry came no sooner.
    validated_at = event(events, "invoice.validated")["createdAt"]
    assert _seconds_between(validated_at, submitted["createdAt"]) >= 1.0
    assert len(await filings(stack, company.cif)) == 1


def _seconds_between(earlier: str, later: str) -> float:
    from datetime import datetime  # noqa: PLC0415

    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


async def test_a_lost_upload_answer_is_reconciled_from_the_message_list_not_resent(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await accepted_invoice(company, seed_invoice, "timeout")

    submitted = event(await events_of(company.client, invoice_id), "invoice.submitted")
    metadata = submitted["metadata"]
    assert metadata["reconciled"] is True
    endpoints = [a["endpoint"] for a in metadata["attempts"]]
    assert endpoints[0] == "POST /upload"
    assert metadata["attempts"][0]["outcome"] == "lost_response"
    assert "GET /listaMesajePaginatieFactura" in endpoints
    assert endpoints.count("POST /upload") == 1  # never uploaded again
    [filed] = await filings(stack, company.cif)
    assert str(filed["index_incarcare"]) == metadata["uploadId"]


async def test_the_simulators_lost_response_fault_is_reconciled_too(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        queued = await sim.post("/_sim/anaf/faults", json={"kind": "lost_response"})
        assert queued.status_code == 200, queued.text
    invoice_id = await accepted_invoice(company, seed_invoice)
    metadata = await submission_of(company.client, invoice_id)
    assert metadata["reconciled"] is True
    [filed] = await filings(stack, company.cif)
    assert str(filed["index_incarcare"]) == metadata["uploadId"]


async def test_an_expired_token_is_refreshed_once_and_the_invoice_goes_through(
    stack: Stack, db: asyncpg.Pool[Any], company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    keyring = stack_keyring(stack)
    before = await _access_token(db, keyring, company.connection_id)
    invoice_id = await accepted_invoice(company, seed_invoice, "token_expired")

    submitted = event(await events_of(company.client, invoice_id), "invoice.submitted")
    assert [u["httpStatus"] for u in _uploads(submitted["metadata"]["attempts"])] == [401, 200]
    connection = (await company.client.get(f"/v1/connections/{company.connection_id}")).json()
    assert connection["data"]["status"] == "active"
    assert await _access_token(db, keyring, company.connection_id) != before
    assert len(await filings(stack, company.cif)) == 1


async def _access_token(db: asyncpg.Pool[Any], keyring: Any, connection_id: str) -> str | None:
    from clearway.accounts.connection_secrets import read_secret  # noqa: PLC0415
    from clearway.domain.connections import SecretKind  # noqa: PLC0415

    async with db.acquire() as conn:
        return await read_secret(conn, connection_id, SecretKind.ACCESS_TOKEN, keyring=keyring)


async def test_a_refresh_ANAF_refuses_expires_the_connection_and_errors_the_invoice(  # noqa: N802
    stack: Stack, db: asyncpg.Pool[Any], company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    from clearway.accounts.connection_secrets import read_secret  # noqa: PLC0415
    from clearway.domain.connections import SecretKind  # noqa: PLC0415

    keyring = stack_keyring(stack)
    async with db.acquire() as conn:
        tokens = [
            await read_secret(conn, company.connection_id, kind, keyring=keyring)
            for kind in (SecretKind.ACCESS_TOKEN, SecretKind.REFRESH_TOKEN)
        ]
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        for token in tokens:  # the user revoked Clearway at ANAF, say
            assert (await sim.post("/_sim/anaf/tokens/expire", json={"token": token})).is_success

    invoice_id = await file_invoice(company, seed_invoice)
    invoice = await wait_ended(company.client, invoice_id, "error")
    assert invoice["errorMessage"]
    assert invoice["errorTranslated"]
    assert "POST /v1/connections" in invoice["errorFix"]
    connection = (await company.client.get(f"/v1/connections/{company.connection_id}")).json()
    assert connection["data"]["status"] == "expired"
    assert "refresh" in connection["data"]["lastErrorMessage"]
    assert await filings(stack, company.cif) == []

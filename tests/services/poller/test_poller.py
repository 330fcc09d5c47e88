"""The poller in the running stack: the receipt of an accepted invoice, the deadline, and ANAF's
answers that must not hold a decided invoice. (A restart mid-flight:
tests/services/test_killed_mid_flight.py.)"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from typing import Any

import asyncpg
import pytest

from tests.services.submitter_ro import ro_support as ro

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _poll_row(db: asyncpg.Pool[Any], invoice_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await db.fetchrow("SELECT * FROM status_polls WHERE invoice_id = $1", invoice_id)
        if row is not None:
            return row
        await asyncio.sleep(0.1)
    pytest.fail(f"{invoice_id} was never scheduled for polling")


async def test_the_receipt_is_served_once_accepted_and_not_before(
    db: asyncpg.Pool[Any], company: ro.RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await ro.file_invoice(company, seed_invoice, "slow")  # decided 8 s after upload
    early = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert early.status_code == 404
    assert early.json()["error"]["type"] == "not_found"

    invoice = await ro.wait_ended(company.client, invoice_id, "accepted")
    receipt = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/zip"
    assert f'filename="{invoice["govId"]}.zip"' in receipt.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(receipt.content)) as archive:
        names = archive.namelist()
        upload_id = (await ro.submission_of(company.client, invoice_id))["uploadId"]
        assert sorted(names) == sorted([f"{upload_id}.xml", f"semnatura_{upload_id}.xml"])
        document = await db.fetchval("SELECT xml FROM documents WHERE invoice_id = $1", invoice_id)
        assert archive.read(f"{upload_id}.xml") == document


async def test_no_decision_by_the_deadline_is_an_error_that_says_not_to_resend(
    db: asyncpg.Pool[Any], company: ro.RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await ro.file_invoice(company, seed_invoice, "slow")
    await _poll_row(db, invoice_id)
    # As if 72 hours had passed without ANAF deciding.
    await db.execute(
        "UPDATE status_polls SET deadline_at = now(), next_poll_at = now() WHERE invoice_id = $1",
        invoice_id,
    )
    invoice = await ro.wait_ended(company.client, invoice_id, "error")
    upload_id = (await ro.submission_of(company.client, invoice_id))["uploadId"]
    assert upload_id in invoice["errorMessage"]
    assert "Do not send the invoice again" in invoice["errorFix"]
    error = await ro.metadata_of(company.client, invoice_id, "invoice.error")
    assert error["reason"] == "decision_deadline"
    assert error["attempts"]
    assert await db.fetchval("SELECT 1 FROM status_polls WHERE invoice_id = $1", invoice_id) is None


# --- ANAF's answers that must not hold a decided invoice ----------------------------------------


async def test_a_throttled_download_spends_no_download_and_no_status_check(
    db: asyncpg.Pool[Any], company: ro.RoCompany, seed_invoice: dict[str, Any]
) -> None:
    # ANAF decides `ok`, then throttles the download 11 times (429, Retry-After: 1): one more
    # than a message's 10 downloads a day, so counting 429s would park the invoice till midnight.
    invoice_id = await ro.file_invoice(company, seed_invoice, "download_throttled")
    invoice = await ro.wait_ended(company.client, invoice_id, "accepted", timeout=120)

    attempts = (await ro.metadata_of(company.client, invoice_id, "invoice.accepted"))["attempts"]
    endpoints = [a["endpoint"] for a in attempts]
    first_download = endpoints.index("GET /descarcare")
    # Once the decision was known, only the download was tried again.
    assert "GET /stareMesaj" not in endpoints[first_download:]
    downloads = [a["httpStatus"] for a in attempts if a["endpoint"] == "GET /descarcare"]
    # Each retry waited for its Retry-After: the simulator throttles a retry that comes back
    # sooner once more, so a client that did not wait would show more than 11.
    assert downloads == [429] * 11 + [200]
    counted = await db.fetchval(
        "SELECT sum(count) FROM rate_counters WHERE key = $1", f"anaf:descarcare:{invoice['govId']}"
    )
    assert counted == 1  # only the download ANAF answered


async def test_a_nok_with_its_errors_inline_is_rejected_once_the_list_stays_silent(
    db: asyncpg.Pool[Any], company: ro.RoCompany, seed_invoice: dict[str, Any]
) -> None:
    # ANAF lists no message for it; stareMesaj, asked once the list stayed silent, says `nok`
    # with the errors inline and no id_descarcare: final, not pending.
    invoice_id = await ro.file_invoice(company, seed_invoice, "rejected_inline")
    invoice = await ro.wait_ended(company.client, invoice_id, "rejected", timeout=60)
    assert invoice["errorMessage"].startswith("[BR-RO-101]")  # ANAF's own words
    assert "Bucharest" in invoice["errorTranslated"]
    assert "/customer/address/city" in invoice["errorFix"]
    rejected = await ro.metadata_of(company.client, invoice_id, "invoice.rejected")
    [error] = rejected["errors"]
    assert (error["rule"], error["pointer"]) == ("BR-RO-101", "/customer/address/city")
    endpoints = [a["endpoint"] for a in rejected["attempts"]]
    assert endpoints.count("GET /descarcare") == 0
    assert endpoints.count("GET /stareMesaj") == 1
    assert (await company.client.get(f"/v1/invoices/{invoice_id}/receipt")).status_code == 404
    assert await db.fetchval("SELECT 1 FROM status_polls WHERE invoice_id = $1", invoice_id) is None

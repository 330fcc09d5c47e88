"""The poller in the running stack: the receipt of an accepted invoice, the deadline, a restart
mid-flight; and its cadence against ANAF's daily quota."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
import zipfile
from typing import Any

import asyncpg
import pytest
from clearway.pipeline.polling import Cadence

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.submitter_ro.ro_support import (
    RoCompany,
    event,
    events_of,
    file_invoice,
    filings,
    ro_company,
    wait_final,
    wait_status,
)


@pytest.fixture
async def company(make_account: MakeAccount) -> RoCompany:
    return await ro_company(make_account)


async def _poll_row(db: asyncpg.Pool[Any], invoice_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await db.fetchrow("SELECT * FROM status_polls WHERE invoice_id = $1", invoice_id)
        if row is not None:
            return row
        await asyncio.sleep(0.1)
    pytest.fail(f"{invoice_id} was never scheduled for polling")


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
async def test_the_receipt_is_served_once_accepted_and_not_before(
    db: asyncpg.Pool[Any], company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await file_invoice(company, seed_invoice, "slow")  # decided 8 s after upload
    early = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert early.status_code == 404
    assert early.json()["error"]["type"] == "not_found"

    invoice = await wait_final(company.client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    receipt = await company.client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/zip"
    assert f'filename="{invoice["govId"]}.zip"' in receipt.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(receipt.content)) as archive:
        names = archive.namelist()
        upload_id = event(await events_of(company.client, invoice_id), "invoice.submitted")[
            "metadata"
        ]["uploadId"]
        assert sorted(names) == sorted([f"{upload_id}.xml", f"semnatura_{upload_id}.xml"])
        document = await db.fetchval("SELECT xml FROM documents WHERE invoice_id = $1", invoice_id)
        assert archive.read(f"{upload_id}.xml") == document


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
async def test_no_decision_by_the_deadline_is_an_error_that_says_not_to_resend(
    db: asyncpg.Pool[Any], company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoice_id = await file_invoice(company, seed_invoice, "slow")
    await _poll_row(db, invoice_id)
    # As if 72 hours had passed without ANAF deciding.
    await db.execute(
        "UPDATE status_polls SET deadline_at = now(), next_poll_at = now() WHERE invoice_id = $1",
        invoice_id,
    )
    invoice = await wait_final(company.client, invoice_id)
    assert invoice["status"] == "error", invoice
    upload_id = event(await events_of(company.client, invoice_id), "invoice.submitted")["metadata"][
        "uploadId"
    ]
    assert upload_id in invoice["errorMessage"]
    assert "Do not send the invoice again" in invoice["errorFix"]
    error = event(await events_of(company.client, invoice_id), "invoice.error")["metadata"]
    assert error["reason"] == "decision_deadline"
    assert error["attempts"]
    assert await db.fetchval("SELECT 1 FROM status_polls WHERE invoice_id = $1", invoice_id) is None


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_poller_killed_mid_flight_loses_nothing(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    invoices = [await file_invoice(company, seed_invoice, "slow") for _ in range(3)]
    for invoice_id in invoices:
        await wait_status(company.client, invoice_id, {"submitted", "accepted"})
    await stack.restart("poller")  # kill -9 while the three are being followed

    for invoice_id in invoices:
        invoice = await wait_final(company.client, invoice_id, timeout=120)
        assert invoice["status"] == "accepted", invoice
    assert len(await filings(stack, company.cif)) == 3


# --- the cadence, without the stack ---------------------------------------------------------


RO = Cadence(
    first=dt.timedelta(seconds=1),
    cap=dt.timedelta(seconds=60),
    slow_after=dt.timedelta(minutes=30),
    slow_every=dt.timedelta(minutes=25),
    deadline=dt.timedelta(hours=72),
)


def test_the_cadence_doubles_to_its_cap_then_slows_down() -> None:
    hour = dt.timedelta(hours=1)
    assert [RO.delay(n, dt.timedelta(0)).total_seconds() for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]
    assert RO.delay(50, hour) == dt.timedelta(minutes=25)


def test_a_whole_day_of_ro_polling_stays_within_anafs_100_status_checks() -> None:
    age, checks = dt.timedelta(0), 0
    while age < dt.timedelta(days=1):
        checks += 1
        age += RO.delay(checks, age)
    assert checks <= 100


# --- ANAF's answers that must not hold a decided invoice ----------------------------------------


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_throttled_download_spends_no_download_and_no_status_check(
    db: asyncpg.Pool[Any], company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    # ANAF decides `ok`, then throttles the download 11 times (429, Retry-After: 1): one more
    # than a message's 10 downloads a day, so counting 429s would park the invoice till midnight.
    invoice_id = await file_invoice(company, seed_invoice, "download_throttled")
    invoice = await wait_final(company.client, invoice_id, timeout=120)
    assert invoice["status"] == "accepted", invoice

    attempts = event(await events_of(company.client, invoice_id), "invoice.accepted")["metadata"][
        "attempts"
    ]
    endpoints = [a["endpoint"] for a in attempts]
    first_download = endpoints.index("GET /descarcare")
    # Once stareMesaj said `ok`, only the download was tried again.
    assert "GET /stareMesaj" not in endpoints[first_download:]
    downloads = [a["httpStatus"] for a in attempts if a["endpoint"] == "GET /descarcare"]
    # Each retry waited for its Retry-After: the simulator throttles a retry that comes back
    # sooner once more, so a client that did not wait would show more than 11.
    assert downloads == [429] * 11 + [200]
    counted = await db.fetchval(
        "SELECT sum(count) FROM rate_counters WHERE key = $1", f"anaf:descarcare:{invoice['govId']}"
    )
    assert counted == 1  # only the download ANAF answered


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_nok_with_its_errors_inline_is_rejected_at_once(
    db: asyncpg.Pool[Any], company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    # stareMesaj says `nok` with the errors inline and no id_descarcare: final, not pending.
    invoice_id = await file_invoice(company, seed_invoice, "rejected_inline")
    invoice = await wait_final(company.client, invoice_id, timeout=60)
    assert invoice["status"] == "rejected", invoice
    assert invoice["errorMessage"].startswith("[BR-RO-101]")  # ANAF's own words
    assert "Bucharest" in invoice["errorTranslated"]
    assert "/customer/address/city" in invoice["errorFix"]
    rejected = event(await events_of(company.client, invoice_id), "invoice.rejected")["metadata"]
    [error] = rejected["errors"]
    assert (error["rule"], error["pointer"]) == ("BR-RO-101", "/customer/address/city")
    assert [a["endpoint"] for a in rejected["attempts"]].count("GET /descarcare") == 0
    assert (await company.client.get(f"/v1/invoices/{invoice_id}/receipt")).status_code == 404
    assert await db.fetchval("SELECT 1 FROM status_polls WHERE invoice_id = $1", invoice_id) is None

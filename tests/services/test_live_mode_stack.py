"""Live mode against the running stack, whose live governments are all unconfigured (the
conftest blanks every live setting): a live key's connection is refused naming what the
operator must set, and a live invoice ends in `error` saying the same, with nothing sent to the
simulator (which stands only for the sandbox)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_account, create_api_key
from clearway.countries.ro import cui_check_digit
from clearway.db import connect

from services.stack.stack import Stack
from tests.services.connections_support import new_company
from tests.services.submitter_ro.ro_support import events_of, filings, wait_final

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

ANAF_CREDENTIALS = ("ANAF_LIVE_CLIENT_ID", "ANAF_LIVE_CLIENT_SECRET")


def _valid_cif() -> str:
    """A CUI with a right check digit (live keys refuse wrong ones), its own in the simulator."""
    body = str(secrets.randbelow(9_000_000) + 1_000_000)
    return body + cui_check_digit(body)


@pytest_asyncio.fixture
async def live_client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A new account's sk_live_ key."""
    conn = await connect(stack.database.url)
    try:
        account_id = await create_account(conn, f"live account {secrets.token_hex(3)}")
        key = await create_api_key(conn, account_id, "live")
    finally:
        await conn.close()
    assert key.startswith("sk_live_")
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("country", "missing"),
    [
        ("RO", ANAF_CREDENTIALS),
        ("PL", ("KSEF_LIVE_API_URL",)),
        ("BE", ("PEPPOL_LIVE_AP_URL", "PEPPOL_LIVE_AP_API_KEY")),
        ("FR", ("FR_PA_LIVE_URL", "FR_PA_LIVE_API_KEY")),
    ],
)
async def test_a_live_connection_to_an_unconfigured_government_is_refused(
    live_client: httpx.AsyncClient, country: str, missing: tuple[str, ...]
) -> None:
    company_id = await new_company(live_client, country)
    refused = await live_client.post(
        "/v1/connections", json={"companyId": company_id, "countryCode": country}
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["type"] == "validation_error"
    assert error["param"] == "/countryCode"
    assert error["errors"][0]["code"] == "live_not_configured"
    for variable in missing:
        assert variable in error["message"]
    # Nothing was made: no connection, so nothing pending against any system.
    assert (await live_client.get("/v1/connections")).json()["data"] == []


async def test_a_live_invoice_for_an_unconfigured_government_errors_and_sends_nothing(
    stack: Stack, live_client: httpx.AsyncClient, seed_invoice: dict[str, Any]
) -> None:
    cif = _valid_cif()
    await new_company(live_client, "RO", vatNumber=f"RO{cif}")
    body = {
        **seed_invoice,
        "externalId": f"live-{secrets.token_hex(4)}",
        "supplier": {**seed_invoice["supplier"], "vatNumber": f"RO{cif}"},
        "customer": {**seed_invoice["customer"], "vatNumber": f"RO{_valid_cif()}"},
    }
    checked = await live_client.post("/v1/invoices/validate", json=body)
    assert checked.json()["valid"] is True, checked.text  # so that it reaches submission
    created = await live_client.post("/v1/invoices", json=body)
    assert created.status_code == 201, created.text
    invoice_id = created.json()["data"]["id"]

    invoice = await wait_final(live_client, invoice_id)
    assert invoice["status"] == "error", invoice
    for variable in ANAF_CREDENTIALS:
        assert variable in invoice["errorMessage"]
        assert variable in invoice["errorFix"]
    assert "sandbox" in invoice["errorTranslated"]
    events = await events_of(live_client, invoice_id)
    assert [e["event"] for e in events][-1] == "invoice.error"
    metadata = events[-1]["metadata"]
    assert metadata["stage"] == "submission"
    assert metadata["reason"] == "live_not_configured"
    assert metadata["missingSettings"] == list(ANAF_CREDENTIALS)
    assert "invoice.submitted" not in {e["event"] for e in events}
    # The simulator (the sandbox's ANAF) never heard of it.
    assert await filings(stack, cif) == []

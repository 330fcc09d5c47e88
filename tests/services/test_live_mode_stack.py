"""Live mode against the running stack, whose live governments are all unconfigured (the
conftest blanks every live setting): a live key's connection is refused naming what the
operator must set, and a live invoice ends in `error` saying the same, with nothing sent to the
simulator (which stands only for the sandbox). And each key sees its own mode's invoices and
connections only, as Stripe keeps test and live data apart."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_account, create_api_key
from clearway.db import connect
from clearway.governments.ro.identifiers import cui_check_digit

from services.stack.stack import Stack
from tests.services.connections_support import new_company, start_connection
from tests.services.submitter_ro.ro_support import events_of, filings, wait_final

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

ANAF_CREDENTIALS = ("ANAF_LIVE_CLIENT_ID", "ANAF_LIVE_CLIENT_SECRET")


def _valid_cif() -> str:
    """A CUI with a right check digit (live keys refuse wrong ones), its own in the simulator."""
    body = str(secrets.randbelow(9_000_000) + 1_000_000)
    return body + cui_check_digit(body)


@pytest_asyncio.fixture
async def keys(stack: Stack) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """A new account's sk_test_ and sk_live_ keys."""
    conn = await connect(stack.database.url)
    try:
        account_id = await create_account(conn, f"live account {secrets.token_hex(3)}")
        test_key = await create_api_key(conn, account_id, "test")
        live_key = await create_api_key(conn, account_id, "live")
    finally:
        await conn.close()
    assert test_key.startswith("sk_test_")
    assert live_key.startswith("sk_live_")
    async with (
        httpx.AsyncClient(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {test_key}"}, timeout=30
        ) as test_client,
        httpx.AsyncClient(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {live_key}"}, timeout=30
        ) as live_client,
    ):
        yield test_client, live_client


@pytest.fixture
def live_client(keys: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> httpx.AsyncClient:
    return keys[1]


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


async def test_each_key_sees_only_the_invoices_and_connections_of_its_mode(
    keys: tuple[httpx.AsyncClient, httpx.AsyncClient], seed_invoice: dict[str, Any]
) -> None:
    test_client, live_client = keys
    cif = _valid_cif()
    # Companies serve both modes.
    ro_company = await new_company(test_client, "RO", vatNumber=f"RO{cif}")
    # A sandbox RO connection, so that the sandbox invoice is taken (the live one is: no live
    # ANAF is configured, and the submitter says so); deleted once it is, so the sandbox key
    # then holds the FR connection alone.
    ro_connection = await start_connection(test_client, ro_company, "RO")
    made: dict[bool, str] = {}
    for livemode, client in ((False, test_client), (True, live_client)):
        body = {
            **seed_invoice,
            "externalId": f"mode-{secrets.token_hex(4)}",
            "supplier": {**seed_invoice["supplier"], "vatNumber": f"RO{cif}"},
            "customer": {**seed_invoice["customer"], "vatNumber": f"RO{_valid_cif()}"},
        }
        created = await client.post("/v1/invoices", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["data"]["livemode"] is livemode
        made[livemode] = created.json()["data"]["id"]
    assert (await test_client.delete(f"/v1/connections/{ro_connection['id']}")).status_code == 200
    fr_company = await new_company(test_client, "FR")
    sandbox_connection = await start_connection(test_client, fr_company, "FR")
    assert sandbox_connection["livemode"] is False

    for livemode, client in ((False, test_client), (True, live_client)):
        # Converted, then each ends in `error` at submission (no sandbox connection; no live
        # ANAF configured): each has its document by then.
        assert (await wait_final(client, made[livemode]))["status"] == "error"
        assert (await client.get(f"/v1/invoices/{made[livemode]}/document")).status_code == 200
    for livemode, client in ((False, test_client), (True, live_client)):
        own, other = made[livemode], made[not livemode]
        listed = (await client.get("/v1/invoices")).json()["data"]
        assert [(i["id"], i["livemode"]) for i in listed] == [(own, livemode)]
        assert (await client.get(f"/v1/invoices/{own}")).status_code == 200
        for path in (
            f"/v1/invoices/{other}",
            f"/v1/invoices/{other}/events",
            f"/v1/invoices/{other}/document",
        ):
            hidden = await client.get(path)
            assert hidden.status_code == 404, (path, hidden.text)
            assert hidden.json()["error"]["type"] == "not_found"
    assert [c["id"] for c in (await test_client.get("/v1/connections")).json()["data"]] == [
        sandbox_connection["id"]
    ]
    assert (await live_client.get("/v1/connections")).json()["data"] == []
    hidden = await live_client.get(f"/v1/connections/{sandbox_connection['id']}")
    assert hidden.status_code == 404, hidden.text
    deleted = await live_client.delete(f"/v1/connections/{sandbox_connection['id']}")
    assert deleted.status_code == 404, deleted.text  # nor can the other mode's key delete it
    kept = await test_client.get(f"/v1/connections/{sandbox_connection['id']}")
    assert kept.json()["data"]["status"] == "active"


async def test_an_idempotency_key_used_in_the_sandbox_is_new_to_the_live_key(
    keys: tuple[httpx.AsyncClient, httpx.AsyncClient], seed_invoice: dict[str, Any]
) -> None:
    """A platform that tried its order numbers as keys in the sandbox, then goes live with the
    same ones: its live invoice is made (and filed), not answered with the sandbox's."""
    test_client, live_client = keys
    cif = _valid_cif()
    company_id = await new_company(test_client, "RO", vatNumber=f"RO{cif}")
    await start_connection(test_client, company_id, "RO")  # so the sandbox invoice is taken
    body = {
        **seed_invoice,
        "externalId": f"order-{secrets.token_hex(4)}",
        "supplier": {**seed_invoice["supplier"], "vatNumber": f"RO{cif}"},
    }
    headers = {"X-Idempotency-Key": f"{body['externalId']}-inv-001"}
    made = {}
    for livemode, client in ((False, test_client), (True, live_client)):
        created = await client.post("/v1/invoices", json=body, headers=headers)
        assert created.status_code == 201, created.text
        assert "Idempotent-Replayed" not in created.headers
        assert created.json()["data"]["livemode"] is livemode
        made[livemode] = created.json()["data"]["id"]
        again = await client.post("/v1/invoices", json=body, headers=headers)
        assert again.headers["Idempotent-Replayed"] == "true"  # within its own mode, a replay
        assert again.json()["data"]["id"] == made[livemode]
    assert made[False] != made[True]

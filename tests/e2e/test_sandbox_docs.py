"""docs/sandbox.md's invoice for each country, run as written (its shell blocks, with
$CLEARWAY_URL and $CLEARWAY_KEY set to the test stack's), each to `accepted` with the dev
account the stack seeded; its purchase invoice for each receiving country, delivered by the
simulator as written and then received by the dev company; and the companies it names are the
ones seeded."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import asyncpg
import httpx
import pytest
from clearway.governments.pl.client import metadata_bucket

from services.stack.sandbox_seed import SANDBOX_COMPANIES, connect_sandbox_countries
from services.stack.stack import DEV_COMPANY, Stack
from tests.e2e.sandbox_doc import (
    PURCHASE_CONTROLS,
    delivered_government_id,
    purchase_examples,
    received_with,
    run_shell,
    section,
    shell_blocks,
)
from tests.services.receiver.receiving_support import until_anaf_lists_it

# `stack` comes with the `stack` fixture (tests/conftest.py): the tests here that start no
# stack run beside the whole-stack ones in `make test`.
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

COUNTRIES = ("RO", "IT", "PL", "BE", "DE", "FR")


def _examples() -> dict[str, str]:
    """The shell blocks of "One invoice per country", by the country each one files in."""
    blocks = shell_blocks("One invoice per country")
    by_country = {}
    for block in blocks:
        country = re.search(r'"country": "([A-Z]{2})"', block)
        assert country, block
        by_country[country[1]] = block
    assert len(blocks) == len(by_country)  # one block per country
    return by_country


def test_the_doc_has_one_request_per_country() -> None:
    assert sorted(_examples()) == sorted(COUNTRIES)


async def _run(script: str, stack: Stack) -> Any:
    output = await run_shell(
        script, api_url=stack.api_url, api_key=stack.api_key, govsim_url=stack.govsim_url
    )
    return json.loads(output)


@pytest.mark.parametrize("country", COUNTRIES)
async def test_each_countrys_example_runs_verbatim_to_accepted(
    stack: Stack, api: httpx.AsyncClient, country: str
) -> None:
    answer = await _run(_examples()[country], stack)
    assert "data" in answer, answer
    created = answer["data"]
    assert created["status"] == "created", created
    assert created["country"] == country
    deadline = time.monotonic() + 120
    while True:
        invoice = (await api.get(f"/v1/invoices/{created['id']}")).json()["data"]
        if invoice["status"] in {"accepted", "rejected", "error"} or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert invoice["status"] == "accepted", invoice
    company = (await api.get(f"/v1/companies/{invoice['companyId']}")).json()["data"]
    seeded = DEV_COMPANY.vat_number if country == "RO" else SANDBOX_COMPANIES[country]["vatNumber"]
    assert company["vatNumber"] == seeded


async def test_the_dev_account_has_an_active_connection_per_country(
    api: httpx.AsyncClient,
) -> None:
    connections = (await api.get("/v1/connections")).json()["data"]
    active = {c["countryCode"] for c in connections if c["status"] == "active"}
    assert active >= set(COUNTRIES), connections
    companies = {
        (c["country"], c["vatNumber"]): c for c in (await api.get("/v1/companies")).json()["data"]
    }
    table = section("The dev account")
    seeded = [DEV_COMPANY.model_dump(), *SANDBOX_COMPANIES.values()]
    for wanted in seeded:
        company = companies[wanted["country"], wanted["vatNumber"]]
        row = f"| {company['country']} | {company['legalName']} | {company['vatNumber']} |"
        assert row in table, row


async def test_seeding_again_as_each_make_run_does_makes_nothing_twice(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    async def state() -> tuple[list[str], dict[str, tuple[str, str]]]:
        companies = sorted(c["id"] for c in (await api.get("/v1/companies")).json()["data"])
        connections = {
            c["countryCode"]: (c["id"], c["status"])
            for c in (await api.get("/v1/connections")).json()["data"]
            if c["countryCode"] in SANDBOX_COMPANIES
        }
        return companies, connections

    before = await state()
    await connect_sandbox_countries(stack.api_url, stack.api_key, stack.govsim_url)
    after = await state()
    assert after == before
    assert {status for _, status in after[1].values()} == {"active"}


def test_the_doc_has_one_purchase_invoice_per_receiving_country() -> None:
    assert sorted(purchase_examples()) == sorted(PURCHASE_CONTROLS)


async def _look_now(db: asyncpg.Pool[Any], api: httpx.AsyncClient, country: str) -> None:
    """The receiver's next look at the dev company's inbox, now: the test stack looks every 30
    s, as production does (`make run` every 2: tests/services/stack/test_run.py); and for PL,
    KSeF's query allowance, which the session's looks at that NIP have spent, whole again."""
    vat = DEV_COMPANY.vat_number if country == "RO" else SANDBOX_COMPANIES[country]["vatNumber"]
    companies = (await api.get("/v1/companies", params={"limit": 100})).json()["data"]
    (company_id,) = [c["id"] for c in companies if (c["country"], c["vatNumber"]) == (country, vat)]
    connections = (await api.get("/v1/connections", params={"limit": 100})).json()["data"]
    receiving = [
        c["id"]
        for c in connections
        if c["companyId"] == company_id and c["countryCode"] == country and c["isReceiver"]
    ]
    assert receiving, connections
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE inbox_cursors SET next_fetch_at = now() WHERE connection_id = ANY($1::text[])",
            receiving,
        )
        if country == "PL":
            nip = vat.removeprefix("PL")
            await conn.execute("DELETE FROM rate_buckets WHERE key = $1", metadata_bucket(nip).key)


@pytest.mark.parametrize("country", sorted(PURCHASE_CONTROLS))
async def test_each_purchase_example_is_received_by_the_dev_company(
    stack: Stack, db: asyncpg.Pool[Any], api: httpx.AsyncClient, country: str
) -> None:
    output = await run_shell(
        purchase_examples()[country],
        api_url=stack.api_url,
        api_key=stack.api_key,
        govsim_url=stack.govsim_url,
    )
    government_id = delivered_government_id(country, output)
    if country == "RO":
        await until_anaf_lists_it()
    await _look_now(db, api, country)
    received = await received_with(api, government_id, timeout=90)
    assert received is not None, f"{country} {government_id} was not received"
    assert received["country"] == country
    company = (await api.get(f"/v1/companies/{received['companyId']}")).json()["data"]
    seeded = DEV_COMPANY.vat_number if country == "RO" else SANDBOX_COMPANIES[country]["vatNumber"]
    assert company["vatNumber"] == seeded

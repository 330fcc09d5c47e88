"""docs/sandbox.md's invoice for each country, run as written (its shell blocks, with
$CLEARWAY_URL and $CLEARWAY_KEY set to the test stack's), each to `accepted` with the dev
account the stack seeded; and the companies it names are the ones seeded."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.stack.sandbox_seed import SANDBOX_COMPANIES, connect_sandbox_countries
from services.stack.stack import DEV_COMPANY, Stack

# `stack` comes with the `stack` fixture (tests/conftest.py): the tests here that start no
# stack run beside the whole-stack ones in `make test`.
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SANDBOX_DOC = Path(__file__).parents[2] / "docs" / "sandbox.md"
COUNTRIES = ("RO", "IT", "PL", "BE", "DE", "FR")


def _examples() -> dict[str, str]:
    """The shell blocks of "One invoice per country", by the country each one files in."""
    section = SANDBOX_DOC.read_text().split("## One invoice per country", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
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
    shell = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        script,
        env={**os.environ, "CLEARWAY_URL": stack.api_url, "CLEARWAY_KEY": stack.api_key},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(shell.communicate(), timeout=60)
    assert shell.returncode == 0, out
    return json.loads(out)


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
    table = SANDBOX_DOC.read_text().split("## The dev account", 1)[1].split("\n## ", 1)[0]
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

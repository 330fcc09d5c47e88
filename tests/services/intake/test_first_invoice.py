"""A new account's first steps: an invoice nothing could file is refused at POST time (REST and
the Kafka intake alike) saying how to fix it, and creating a company twice answers the first."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from clearway.messaging.topics import INVOICE_EVENTS, INVOICES_INTAKE

from services.stack.stack import Stack
from tests.conftest import MakeAccount, error_of, new_api_key
from tests.libs.validation.bodies import clean_body
from tests.services.connections_support import new_company, start_connection
from tests.services.kafka_support import produce, read_until

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


def _body(country: str) -> dict[str, Any]:
    return {**clean_body(country), "externalId": f"first-{secrets.token_hex(4)}"}


async def _nothing_created(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/invoices")).json()["data"] == []


async def test_an_invoice_without_a_company_is_refused_naming_company_id(
    client: httpx.AsyncClient,
) -> None:
    error = error_of(await client.post("/v1/invoices", json=_body("FR")), 400)
    assert error["type"] == "validation_error"
    assert error["param"] == "/companyId"
    assert "no company in FR" in error["message"]
    assert "POST /v1/companies" in error["message"]
    assert "POST /v1/connections" in error["message"]
    await _nothing_created(client)


async def test_an_invoice_for_a_company_without_a_connection_is_refused_naming_country(
    client: httpx.AsyncClient,
) -> None:
    company_id = await new_company(client, "FR")
    error = error_of(await client.post("/v1/invoices", json=_body("FR")), 400)
    assert error["param"] == "/country"
    assert f"Company {company_id} has no sandbox FR connection" in error["message"]
    assert f'"companyId": "{company_id}"' in error["message"]
    await _nothing_created(client)

    # The fix the message gives: connect it. Then the same body is taken.
    connection = await start_connection(client, company_id, "FR")
    assert connection["status"] == "active", connection
    created = await client.post("/v1/invoices", json=_body("FR"))
    assert created.status_code == 201, created.text
    assert created.json()["data"]["companyId"] == company_id


async def test_the_kafka_intake_refuses_it_with_the_same_error(
    stack: Stack, make_account: MakeAccount
) -> None:
    account_id, client = await make_account()
    key = await new_api_key(stack, account_id, "test")
    body = _body("FR")
    rest = (await client.post("/v1/invoices", json=body)).json()["error"]

    auth = [("authorization", f"Bearer {key}".encode())]
    message = (body["externalId"], json.dumps(body).encode(), auth)
    await produce(stack.kafka_bootstrap, INVOICES_INTAKE, [message])
    answers = await read_until(
        stack.kafka_bootstrap, INVOICE_EVENTS, {body["externalId"]}, "externalId"
    )
    [answer] = answers[body["externalId"]]
    assert answer["event"] == "invoice.error"
    assert answer["metadata"]["stage"] == "intake"
    assert answer["metadata"]["error"] == rest
    assert rest["param"] == "/companyId"
    await _nothing_created(client)


async def test_creating_the_same_company_twice_answers_the_first(
    make_account: MakeAccount,
) -> None:
    _, client = await make_account()
    company = {
        "legalName": "Fournisseur SAS",
        "vatNumber": "FR40303265045",
        "country": "FR",
    }
    first = await client.post("/v1/companies", json=company)
    assert first.status_code == 201, first.text
    # The same VAT number (spaced, lower case) and country: the existing company, unchanged.
    again = await client.post(
        "/v1/companies",
        json={**company, "vatNumber": "fr 40 303265045", "legalName": "Another name"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["data"] == first.json()["data"]
    assert [c["id"] for c in (await client.get("/v1/companies")).json()["data"]] == [
        first.json()["data"]["id"]
    ]
    # So an invoice for that supplier is not ambiguous.
    await start_connection(client, first.json()["data"]["id"], "FR")
    created = await client.post("/v1/invoices", json=_body("FR"))
    assert created.status_code == 201, created.text
    assert created.json()["data"]["companyId"] == first.json()["data"]["id"]

    # Another account's company with the same number is its own.
    _, other = await make_account()
    assert (await other.post("/v1/companies", json=company)).status_code == 201
    # A deleted company is not answered: a new one is made.
    await client.delete(f"/v1/companies/{first.json()['data']['id']}")
    remade = await client.post("/v1/companies", json=company)
    assert remade.status_code == 201, remade.text
    assert remade.json()["data"]["id"] != first.json()["data"]["id"]


async def test_the_openapi_document_describes_the_existing_company_answer(
    api: httpx.AsyncClient,
) -> None:
    document = (await api.get("/openapi.json")).json()
    responses = document["paths"]["/v1/companies"]["post"]["responses"]
    assert set(responses) >= {"200", "201"}
    for status in ("200", "201"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == responses["201"]["content"]["application/json"]["schema"]
    assert "already exists" in responses["200"]["description"]

"""/v1/companies and the company an invoice is filed under."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import MakeAccount
from tests.services.connections_support import start_connection

# Only intake answers here: the API-only stack serves (make_api_account), beside the
# whole-stack tests in `make test`.
pytestmark = [pytest.mark.postgres]

COMPANY = {
    "legalName": "TechVision SRL",
    "vatNumber": "RO12345678",
    "country": "RO",
    "tradeRegister": "J40/1234/2020",
    "address": {
        "street": "Strada Exemplu 42",
        "city": "Bucharest",
        "postalCode": "010101",
        "country": "RO",
    },
    "peppolId": None,
}


async def test_create_get_list_delete(make_api_account: MakeAccount) -> None:
    _, client = await make_api_account()
    created = await client.post("/v1/companies", json=COMPANY)
    assert created.status_code == 201, created.text
    company = created.json()["data"]
    assert company["id"].startswith("comp_")
    assert company["legalName"] == "TechVision SRL"
    assert company["tradeRegister"] == "J40/1234/2020"
    assert company["address"]["postalCode"] == "010101"

    assert (await client.get(f"/v1/companies/{company['id']}")).json()["data"] == company
    assert [c["id"] for c in (await client.get("/v1/companies")).json()["data"]] == [company["id"]]

    deleted = await client.delete(f"/v1/companies/{company['id']}")
    assert deleted.json() == {"data": {"id": company["id"], "deleted": True}}
    assert (await client.get(f"/v1/companies/{company['id']}")).status_code == 404
    assert (await client.get("/v1/companies")).json()["data"] == []


async def test_bad_company_names_every_field(make_api_account: MakeAccount) -> None:
    _, client = await make_api_account()
    response = await client.post("/v1/companies", json={"legalName": "", "country": "XX"})
    assert response.status_code == 400
    params = {e["param"] for e in response.json()["error"]["errors"]}
    assert params == {"/legalName", "/vatNumber", "/country"}


async def test_invoice_is_filed_under_the_supplier_company(
    make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await make_api_account()
    other = await client.post(
        "/v1/companies", json={**COMPANY, "vatNumber": "RO18547290", "legalName": "Other SRL"}
    )
    ours = await client.post("/v1/companies", json=COMPANY)
    await start_connection(client, ours.json()["data"]["id"], "RO")  # so the invoice is taken
    invoice = (await client.post("/v1/invoices", json=seed_invoice)).json()["data"]
    assert invoice["companyId"] == ours.json()["data"]["id"] != other.json()["data"]["id"]

    expanded = await client.get(f"/v1/invoices/{invoice['id']}", params={"expand": "company"})
    assert expanded.json()["data"]["company"]["vatNumber"] == "RO12345678"


async def test_ambiguous_company_is_a_400_naming_company_id(
    make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await make_api_account()
    for vat in ("RO18547290", "RO14399840"):
        await client.post("/v1/companies", json={**COMPANY, "vatNumber": vat})
    response = await client.post("/v1/invoices", json=seed_invoice)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "/companyId"

    body = copy.deepcopy(seed_invoice)
    companies = (await client.get("/v1/companies")).json()["data"]
    body["companyId"] = companies[0]["id"]
    await start_connection(client, companies[0]["id"], "RO")  # so the invoice is taken
    assert (await client.post("/v1/invoices", json=body)).status_code == 201


async def test_another_accounts_company_is_not_found(
    make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, alice = await make_api_account()
    _, bob = await make_api_account()
    company = (await alice.post("/v1/companies", json=COMPANY)).json()["data"]
    assert (await bob.get(f"/v1/companies/{company['id']}")).status_code == 404
    assert (await bob.delete(f"/v1/companies/{company['id']}")).status_code == 404
    response = await bob.post("/v1/invoices", json={**seed_invoice, "companyId": company["id"]})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "type": "not_found",
        "message": f"No company {company['id']}.",
        "param": "/companyId",
        "errors": [
            {"param": "/companyId", "message": f"No company {company['id']}.", "code": "not_found"}
        ],
    }

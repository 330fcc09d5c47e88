"""POST /v1/invoices/validate gives the whole pipeline's verdict: the rules, then the converter's
own conformance gate on the rendered document, each failure with a pointer and a fix."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import MakeAccount
from tests.libs.validation.bodies import clean_body

# Only intake answers here: the API-only stack serves (make_api_account), beside the
# whole-stack tests in `make test`.
pytestmark = [pytest.mark.postgres]


async def test_validate_reports_what_only_the_gate_refuses(make_api_account: MakeAccount) -> None:
    _, client = await make_api_account()
    body = clean_body("IT")
    assert (await client.post("/v1/invoices/validate", json=body)).json()["valid"] is True

    # No business rule limits a name; FatturaPA's schema holds 80 characters in Denominazione.
    long_name = copy.deepcopy(body)
    long_name["customer"]["name"] = "Cliente " + "Esempio " * 10 + "S.p.A."
    answer = (await client.post("/v1/invoices/validate", json=long_name)).json()
    assert answer["valid"] is False
    [finding] = [d for d in answer["details"] if d["severity"] == "error"]
    assert (finding["rule"], finding["pointer"]) == ("FATTURAPA-XSD", "/customer")
    assert "Denominazione" in finding["message"]
    assert finding["fix"]


async def test_validate_checks_code_lists_and_credit_notes(
    make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await make_api_account()
    body = copy.deepcopy(seed_invoice)
    body["lines"][0]["unitCode"] = "QQQ"
    body["currency"] = "ABC"
    answer = (await client.post("/v1/invoices/validate", json=body)).json()
    assert answer["valid"] is False
    errors = {(d["rule"], d["pointer"]) for d in answer["details"] if d["severity"] == "error"}
    assert {("BR-CL-23", "/lines/0/unitCode"), ("BR-CL-04", "/currency")} <= errors

    credit_note = clean_body("PL") | {
        "invoiceType": "credit_note",
        "precedingInvoice": {"number": "FV/2025/08/17", "issueDate": "2025-08-20"},
    }
    del credit_note["dueDate"]
    del credit_note["paymentMeans"]["paymentTerms"]
    assert (await client.post("/v1/invoices/validate", json=credit_note)).json()["valid"] is True

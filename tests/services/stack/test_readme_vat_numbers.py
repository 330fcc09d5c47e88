"""The VAT numbers the README and docs/sandbox.md show, checked by python-stdnum (an oracle
independent of Clearway's own rules): the seed example's placeholders fail their check digits,
as the README says, with the consequence it states for a live key; its live-valid variant and
the sandbox companies' numbers pass."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from clearway.domain.invoice import InvoiceRequest
from clearway.validation import Severity, validate_invoice
from stdnum.eu import vat

from services.stack.sandbox_seed import SANDBOX_COMPANIES

ROOT = Path(__file__).parents[3]
README = (ROOT / "README.md").read_text()
SANDBOX_DOC = (ROOT / "docs" / "sandbox.md").read_text()


def _seed_example() -> dict[str, Any]:
    """The JSON body of the README's "Send an invoice" POST."""
    section = README.split("## Send an invoice", 1)[1].split("\n## ", 1)[0]
    post = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[0]
    body: dict[str, Any] = json.loads(post.split("-d '", 1)[1].rsplit("'", 1)[0])
    return body


def _live_valid_variant() -> tuple[str, str]:
    """The supplier's and customer's numbers of the README's live-valid variant."""
    sentence = re.search(r"A live-valid variant:(.*?)\(", README, re.DOTALL)
    assert sentence, "the README gives no live-valid variant"
    supplier, customer = re.findall(r"`(RO\d+)`", sentence[1])
    return supplier, customer


def _errors(body: dict[str, Any], *, livemode: bool) -> set[tuple[str, str]]:
    report = validate_invoice(InvoiceRequest.model_validate(body), livemode=livemode)
    return {(f.rule, f.pointer) for f in report.findings if f.severity is Severity.ERROR}


def test_the_seed_examples_numbers_fail_their_check_digits_as_the_readme_says() -> None:
    body = _seed_example()
    numbers = (body["supplier"]["vatNumber"], body["customer"]["vatNumber"])
    assert numbers == ("RO12345678", "RO87654321")
    assert not any(vat.is_valid(number) for number in numbers)
    section = README.split("## Send an invoice", 1)[1].split("\n## ", 1)[0]
    assert "placeholders: their\ncheck digits do not match" in section
    # What the README says a live key gets: CW-RO-04 errors on both numbers; the sandbox files it.
    live = {("CW-RO-04", "/supplier/vatNumber"), ("CW-RO-04", "/customer/vatNumber")}
    assert _errors(body, livemode=True) == live
    assert "CW-RO-04: RO12345678: the check digit of\nthis Romanian VAT number does not match" in (
        section
    )
    assert _errors(body, livemode=False) == set()


def test_the_live_valid_variant_passes_stdnum_and_the_live_rules() -> None:
    supplier, customer = _live_valid_variant()
    assert vat.is_valid(supplier)
    assert vat.is_valid(customer)
    body = _seed_example()
    body["supplier"]["vatNumber"], body["customer"]["vatNumber"] = supplier, customer
    assert _errors(body, livemode=True) == set()


def test_the_sandbox_companies_and_their_buyers_have_valid_numbers() -> None:
    for company in SANDBOX_COMPANIES.values():
        assert vat.is_valid(company["vatNumber"]), company
    section = SANDBOX_DOC.split("## One invoice per country", 1)[1].split("\n## ", 1)[0]
    bodies = [
        json.loads(block.split("-d '", 1)[1].rsplit("'", 1)[0])
        for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    ]
    assert len(bodies) == 6
    for body in bodies:
        if body["country"] == "RO":
            continue  # the seed's placeholders, said so beside the example
        for party in ("supplier", "customer"):
            assert vat.is_valid(body[party]["vatNumber"]), (body["country"], party)
        assert _errors(body, livemode=True) == set(), body["country"]

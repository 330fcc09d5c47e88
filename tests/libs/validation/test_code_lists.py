"""Code lists on the JSON: the CEN artefact's own lists (BR-CL-04, -14, -22, -23), so an invoice
/validate accepts is never refused by the gate for a code."""

from __future__ import annotations

import pytest
from clearway.countries import code_lists
from clearway.domain.invoice import VatCategory
from clearway.formats.en16931 import PAYMENT_MEANS_CREDIT_TRANSFER

from tests.libs.validation.bodies import found
from tests.libs.validation.cases import mutated

COUNTRIES = ("RO", "IT", "BE", "PL", "FR", "DE")


@pytest.mark.parametrize("country", COUNTRIES)
def test_unknown_unit_code(country: str) -> None:
    body = mutated(country, {"/lines/1/unitCode": "QQQ"})
    assert ("BR-CL-23", "/lines/1/unitCode") in found(body)


@pytest.mark.parametrize("country", COUNTRIES)
def test_unknown_currency(country: str) -> None:
    assert ("BR-CL-04", "/currency") in found(mutated(country, {"/currency": "ABC"}))


@pytest.mark.parametrize("country", COUNTRIES)
def test_unknown_country(country: str) -> None:
    body = mutated(country, {"/customer/address/country": "ZZ"})
    assert ("BR-CL-14", "/customer/address/country") in found(body)


@pytest.mark.parametrize("unit", ["C62", "H87", "HUR", "DAY", "MON", "KGM", "KWH", "XPP"])
def test_known_unit_codes_pass(unit: str) -> None:
    body = mutated("DE", {"/lines/0/unitCode": unit})
    assert ("BR-CL-23", "/lines/0/unitCode") not in found(body)


def test_lists_come_from_the_artefact() -> None:
    assert {"EUR", "RON", "PLN", "CHF"} <= code_lists.currencies()
    assert "ABC" not in code_lists.currencies()
    assert {"RO", "IT", "GR"} <= code_lists.countries()
    assert "EL" not in code_lists.countries()
    assert {"VATEX-EU-IC", "VATEX-EU-132"} <= code_lists.vatex_codes()
    assert len(code_lists.unit_codes()) > 1000


def test_what_the_json_cannot_choose_is_in_the_artefacts_lists() -> None:
    # BR-CL-16 and BR-CL-17/18 need no JSON check because of these two facts.
    assert {category.value for category in VatCategory} <= code_lists.vat_categories()
    assert PAYMENT_MEANS_CREDIT_TRANSFER in code_lists.payment_means_codes()


def test_a_rule_without_a_list_is_an_error() -> None:
    with pytest.raises(LookupError):
        code_lists.code_list("BR-01")

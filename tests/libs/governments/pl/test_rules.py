"""Poland (KSeF FA(3)): each rule triggers at its pointer; the valid counterpart does not."""

from __future__ import annotations

from clearway.validation import Severity

from tests.libs.validation.bodies import only, report_of
from tests.libs.validation.cases import mutated


def test_the_seller_needs_a_polish_nip() -> None:
    body = mutated("PL", {"/supplier/vatNumber": "DE136695976", "/supplier/address/country": "DE"})
    [finding] = only(body, "CW-PL-03")
    assert finding.pointer == "/supplier/vatNumber"


def test_a_bare_nip_is_fine() -> None:
    assert report_of(mutated("PL", {"/supplier/vatNumber": "526-025-09-95"})).findings == ()


def test_another_currency_without_an_exchange_rate_is_an_error() -> None:
    # FA(3) asks for the VAT in PLN (P_14_xW): without the rate it cannot be stated.
    [finding] = only(mutated("PL", {"/currency": "EUR"}), "CW-PL-04")
    assert (finding.pointer, finding.severity) == ("/exchangeRate", Severity.ERROR)
    assert report_of(mutated("PL", {"/currency": "PLN"})).findings == ()
    assert report_of(mutated("PL", {"/currency": "EUR", "/exchangeRate": "4.2537"})).findings == ()


def test_a_currency_fa3_does_not_list_is_an_error() -> None:
    # SLE is in EN 16931's ISO 4217 list but not in FA(3)'s: the FA(3) schema would refuse it.
    [finding] = only(mutated("PL", {"/currency": "SLE", "/exchangeRate": "0.17"}), "CW-PL-08")
    assert (finding.pointer, finding.severity) == ("/currency", Severity.ERROR)
    assert "SLE" in finding.message

from __future__ import annotations

import pytest
from clearway.countries.checksums import (
    is_digits,
    is_valid_iban,
    is_valid_luhn,
    is_valid_mod97_10,
    luhn_check_digit,
    mod11_10_check_digit,
    mod97_10_check_digits,
)


def test_luhn_on_the_textbook_example() -> None:
    assert is_valid_luhn("79927398713")
    assert not is_valid_luhn("79927398710")
    assert luhn_check_digit("7992739871") == "3"


def test_luhn_refuses_what_is_not_ascii_digits() -> None:
    assert not is_valid_luhn("")
    assert not is_valid_luhn("7992739871x")
    assert not is_digits("١٢٣")  # Arabic-Indic digits are not identifier digits


def test_mod97_10_on_the_leitweg_specification_example() -> None:
    # KoSIT's worked example: 04011000-1234512345 gets check digits 06.
    assert mod97_10_check_digits("040110001234512345") == "06"
    assert is_valid_mod97_10("04011000123451234506")
    assert not is_valid_mod97_10("04011000123451234507")


def test_mod11_10_on_the_published_worked_example() -> None:
    # DIN ISO 7064 MOD 11,10 example of the German transfer-slip reference: 100845456115 -> 8.
    assert mod11_10_check_digit("100845456115") == "8"


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "RO49AAAA1B31007593840000",
        "BE68539007547034",
        "FR14 2004 1010 0505 0001 3M02 606",
        "it60x0542811101000000123456",
    ],
)
def test_valid_ibans(iban: str) -> None:
    assert is_valid_iban(iban)


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013001", "DE98370400440532013000", "DE89", "1234567890", "DE89-3704"]
)
def test_invalid_ibans(iban: str) -> None:
    assert not is_valid_iban(iban)

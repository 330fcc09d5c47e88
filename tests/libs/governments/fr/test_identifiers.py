from __future__ import annotations

import pytest
from clearway.governments.fr.identifiers import (
    is_valid_siren,
    is_valid_siret,
    is_valid_vat_number,
    vat_key,
    vat_number_siren,
)

# Public SIRENs: Michelin (732829320), TotalEnergies, Air France, Carrefour, Danone.
SIRENS = ["732829320", "542051180", "420495178", "652014051", "552032534"]


@pytest.mark.parametrize("siren", SIRENS)
def test_known_sirens(siren: str) -> None:
    assert is_valid_siren(siren)
    assert not is_valid_siren(siren[:-1] + str((int(siren[-1]) + 1) % 10))


def test_la_poste_sirets_sum_to_a_multiple_of_five() -> None:
    assert is_valid_siret("35600000000048")  # the head office, which also follows Luhn
    assert is_valid_siret("35600000000010")  # digit sum 15
    assert not is_valid_siret("35600000000011")


def test_vat_key_on_the_published_example() -> None:
    # [12 + 3 x (404833048 mod 97)] mod 97 = [12 + 3 x 56] mod 97 = 83
    assert vat_key("404833048") == "83"
    assert vat_key("123456824") == "40"


def test_letter_keys_cannot_be_checked_and_are_accepted() -> None:
    assert is_valid_vat_number("FRXA404833048")
    assert vat_number_siren("FRXA404833048") == "404833048"


def test_monaco_numbers_have_no_luhn_siren() -> None:
    assert is_valid_vat_number(f"FR{vat_key('000321966')}000321966")

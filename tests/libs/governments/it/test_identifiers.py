from __future__ import annotations

import pytest
from clearway.governments.it.identifiers import (
    NATURA_CODES,
    codice_fiscale_check_char,
    is_codice_fiscale_format,
    is_valid_codice_fiscale,
    is_valid_partita_iva,
    partita_iva_check_digit,
)

# Public company numbers: Pirelli & C., Eni, Telecom Italia, Agenzia delle Entrate.
PARTITE_IVA = ["00743110157", "00905811006", "00488410010", "06363391001"]


@pytest.mark.parametrize("number", [*PARTITE_IVA, "IT00905811006", "IT 00905811006"])
def test_known_partite_iva(number: str) -> None:
    assert is_valid_partita_iva(number)


@pytest.mark.parametrize("number", PARTITE_IVA)
def test_a_changed_digit_invalidates_a_partita_iva(number: str) -> None:
    last = str((int(number[-1]) + 1) % 10)
    assert not is_valid_partita_iva(number[:-1] + last)
    assert partita_iva_check_digit(number[:-1]) == number[-1]


@pytest.mark.parametrize("number", ["0090581100", "009058110061", "0090581100A"])
def test_partita_iva_is_11_digits(number: str) -> None:
    assert not is_valid_partita_iva(number)


@pytest.mark.parametrize("office", ["000", "101", "119", "122", "500", "887", "998"])
def test_a_partita_iva_names_an_office_that_issues_numbers(office: str) -> None:
    body = f"0090581{office}"
    assert not is_valid_partita_iva(body + partita_iva_check_digit(body))


@pytest.mark.parametrize("office", ["001", "050", "100", "120", "121", "888", "999"])
def test_office_codes_that_issue_numbers(office: str) -> None:
    body = f"0090581{office}"
    assert is_valid_partita_iva(body + partita_iva_check_digit(body))


# Worked examples published with the codice fiscale rules.
CODICI_FISCALI = ["RSSMRA85T10A562S", "RSSMRA79B11C566R", "RSSFNC80T31F205U"]


@pytest.mark.parametrize("code", CODICI_FISCALI)
def test_known_codici_fiscali(code: str) -> None:
    assert is_valid_codice_fiscale(code)
    assert is_valid_codice_fiscale(code.lower())
    assert codice_fiscale_check_char(code[:-1]) == code[-1]


@pytest.mark.parametrize("code", CODICI_FISCALI)
def test_a_changed_character_invalidates_a_codice_fiscale(code: str) -> None:
    assert not is_valid_codice_fiscale(code[:-1] + ("A" if code[-1] != "A" else "B"))
    assert not is_valid_codice_fiscale(code[:6] + "9" + code[7:])


def test_omocodia_letters_are_well_formed() -> None:
    # The 7th and 8th characters (year) written as omocodia letters L and M.
    first15 = "RSSMRALMT10A562"
    assert is_codice_fiscale_format(first15 + codice_fiscale_check_char(first15))


def test_a_company_codice_fiscale_is_checked_like_a_partita_iva() -> None:
    assert is_valid_codice_fiscale("00905811006")
    assert not is_valid_codice_fiscale("00905811007")


@pytest.mark.parametrize("code", ["RSSMRA85T10A562", "12345", "RSSMRA85Z10A562S", ""])
def test_malformed_codici_fiscali(code: str) -> None:
    assert not is_codice_fiscale_format(code)


def test_natura_codes_have_sub_codes_where_they_must() -> None:
    assert {"N2", "N3", "N6"}.isdisjoint(NATURA_CODES)
    assert len(NATURA_CODES) == 21  # 7 codes became 21 on 2021-01-01

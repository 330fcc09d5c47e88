"""Every country's identifier checks in one table: the numbers a check must accept (published,
real ones) and the ones it must refuse (a changed digit, a wrong length or shape). What is
particular to a country (its check digits, its special cases) stays in its own tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from clearway.governments.be import identifiers as be
from clearway.governments.de import identifiers as de
from clearway.governments.fr import identifiers as fr
from clearway.governments.pl import identifiers as pl

Check = Callable[[str], bool]

# (check, the numbers it accepts, the numbers it refuses)
CASES: list[tuple[Check, list[str], list[str]]] = [
    # Oracle's documented "good" BE VAT numbers, Proximus (0202.239.951), AB InBev (0417.497.106);
    # then a changed digit.
    (
        be.is_valid_enterprise_number,
        ["BE0440966354", "BE0831797467", "0403019261", "0202.239.951", "0417 497 106"],
        ["BE0440966355", "BE0440966364", "1234567895", "0417497107"],
    ),
    # An enterprise number is ten digits starting 0 or 1.
    (
        be.is_enterprise_number_format,
        [],
        ["2403170701", "040317070", "BE04031707011", "04031707O1"],
    ),
    # The last refused SIRET passes Luhn as 14 digits, but its SIREN does not.
    (
        fr.is_valid_siret,
        ["73282932000074", "78430177200025", "732 829 320 00074"],
        ["73282932000075", "7328293200007", "65111176001235"],
    ),
    (
        fr.is_valid_vat_number,
        ["FR83404833048", "FR40123456824", "FR 40 303 265 045"],
        ["FR84404833048", "FR83404833049", "FR8340483304", "DE83404833048"],
    ),
    # Known USt-IdNrs, then a changed digit.
    (
        de.is_valid_ust_idnr,
        ["DE136695976", "DE143454214", "DE811569869", "DE 129 273 398"],
        ["DE136695977", "DE136695966", "DE811569868"],
    ),
    # A USt-IdNr is nine digits, not starting with zero.
    (
        de.is_ust_idnr_format,
        [],
        ["DE13669597", "DE1366959761", "DE036695976", "DE13669597X"],
    ),
    (
        de.is_leitweg_id_format,
        [],
        [
            "17-1234-56",
            "0401100012345-06",
            "04011000-12345",
            "04011000-" + "A" * 31 + "-06",
            "4-06",
        ],
    ),
    # The published worked example (123-456-32-18), PKO BP, PZU and Orlen; then a changed digit.
    (
        pl.is_valid_nip,
        ["1234563218", "5260250995", "5260251049", "7740001454", "PL 774-000-14-54"],
        ["1234563217", "5260250996", "7740001464"],
    ),
    # A NIP is ten digits.
    (pl.is_nip_format, [], ["123456321", "12345632181", "12345632a8"]),
]


def _cases(accepted: bool) -> list[Any]:
    return [
        pytest.param(check, number, id=f"{check.__name__}-{number}")
        for check, good, bad in CASES
        for number in (good if accepted else bad)
    ]


@pytest.mark.parametrize(("check", "number"), _cases(accepted=True))
def test_accepted(check: Check, number: str) -> None:
    assert check(number)


@pytest.mark.parametrize(("check", "number"), _cases(accepted=False))
def test_refused(check: Check, number: str) -> None:
    assert not check(number)

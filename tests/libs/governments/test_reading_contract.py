"""One reading contract, written once and run for every government: each invoice it is given
renders in every one of the country's formats and reads back as the request, up to what the
format does not carry (its NOT_CARRIED set) and what the country's writer normalizes (its
`carried`, beside the country's own reading tests in <cc>/test_reading.py).

Generated invoices for every country; the hand-written corpus (what the generator does not
draw) for the countries whose corpus reads back.
"""

from __future__ import annotations

import pytest

from tests.libs.formats.round_trip import (
    Carried,
    assert_reads_back,
    check_round_trips,
    corpus_cases,
    corpus_invoice,
)
from tests.libs.governments.fr import test_reading as fr
from tests.libs.governments.it import test_reading as it
from tests.libs.governments.peppol import test_reading as peppol
from tests.libs.governments.pl import test_reading as pl
from tests.libs.governments.ro import test_reading as ro

CARRIED: dict[str, Carried] = {
    "RO": ro.carried,
    "IT": it.carried,
    "PL": pl.carried,
    "FR": fr.carried,
    "BE": peppol.belgian_carried,
    "DE": peppol.german_carried,
}
CORPUS_COUNTRIES = ("RO", "FR", "BE", "DE")


@pytest.mark.parametrize("country", CARRIED)
def test_generated_invoices_read_back(country: str) -> None:
    check_round_trips(country, CARRIED[country])


@pytest.mark.parametrize(
    ("country", "case"),
    [(country, case) for country in CORPUS_COUNTRIES for case in corpus_cases(country)],
)
def test_corpus_invoices_read_back(country: str, case: str) -> None:
    assert_reads_back(corpus_invoice(country, case), CARRIED[country])

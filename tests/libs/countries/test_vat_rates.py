from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from clearway.countries.vat_rates import VAT_RATE_HISTORY, vat_rates_on


def _rates(*rates: str | int) -> frozenset[Decimal]:
    return frozenset(Decimal(r) for r in rates)


@pytest.mark.parametrize(
    ("country", "day", "expected"),
    [
        ("RO", dt.date(2025, 7, 31), _rates(19, 9, 5, 0)),
        ("RO", dt.date(2025, 8, 1), _rates(21, 11, 0)),
        ("IT", dt.date(2015, 12, 31), _rates(22, 10, 4, 0)),
        ("IT", dt.date(2016, 1, 1), _rates(22, 10, 5, 4, 0)),
        ("BE", dt.date(2026, 1, 1), _rates(21, 12, 6, 0)),
        ("PL", dt.date(2026, 1, 1), _rates(23, 8, 5, 0)),
        ("DE", dt.date(2020, 6, 30), _rates(19, 7, 0)),
        ("DE", dt.date(2020, 7, 1), _rates(16, 5, 0)),
        ("DE", dt.date(2020, 12, 31), _rates(16, 5, 0)),
        ("DE", dt.date(2021, 1, 1), _rates(19, 7, 0)),
        ("FR", dt.date(2013, 12, 31), _rates("19.6", 7, "5.5", "2.1", 0)),
    ],
)
def test_rates_on_the_day(country: str, day: dt.date, expected: frozenset[Decimal]) -> None:
    assert vat_rates_on(country, day) == expected


def test_france_includes_corsica_and_the_overseas_departments() -> None:
    rates = vat_rates_on("FR", dt.date(2025, 1, 1))
    assert rates is not None
    assert _rates(20, 10, "5.5", "2.1", 0) <= rates
    assert _rates(13, "0.9", "8.5", "1.75", "1.05") <= rates


def test_no_table_before_the_first_entry_or_for_other_countries() -> None:
    assert vat_rates_on("PL", dt.date(2010, 12, 31)) is None
    assert vat_rates_on("ES", dt.date(2025, 1, 1)) is None


def test_the_table_covers_every_country_clearway_files_for_in_date_order() -> None:
    assert set(VAT_RATE_HISTORY) == {"RO", "IT", "BE", "PL", "FR", "DE"}
    for history in VAT_RATE_HISTORY.values():
        assert [since for since, _ in history] == sorted(since for since, _ in history)
        assert all(Decimal(0) in rates for _, rates in history)

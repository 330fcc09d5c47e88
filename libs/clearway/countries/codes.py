"""VAT-number prefixes. Pure data.

VAT numbers carry the ISO 3166-1 code of their state (the list is the CEN artefact's, in
clearway.countries.code_lists), except Greece: EL (BR-CO-09); and XI (Northern Ireland) since 2021.
"""

from __future__ import annotations

# VAT-number prefixes of the EU member states (and XI), as VIES lists them.
_EU_VAT_PREFIXES = (
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI"
)
EU_VAT_PREFIXES: frozenset[str] = frozenset(_EU_VAT_PREFIXES.split())

# Prefixes that are not ISO 3166-1 codes of a country.
NON_ISO_VAT_PREFIXES = frozenset({"EL", "XI"})

# The country a VAT prefix stands for, where the two differ.
COUNTRY_OF_VAT_PREFIX: dict[str, str] = {"EL": "GR"}


def vat_prefix_country(prefix: str) -> str:
    return COUNTRY_OF_VAT_PREFIX.get(prefix, prefix)

"""Belgian enterprise numbers (KBO/BCE) and Peppol participant ids. Pure: no I/O.

Sources: the enterprise number is 10 digits, first digit 0 or 1, the last two digits
97 - (first 8 digits mod 97) (https://datasnoop.be/learn/belgian-enterprise-number,
Microsoft Dynamics NAV "Enterprise No." documentation; Peppol's PEPPOL-COMMON-R043 runs the same
u:mod97-0208 check). The VAT number is BE followed by the same 10 digits. Since 2026 Belgian B2B
invoices travel over Peppol, and every Belgian company is reachable as 0208:<enterprise number>
(GOVERNMENTS.md §4).
"""

from __future__ import annotations

from clearway.countries.checksums import is_digits

ENTERPRISE_NUMBER_LENGTH = 10
PEPPOL_SCHEME_ENTERPRISE_NUMBER = "0208"
PEPPOL_SCHEME_VAT_NUMBER = "9925"  # BE and the enterprise number


def compact(value: str) -> str:
    """Without spaces, dots, dashes and the optional BE prefix: '0403.170.701' -> '0403170701'."""
    return "".join(c for c in value.upper() if c not in " .-/").removeprefix("BE")


def enterprise_number_check_digits(body: str) -> str:
    """The last two digits of an enterprise number whose first 8 digits are body."""
    return f"{97 - int(body) % 97:02d}"


def is_enterprise_number_format(value: str) -> bool:
    number = compact(value)
    return len(number) == ENTERPRISE_NUMBER_LENGTH and is_digits(number) and number[0] in "01"


def is_valid_enterprise_number(value: str) -> bool:
    number = compact(value)
    return is_enterprise_number_format(number) and number[8:] == enterprise_number_check_digits(
        number[:8]
    )


def peppol_id_for(vat_number: str) -> str:
    """The 0208 participant id of a Belgian company, from its VAT or enterprise number."""
    return f"{PEPPOL_SCHEME_ENTERPRISE_NUMBER}:{compact(vat_number)}"

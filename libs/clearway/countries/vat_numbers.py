"""VAT identification numbers of the six countries Clearway files for: shape and check digit.

Pure: no I/O. Numbers are compared compact: spaces, dots and dashes removed, upper case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clearway.governments.be import identifiers as be
from clearway.governments.de import identifiers as de
from clearway.governments.fr import identifiers as fr
from clearway.governments.it import identifiers as it
from clearway.governments.pl import identifiers as pl
from clearway.governments.ro import identifiers as ro


@dataclass(frozen=True, slots=True)
class VatNumberScheme:
    country: str
    shape: str  # English, for messages: "RO followed by 2 to 10 digits"
    example: str  # a well-formed number with a valid check digit
    is_well_formed: Callable[[str], bool]
    is_valid: Callable[[str], bool]  # well formed and the check digit matches
    checked: str = "check digit"  # what is_valid checks beyond the shape, for messages


def _ro_well_formed(value: str) -> bool:
    try:
        ro.cif_digits(value)
    except ValueError:
        return False
    return True


VAT_NUMBER_SCHEMES: dict[str, VatNumberScheme] = {
    scheme.country: scheme
    for scheme in (
        VatNumberScheme(
            "RO", "RO followed by the CUI, 2 to 10 digits", "RO18547290",
            _ro_well_formed, ro.is_valid_cui,
        ),
        VatNumberScheme(
            "IT", "IT followed by the 11-digit Partita IVA", "IT00743110157",
            it.is_partita_iva_format, it.is_valid_partita_iva,
            "office code (digits 8 to 10) or check digit",
        ),
        VatNumberScheme(
            "BE", "BE followed by the 10-digit enterprise number starting with 0 or 1",
            "BE0417497106", be.is_enterprise_number_format, be.is_valid_enterprise_number,
        ),
        VatNumberScheme(
            "PL", "PL followed by the 10-digit NIP", "PL5260250995",
            pl.is_nip_format, pl.is_valid_nip,
        ),
        VatNumberScheme(
            "FR", "FR, a 2-character key and the 9-digit SIREN", "FR40303265045",
            fr.is_vat_number_format, fr.is_valid_vat_number,
        ),
        VatNumberScheme(
            "DE", "DE followed by 9 digits", "DE136695976",
            de.is_ust_idnr_format, de.is_valid_ust_idnr,
        ),
    )
}  # fmt: skip


def compact(vat_number: str) -> str:
    return "".join(c for c in vat_number.upper() if c not in " .-")


def vat_number_prefix(vat_number: str) -> str | None:
    """The two-letter country prefix of a VAT number, if it has one."""
    head = compact(vat_number)[:2]
    return head if len(head) == 2 and head.isascii() and head.isalpha() else None

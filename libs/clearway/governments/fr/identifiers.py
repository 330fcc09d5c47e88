"""French SIREN, SIRET and VAT numbers. Pure: no I/O.

Sources:
- SIREN (9 digits) and SIRET (SIREN + 5-digit NIC) end in a Luhn check digit (ISO 6523 ICD list
  entries 0002/0009; https://www.auditsi.eu/?p=11620). La Poste's establishments all share SIREN
  356000000 and their SIRETs use another rule: the sum of the 14 digits is a multiple of 5
  (fr.wikipedia "Système d'identification du répertoire des établissements").
- VAT number: FR, a 2-character key, the SIREN; a numeric key is
  (12 + 3 * (SIREN mod 97)) mod 97 (https://escec-international.com/fr/tva-intracommunautaire).
  Keys with letters exist for bodies without a SIREN; their algorithm is not public. Cross-checked
  against python-stdnum's fr.siren/siret/tva on random numbers
  (tests/libs/governments/fr/test_identifiers.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from clearway.countries.checksums import is_digits, is_valid_luhn

if TYPE_CHECKING:
    from clearway.domain.invoice import Party

SIREN_LENGTH = 9
SIRET_LENGTH = 14
LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE_SIRET = "35600000000048"  # the one La Poste SIRET that follows Luhn
MONACO_PREFIX = "000"
_VAT_NUMBER = re.compile(r"FR[0-9A-HJ-NP-Z]{2}[0-9]{9}")


def compact(value: str) -> str:
    return "".join(c for c in value.upper() if c not in " .-")


def is_valid_siren(value: str) -> bool:
    number = compact(value)
    return len(number) == SIREN_LENGTH and is_valid_luhn(number)


def is_siret_format(value: str) -> bool:
    number = compact(value)
    return len(number) == SIRET_LENGTH and is_digits(number)


def is_valid_siret(value: str) -> bool:
    number = compact(value)
    if not is_siret_format(number):
        return False
    if number.startswith(LA_POSTE_SIREN) and number != LA_POSTE_HEAD_OFFICE_SIRET:
        return sum(int(d) for d in number) % 5 == 0
    return is_valid_luhn(number) and is_valid_siren(number[:SIREN_LENGTH])


def vat_key(siren: str) -> str:
    """The two-digit key of the VAT number FR<key><siren>."""
    return f"{(12 + 3 * (int(siren) % 97)) % 97:02d}"


def is_vat_number_format(value: str) -> bool:
    return bool(_VAT_NUMBER.fullmatch(compact(value)))


def vat_number_siren(value: str) -> str | None:
    """The SIREN inside a French VAT number; None when the number is not in the French format."""
    number = compact(value)
    return number[4:] if _VAT_NUMBER.fullmatch(number) else None


def is_valid_vat_number(value: str) -> bool:
    number = compact(value)
    if not _VAT_NUMBER.fullmatch(number):
        return False
    key, siren = number[2:4], number[4:]
    if not is_digits(key):
        return True  # letter keys: no public algorithm to check against
    # Monaco's companies carry French VAT numbers whose "SIREN" starts 000 and has no Luhn digit.
    return key == vat_key(siren) and (siren.startswith(MONACO_PREFIX) or is_valid_siren(siren))


_SIRET_DIGITS = 14
_SIREN_DIGITS = 9
_FRENCH_VAT_LENGTH = 13  # FR, a 2-character key, the 9-digit SIREN


def siren_of(party: Party) -> str | None:
    """The party's SIREN: the first 9 digits of its SIRET, else the last 9 of a French VAT number
    (FR, a 2-character key, the SIREN); None when it has neither."""
    siret = "".join((party.siret or "").split())
    if len(siret) == _SIRET_DIGITS and siret.isdigit():
        return siret[:_SIREN_DIGITS]
    vat = "".join(party.vat_number.split()).upper()
    siren = vat[-_SIREN_DIGITS:]
    if len(vat) == _FRENCH_VAT_LENGTH and vat.startswith("FR") and siren.isdigit():
        return siren
    return None

"""Italian identifiers and codes for FatturaPA: Partita IVA, Codice Fiscale, Natura. Pure: no I/O.

Sources (checked 2025):
- Partita IVA: 11 digits: a 7-digit serial (never all zeros), the 3-digit code of the issuing
  provincial office (001-100, or 120, 121, 888, 999 for the special registers), and a Luhn check
  digit (Peppol BIS checks the last as PEPPOL-COMMON-R047; python-stdnum's it.iva checks all
  three, and the tests hold this module to it).
- Codice Fiscale: 16 characters (DM 23 dicembre 1976 n. 13813), the last one a check letter; a
  company's codice fiscale is 11 digits checked like a Partita IVA. Omocodia replaces digits
  with the letters LMNPQRSTUV.
- Natura (FatturaPA 2.2.1.14): from 2021-01-01 N2, N3 and N6 are accepted only with their
  sub-codes (Agenzia delle Entrate, specifiche tecniche 1.6.1; https://ghilardicrema.it/?p=5210,
  http://www.tusciafisco.it/area-fiscale/14685-fattura-elettronica-2021-i-nuovi-codici-natura-operazione.html).
"""

from __future__ import annotations

import re

from clearway.countries.checksums import is_digits, is_valid_luhn, luhn_check_digit

NATURA_CODES: tuple[str, ...] = (
    "N1",  # escluse ex art. 15
    "N2.1", "N2.2",  # non soggette
    "N3.1", "N3.2", "N3.3", "N3.4", "N3.5", "N3.6",  # non imponibili
    "N4",  # esenti
    "N5",  # regime del margine
    "N6.1", "N6.2", "N6.3", "N6.4", "N6.5", "N6.6", "N6.7", "N6.8", "N6.9",  # inversione contabile
    "N7",  # IVA assolta in altro stato UE
)  # fmt: skip

PARTITA_IVA_LENGTH = 11
FIRST_OFFICE_CODE, LAST_OFFICE_CODE = "001", "100"
SPECIAL_OFFICE_CODES = frozenset({"120", "121", "888", "999"})
# Omocodia: a clash between two people's codes is resolved by writing digits as these letters.
_OMOCODE_DIGIT = "[0-9LMNPQRSTUV]"
_CODICE_FISCALE_PERSON = re.compile(
    rf"[A-Z]{{6}}{_OMOCODE_DIGIT}{{2}}[ABCDEHLMPRST]{_OMOCODE_DIGIT}{{2}}"
    rf"[A-Z]{_OMOCODE_DIGIT}{{3}}[A-Z]"
)
# Values of a character in an odd (1st, 3rd, …) position; even positions count A=0 … Z=25, 0-9.
_ODD_POSITION_VALUE: dict[str, int] = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
         1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25,
         24, 23),
        strict=True,
    )
)  # fmt: skip


def compact(value: str) -> str:
    """Upper case, without spaces and the optional IT prefix."""
    return "".join(value.split()).upper().removeprefix("IT")


def is_partita_iva_format(value: str) -> bool:
    number = compact(value)
    return len(number) == PARTITA_IVA_LENGTH and is_digits(number)


def is_partita_iva_office_code(code: str) -> bool:
    """Whether digits 8-10 of a Partita IVA name an office that issues numbers."""
    return FIRST_OFFICE_CODE <= code <= LAST_OFFICE_CODE or code in SPECIAL_OFFICE_CODES


def is_valid_partita_iva(value: str) -> bool:
    number = compact(value)
    # A zero serial (first 7 digits) passes Luhn but is no one's number (stdnum agrees).
    return (
        is_partita_iva_format(number)
        and is_valid_luhn(number)
        and int(number[:7]) != 0
        and is_partita_iva_office_code(number[7:10])
    )


def partita_iva_check_digit(body: str) -> str:
    """The 11th digit of a Partita IVA whose first 10 digits are body."""
    return luhn_check_digit(body)


def is_codice_fiscale_format(value: str) -> bool:
    """16-character personal code, or an 11-digit company code."""
    code = "".join(value.split()).upper()
    if len(code) == PARTITA_IVA_LENGTH:
        return is_digits(code)
    return bool(_CODICE_FISCALE_PERSON.fullmatch(code))


def codice_fiscale_check_char(first15: str) -> str:
    """The 16th character of a personal Codice Fiscale."""
    total = 0
    for position, char in enumerate(first15.upper(), start=1):
        if position % 2 == 1:
            total += _ODD_POSITION_VALUE[char]
        else:
            total += int(char) if char.isdigit() else ord(char) - ord("A")
    return chr(ord("A") + total % 26)


def is_valid_codice_fiscale(value: str) -> bool:
    code = "".join(value.split()).upper()
    if not is_codice_fiscale_format(code):
        return False
    if len(code) == PARTITA_IVA_LENGTH:
        return is_valid_luhn(code)
    return code[-1] == codice_fiscale_check_char(code[:-1])

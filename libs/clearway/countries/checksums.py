"""Check-digit schemes shared by several national identifiers. Pure: no I/O.

Each function takes the identifier already compacted (no spaces, dots or dashes); the national
modules do the compacting and the format checks.
"""

from __future__ import annotations

_DIGITS = frozenset("0123456789")


def is_digits(value: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²' and Arabic-Indic digits."""
    return bool(value) and all(c in _DIGITS for c in value)


def luhn_sum(digits: str) -> int:
    """The Luhn sum: every second digit from the right doubled, 10-18 folded to 1-9."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total


def is_valid_luhn(digits: str) -> bool:
    return is_digits(digits) and luhn_sum(digits) % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes body + digit pass the Luhn check."""
    return str((10 - luhn_sum(body + "0") % 10) % 10)


def _alphanumeric_value(text: str) -> str:
    """Letters as two-digit numbers (A=10 … Z=35), as ISO 7064 mod 97-10 and IBAN read them."""
    return "".join(str(int(c, 36)) for c in text.upper())


def mod97_10_check_digits(body: str) -> str:
    """ISO 7064 MOD 97-10 check characters of an alphanumeric body (Leitweg-ID, IBAN)."""
    return f"{98 - int(_alphanumeric_value(body) + '00') % 97:02d}"


def is_valid_mod97_10(value: str) -> bool:
    """Body followed by its two ISO 7064 MOD 97-10 check digits."""
    if len(value) < 3 or not value.isascii() or not value.isalnum():
        return False
    return int(_alphanumeric_value(value)) % 97 == 1


def mod11_10_check_digit(body: str) -> str:
    """ISO 7064 MOD 11,10 (hybrid system) check digit of a digit string."""
    product = 10
    for char in body:
        total = (int(char) + product) % 10 or 10
        product = total * 2 % 11
    return str((11 - product) % 10)


def is_valid_iban(iban: str) -> bool:
    """ISO 13616: country, two check digits, up to 30 alphanumerics; the whole is 1 mod 97."""
    compact = "".join(iban.split()).upper()
    if not (
        5 <= len(compact) <= 34
        and compact[:2].isalpha()
        and is_digits(compact[2:4])
        and compact.isascii()
        and compact.isalnum()
    ):
        return False
    return int(_alphanumeric_value(compact[4:] + compact[:4])) % 97 == 1

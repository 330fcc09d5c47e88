"""Polish NIP (Numer Identyfikacji Podatkowej). Pure: no I/O.

Source: 10 digits; the first 9 weighted 6, 5, 7, 2, 3, 4, 5, 6, 7, the sum mod 11 is the 10th
digit, and a remainder of 10 is never issued (https://kalkulor.pl/poprawnosc-nip,
https://minikalkulator.pl/sprawdzanie-nip-weryfikacja-numeru).
"""

from __future__ import annotations

from clearway.countries.checksums import is_digits

NIP_LENGTH = 10
_NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)


def compact(value: str) -> str:
    """Without spaces, dashes and the optional PL prefix: '526-025-09-95' -> '5260250995'."""
    return "".join(c for c in value.upper() if c not in " -").removeprefix("PL")


def nip_check_digit(body: str) -> str | None:
    """The 10th digit for a 9-digit body; None when the remainder is 10 (no such NIP exists)."""
    remainder = sum(int(d) * w for d, w in zip(body, _NIP_WEIGHTS, strict=True)) % 11
    return None if remainder == 10 else str(remainder)


def is_nip_format(value: str) -> bool:
    # The first three digits are the issuing tax office's code: never 0 first, never x00
    # (the FA(3) schema's pattern [1-9]((\d[1-9])|([1-9]\d))\d{7}).
    number = compact(value)
    return (
        len(number) == NIP_LENGTH and is_digits(number) and number[0] != "0" and number[1:3] != "00"
    )


def is_valid_nip(value: str) -> bool:
    number = compact(value)
    return is_nip_format(number) and number[-1] == nip_check_digit(number[:-1])

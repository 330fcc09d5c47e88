"""German USt-IdNr and Leitweg-ID. Pure: no I/O.

Sources:
- USt-IdNr: DE, 8 digits, a check digit by ISO 7064 MOD 11,10 (ZMDV Anlage 3, BGBl. 1993 I
  S. 736, http://archiv.jura.uni-saarland.de/BGBl/TEIL1/1993/19930736.1.HTML).
- Leitweg-ID (KoSIT format specification, as summarised at https://schegge.de/2021/02/leitweg-id-
  ihre-nummer-fuer-die-behoerde and https://github-wiki-see.page/m/homebeaver/ungueltig/wiki/
  MOD-97-10): Grobadressierung of 2 to 12 digits, an optional Feinadressierung of up to 30
  letters and digits, and two check digits by ISO 7064 MOD 97-10 over both parts without the
  hyphens, letters counted A=10 … Z=35. Example: 04011000-1234512345-06. The Grobadressierung
  starts with the Land (01-16) or 99 for the Bund
  (https://wissensdatenbank.openhandwerk.de/de/knowledge/wie-ist-die-leitweg-id-aufgebaut-1).
"""

from __future__ import annotations

import re

from clearway.countries.checksums import (
    is_digits,
    is_valid_mod97_10,
    mod11_10_check_digit,
    mod97_10_check_digits,
)

UST_IDNR_DIGITS = 9
_LEITWEG_ID = re.compile(
    r"(?P<coarse>(?:0[1-9]|1[0-6]|99)[0-9]{0,10})(?:-(?P<fine>[0-9A-Z]{1,30}))?-(?P<check>[0-9]{2})"
)


def compact_vat_number(value: str) -> str:
    """Without spaces, dots and the optional DE prefix."""
    return "".join(c for c in value.upper() if c not in " .-").removeprefix("DE")


def is_ust_idnr_format(value: str) -> bool:
    number = compact_vat_number(value)
    # No USt-IdNr starts with 0 (python-stdnum's de.vat refuses them too).
    return len(number) == UST_IDNR_DIGITS and is_digits(number) and number[0] != "0"


def ust_idnr_check_digit(body: str) -> str:
    """The 9th digit of a USt-IdNr whose first 8 digits are body."""
    return mod11_10_check_digit(body)


def is_valid_ust_idnr(value: str) -> bool:
    number = compact_vat_number(value)
    return is_ust_idnr_format(number) and number[-1] == ust_idnr_check_digit(number[:-1])


def is_leitweg_id_format(value: str) -> bool:
    return bool(_LEITWEG_ID.fullmatch(value.strip().upper()))


def leitweg_id_check_digits(coarse: str, fine: str = "") -> str:
    return mod97_10_check_digits(coarse + fine)


def is_valid_leitweg_id(value: str) -> bool:
    match = _LEITWEG_ID.fullmatch(value.strip().upper())
    if match is None:
        return False
    return is_valid_mod97_10(match["coarse"] + (match["fine"] or "") + match["check"])

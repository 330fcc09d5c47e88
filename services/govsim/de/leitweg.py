"""The Leitweg-ID: the routing identifier German public buyers require in BT-10.

Format: Grobadressierung (2-12 digits) - optional Feinadressierung (up to 30 letters and digits)
- two check digits, e.g. 04011000-1234512345-06 or 991-33333TEST-33. The check digits are ISO/IEC
7064 MOD 97-10 over the two addresses run together, letters counting as 10..35 (A..Z) as in an
IBAN: append "00", take the remainder by 97, subtract it from 98. The widely used test IDs above
check out against exactly this; lengths as in public implementations (the KoSIT format PDF was
not read here: UNCONFIRMED).
"""

from __future__ import annotations

import re

LEITWEG_ID = re.compile(r"(?P<coarse>\d{2,12})(?:-(?P<fine>[A-Za-z0-9]{1,30}))?-(?P<check>\d{2})")


def leitweg_check_digits(coarse: str, fine: str) -> str:
    digits = "".join(str(int(character, 36)) for character in (coarse + fine).upper())
    return f"{98 - int(digits + '00') % 97:02d}"


def leitweg_id_problem(value: str) -> str | None:
    """Why `value` is no Leitweg-ID (German, as a portal would say it), or None when it is one."""
    match = LEITWEG_ID.fullmatch(value)
    if match is None:
        return f"Die Leitweg-ID {value!r} entspricht nicht dem Format Grob-Fein-Prüfziffer."
    expected = leitweg_check_digits(match["coarse"], match["fine"] or "")
    if match["check"] != expected:
        return f"Die Prüfziffer der Leitweg-ID {value} ist falsch (erwartet {expected})."
    return None

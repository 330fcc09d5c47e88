"""The catalogue: per country, the messages its government sends (its Government's messages()),
in the order they are tried.

An entry's `pattern` is searched in the message (case-insensitive); its named groups fill the
`{…}` of the English text, the fix and the pointer. A `{party}` in a pointer is `supplier` or
`customer`, read from the message itself (ANAF names the seller "vânzător", the buyer
"cumpărător", and repeats both in its English part).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from clearway.governments import GOVERNMENTS


@dataclass(frozen=True)
class Entry:
    code: str  # the rule id or error code the government uses, else the catalogue's own key
    pattern: re.Pattern[str]
    english: str
    fix: str
    pointer: str | None = None


def government_name(country: str) -> str:
    """Who answered, as translated errors name it: "ANAF e-Factura"."""
    found = GOVERNMENTS.get(country.upper())
    return found.system_display if found is not None else "The government"


_BUYER = re.compile(r"cump[aă]r[aă]tor|\bbuyer\b|cessionario|acheteur|nabywc", re.IGNORECASE)


def _party(message: str) -> str:
    return "customer" if _BUYER.search(message) else "supplier"


@functools.cache
def entries_for(country: str) -> tuple[Entry, ...]:
    found = GOVERNMENTS.get(country.upper())
    if found is None:
        return ()
    return tuple(
        Entry(m.code, re.compile(m.pattern, re.IGNORECASE | re.DOTALL), m.english, m.fix, m.pointer)
        for m in found.messages()
    )


def party_of(message: str) -> str:
    """`supplier` or `customer`: whom a party-generic message is about."""
    return _party(message)

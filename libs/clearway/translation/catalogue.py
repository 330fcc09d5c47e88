"""The catalogue: per country, the messages its government sends, in the order they are tried.

An entry's `pattern` is searched in the message (case-insensitive); its named groups fill the
`{…}` of the English text, the fix and the pointer. A `{party}` in a pointer is `supplier` or
`customer`, read from the message itself (ANAF names the seller "vânzător", the buyer
"cumpărător", and repeats both in its English part).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from clearway.translation.message import Message


@dataclass(frozen=True)
class Entry:
    code: str  # the rule id or error code the government uses, else the catalogue's own key
    pattern: re.Pattern[str]
    english: str
    fix: str
    pointer: str | None = None


GOVERNMENTS = {
    "RO": "ANAF e-Factura",
    "IT": "SDI",
    "PL": "KSeF",
    "FR": "The French e-invoicing platform",
    "DE": "The German e-invoicing platform",
    "BE": "The Peppol network",
}

_BUYER = re.compile(r"cump[aă]r[aă]tor|\bbuyer\b|cessionario|acheteur|nabywc", re.IGNORECASE)


def _party(message: str) -> str:
    return "customer" if _BUYER.search(message) else "supplier"


_FLAGS = re.IGNORECASE | re.DOTALL


@functools.cache
def _compiled() -> dict[str, tuple[Entry, ...]]:
    # Each government's catalogue imports this package (its Message): loaded on first use.
    from clearway.governments.de import errors as de  # noqa: PLC0415
    from clearway.governments.fr import errors as fr  # noqa: PLC0415
    from clearway.governments.it import errors as it  # noqa: PLC0415
    from clearway.governments.pl import errors as pl  # noqa: PLC0415
    from clearway.governments.ro import errors as ro  # noqa: PLC0415

    sources: dict[str, tuple[Message, ...]] = {
        "RO": ro.MESSAGES,
        "IT": it.MESSAGES,
        "PL": pl.MESSAGES,
        "FR": fr.MESSAGES,
        "DE": (*de.MESSAGES, *de.PEPPOL_MESSAGES),  # B2G platforms, and B2B over Peppol
        "BE": de.PEPPOL_MESSAGES,
    }
    return {
        country: tuple(
            Entry(
                m.code,
                re.compile(m.pattern, re.IGNORECASE | re.DOTALL),
                m.english,
                m.fix,
                m.pointer,
            )
            for m in rows
        )
        for country, rows in sources.items()
    }


def entries_for(country: str) -> tuple[Entry, ...]:
    return _compiled().get(country.upper(), ())


def party_of(message: str) -> str:
    """`supplier` or `customer`: whom a party-generic message is about."""
    return _party(message)

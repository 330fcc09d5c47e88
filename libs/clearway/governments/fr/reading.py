"""A French document read back into the request: EN 16931 UBL, EN 16931 CII or Factur-X, the
formats document.py writes.

Pure: no I/O. The shared EN 16931 reading (clearway.formats.en16931_reader) does it all; what the
French writer adds reads back as follows: the three legal mentions it writes on every invoice
(LEGAL_MENTIONS) are not the request's note; a SIRET (scheme 0009) is the party's siret; the
SIREN (0002, legal registration identifier) and the directory address derived from it (0225) are
not request fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearway.formats.en16931_reader import NOT_CARRIED as EN16931_NOT_CARRIED
from clearway.formats.en16931_reader import Flavour, Flavours, read_en16931_document
from clearway.formats.reading import party_fields
from clearway.governments.fr.document import FRENCH_DIRECTORY_SCHEME, LEGAL_MENTIONS, SIRET_SCHEME

if TYPE_CHECKING:
    from clearway.formats.reading import ReadInvoice

# Beyond what no EN 16931 syntax carries: the French writer writes no Leitweg-ID.
NOT_CARRIED: frozenset[str] = EN16931_NOT_CARRIED | party_fields("leitwegId")


def _flavour(name: str) -> Flavour:
    return Flavour(
        format_name=name,
        not_carried=NOT_CARRIED,
        endpoint_schemes={FRENCH_DIRECTORY_SCHEME: None},
        identifier_schemes={SIRET_SCHEME: "siret"},
        added_notes=LEGAL_MENTIONS,
    )


FLAVOURS = Flavours(
    ubl=_flavour("EN16931-UBL"), cii=_flavour("EN16931-CII"), factur_x=_flavour("FACTUR-X")
)


def read_document(content: bytes, media_type: str) -> ReadInvoice:
    return read_en16931_document(content, media_type, country="FR", flavours=FLAVOURS)

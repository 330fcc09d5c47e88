"""A CIUS-RO UBL document (ANAF e-Factura) read back into the request: document.py reversed.

Pure: no I/O. The shared EN 16931 reading (clearway.formats.en16931_reader) does it all; what
CIUS-RO's writer changes reads back as it is written: a Romanian address's city and county are
ISO 3166-2:RO and SECTOR1..6 (as ro_subdivision derives them), and a buyer not registered for
VAT is identified by its CUI as legal registration identifier (BT-47), which is read as its
vatNumber.

ANAF takes CIUS-RO in CII as well (a supplier's upload of standard CII), and hands it to the
buyer as it was uploaded: it reads back the same way, as CII.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearway.formats.en16931_reader import NOT_CARRIED as EN16931_NOT_CARRIED
from clearway.formats.en16931_reader import Flavour, Flavours, read_en16931_document
from clearway.formats.reading import party_fields

if TYPE_CHECKING:
    from clearway.formats.reading import ReadInvoice

# Beyond what no EN 16931 syntax carries: CIUS-RO writes no SIRET and no Leitweg-ID.
NOT_CARRIED: frozenset[str] = EN16931_NOT_CARRIED | party_fields("siret", "leitwegId")

CIUS_RO = Flavour(format_name="UBL-CIUS-RO", not_carried=NOT_CARRIED)
CIUS_RO_CII = Flavour(format_name="CII-CIUS-RO", not_carried=NOT_CARRIED)


def read_document(content: bytes, media_type: str) -> ReadInvoice:
    return read_en16931_document(
        content, media_type, country="RO", flavours=Flavours(ubl=CIUS_RO, cii=CIUS_RO_CII)
    )

"""Peppol documents read back into the request: Belgium's Peppol BIS Billing 3.0 (UBL) and
Germany's XRechnung (UBL and CII), the formats their writers (peppol/document.py,
de/document.py) give.

Pure: no I/O. The shared EN 16931 reading (clearway.formats.en16931_reader) does it all; what the
writers derive reads back as written: a Belgian party's 0208 electronic address is its peppolId
(the writer derives it from the VAT number when none is given); in XRechnung an electronic
address in the Leitweg scheme (0204) is the buyer's leitwegId, and the seller's contact name,
which the writer fills with the seller's name, is not read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearway.formats.en16931_reader import NOT_CARRIED as EN16931_NOT_CARRIED
from clearway.formats.en16931_reader import Flavour, Flavours, read_en16931_document
from clearway.formats.reading import party_fields
from clearway.governments.de.document import LEITWEG_SCHEME

if TYPE_CHECKING:
    from clearway.formats.reading import ReadInvoice

# Peppol BIS: no SIRET, no Leitweg-ID.
PEPPOL_BIS_NOT_CARRIED: frozenset[str] = EN16931_NOT_CARRIED | party_fields("siret", "leitwegId")
# XRechnung: no SIRET; the seller's Leitweg-ID is never written (only a buyer has one).
XRECHNUNG_NOT_CARRIED: frozenset[str] = (
    EN16931_NOT_CARRIED | party_fields("siret") | {"supplier.leitwegId"}
)

PEPPOL_BIS = Flavour(format_name="PEPPOL-BIS-3", not_carried=PEPPOL_BIS_NOT_CARRIED)
_XRECHNUNG_SCHEMES = {LEITWEG_SCHEME: "leitweg_id"}
XRECHNUNG_UBL = Flavour(
    format_name="XRECHNUNG-UBL",
    not_carried=XRECHNUNG_NOT_CARRIED,
    endpoint_schemes=_XRECHNUNG_SCHEMES,
)
XRECHNUNG_CII = Flavour(
    format_name="XRECHNUNG-CII",
    not_carried=XRECHNUNG_NOT_CARRIED,
    endpoint_schemes=_XRECHNUNG_SCHEMES,
)

FLAVOURS: dict[str, Flavours] = {
    "BE": Flavours(ubl=PEPPOL_BIS),
    "DE": Flavours(ubl=XRECHNUNG_UBL, cii=XRECHNUNG_CII),
}


def read_document(content: bytes, media_type: str, *, country: str) -> ReadInvoice:
    return read_en16931_document(content, media_type, country=country, flavours=FLAVOURS[country])

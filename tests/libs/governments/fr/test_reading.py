"""Reading French documents back (EN 16931 UBL, CII and Factur-X): what the formats do not carry
(NOT_CARRIED) and what the writer normalizes (`carried`), by which the reading contract
(test_reading_contract.py) reads every French invoice back as its request."""

from __future__ import annotations

from clearway.domain.invoice import InvoiceRequest
from clearway.governments.fr.document import FRENCH_DIRECTORY_SCHEME
from clearway.governments.fr.identifiers import siren_of
from clearway.governments.fr.reading import NOT_CARRIED

from tests.libs.formats.round_trip import (
    EN16931_NOT_CARRIED,
    Wire,
    en16931_carried,
    of_both_parties,
)


def carried(data: Wire, request: InvoiceRequest, number: str, format_name: str) -> None:
    """What the French writer (fr/document.py) does beyond build_document: the legal mentions it
    adds are not read as the note, so they need nothing here."""
    en16931_carried(data, request, number, ubl=format_name == "EN16931-UBL")
    for role, party in (("supplier", request.supplier), ("customer", request.customer)):
        fields = data[role]
        siren = siren_of(party)
        siret = "".join((party.siret or "").split())
        # BT-29: the SIRET only when it is the SIREN's (scheme 0009), spaces dropped.
        fields["siret"] = siret if siren is not None and siret.startswith(siren) else None
        if siren is not None:
            fields["tradeRegister"] = None  # BT-30 is the SIREN (0002) instead
        if (fields["peppolId"] or "").startswith(f"{FRENCH_DIRECTORY_SCHEME}:"):
            fields["peppolId"] = None  # a 0225 address reads as the one derived from the SIREN


def test_what_the_french_formats_do_not_carry() -> None:
    assert EN16931_NOT_CARRIED | of_both_parties("leitwegId") == NOT_CARRIED

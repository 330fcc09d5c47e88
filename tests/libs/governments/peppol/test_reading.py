"""Reading Peppol documents back, Belgian (Peppol BIS) and German (XRechnung UBL and CII): what
the formats do not carry (their NOT_CARRIED sets) and what the writers normalize
(`belgian_carried`, `german_carried`), by which the reading contract (test_reading_contract.py)
reads every Belgian and German invoice back as its request."""

from __future__ import annotations

from clearway.domain.invoice import InvoiceRequest
from clearway.formats.en16931 import peppol_endpoint
from clearway.governments.peppol.document import belgian_enterprise_number
from clearway.governments.peppol.reading import PEPPOL_BIS_NOT_CARRIED, XRECHNUNG_NOT_CARRIED

from tests.libs.formats.round_trip import (
    EN16931_NOT_CARRIED,
    Wire,
    en16931_carried,
    of_both_parties,
)


def belgian_carried(data: Wire, request: InvoiceRequest, number: str, format_name: str) -> None:
    """What Peppol BIS's writer (peppol/document.py) does beyond build_document."""
    assert format_name == "PEPPOL-BIS-3"
    en16931_carried(data, request, number, ubl=True)
    for role, party in (("supplier", request.supplier), ("customer", request.customer)):
        enterprise_number = belgian_enterprise_number(party.vat_number)
        if data[role]["peppolId"] is None and enterprise_number is not None:
            data[role]["peppolId"] = f"0208:{enterprise_number}"  # derived from the VAT number


def german_carried(data: Wire, request: InvoiceRequest, number: str, format_name: str) -> None:
    """What XRechnung's writer (de/document.py) does beyond build_document."""
    en16931_carried(data, request, number, ubl=format_name == "XRECHNUNG-UBL")
    customer = request.customer
    # BR-DE-15: the buyer reference, else the Leitweg-ID.
    data["buyerReference"] = request.buyer_reference or customer.leitweg_id
    if peppol_endpoint(customer) is not None:
        # The buyer's electronic address is its peppolId; the Leitweg-ID (0204) only stands in
        # for a missing one, so it is not written as such.
        data["customer"]["leitwegId"] = None


def test_what_peppol_bis_and_xrechnung_do_not_carry() -> None:
    assert EN16931_NOT_CARRIED | of_both_parties("siret", "leitwegId") == PEPPOL_BIS_NOT_CARRIED
    assert (
        EN16931_NOT_CARRIED | of_both_parties("siret") | {"supplier.leitwegId"}
        == XRECHNUNG_NOT_CARRIED
    )

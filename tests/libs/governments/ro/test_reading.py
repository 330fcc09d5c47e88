"""Reading CIUS-RO back: what the format does not carry (NOT_CARRIED) and what its writer
normalizes (`carried`), by which the reading contract (test_reading_contract.py) reads every
Romanian invoice back as its request; and a CIUS-RO uploaded as CII."""

from __future__ import annotations

import pytest
from clearway.countries.vat_numbers import vat_number_prefix
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import XML
from clearway.formats.cii import write_cii
from clearway.governments.ro.document import cius_ro_document, render_ubl_cius_ro
from clearway.governments.ro.identifiers import cif_digits, ro_subdivision
from clearway.governments.ro.reading import NOT_CARRIED, read_document

from tests.libs.formats.round_trip import (
    EN16931_NOT_CARRIED,
    Wire,
    corpus_cases,
    corpus_invoice,
    en16931_carried,
    of_both_parties,
)


def carried(data: Wire, request: InvoiceRequest, number: str, format_name: str) -> None:
    """What CIUS-RO's writer (ro/document.py) does beyond build_document."""
    assert format_name == "UBL-CIUS-RO"
    customer = request.customer
    romanian_buyer = customer.address is None or customer.address.country == "RO"
    if romanian_buyer and vat_number_prefix(customer.vat_number) is None:
        # Not registered for VAT: its CUI is BT-47, in place of its trade register entry.
        data["customer"]["vatNumber"] = cif_digits(customer.vat_number)
        data["customer"]["tradeRegister"] = None
    en16931_carried(data, request, number, ubl=True)
    for role in ("supplier", "customer"):
        address = data[role].get("address")
        if address is not None and address["country"] == "RO":
            # BR-RO-100/101/110/111: the city and county as ISO 3166-2:RO, SECTOR1..6 in Bucharest.
            subdivision = ro_subdivision(
                address["city"], address["postalCode"], address["stateOrProvince"]
            )
            address["city"] = subdivision.city_name or None
            address["stateOrProvince"] = subdivision.country_subentity


def test_what_cius_ro_does_not_carry() -> None:
    assert EN16931_NOT_CARRIED | of_both_parties("siret", "leitwegId") == NOT_CARRIED


@pytest.mark.parametrize("case", corpus_cases("RO"))
def test_a_cius_ro_uploaded_as_cii_reads_back_as_its_ubl_does(case: str) -> None:
    """ANAF takes CII uploads too, and hands them to the buyer as uploaded."""
    request = corpus_invoice("RO", case)
    document = cius_ro_document(request, invoice_number="FV-CII-1")
    as_ubl = read_document(render_ubl_cius_ro(request, invoice_number="FV-CII-1"), XML)
    as_cii = read_document(write_cii(document), XML)
    assert as_cii.format_name == "CII-CIUS-RO"
    assert as_cii.request == as_ubl.request
    assert as_cii.stated == as_ubl.stated

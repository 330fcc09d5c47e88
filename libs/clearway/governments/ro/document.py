"""JSON invoice -> UBL 2.1 Invoice/CreditNote conforming to CIUS-RO 1.0.1 (ANAF e-Factura).

Pure: no I/O. The UBL comes from the shared builder (ubl.py); CIUS-RO adds to EN 16931 only its
CustomizationID, its addresses and its buyers not registered for VAT: for a Romanian party the
country subdivision (BT-39/BT-54) is an ISO 3166-2:RO code (BR-RO-110/111), and in Bucharest the
city is SECTOR1..SECTOR6 (BR-RO-100/101). A Romanian buyer whose CUI has no RO prefix is not
registered for VAT: its CUI is the buyer's legal registration identifier (BT-47,
cac:PartyLegalEntity/cbc:CompanyID) and the document carries no buyer VAT identifier (BT-48),
which BR-CO-09 would refuse without its country prefix. A buyer left without a VAT identifier
by BR-O-02 is identified the same way, as BR-RO-120 asks.

Not rendered yet (the request model has no field for them): document allowances/charges, and the
VAT total in RON for a non-RON invoice (BT-6/BT-111, which BR-RO-030 requires and which needs an
exchange rate): the RO gate (schematron/cius-ro.sch) reports BR-RO-030 for such an invoice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from clearway.countries.vat_numbers import vat_number_prefix
from clearway.formats.en16931 import (
    PostalAddress,
    SchemedId,
    TradeParty,
    build_document,
    rendered,
)
from clearway.formats.ubl import write_ubl
from clearway.governments.ro.identifiers import cif_digits, ro_subdivision

if TYPE_CHECKING:
    from clearway.domain.invoice import InvoiceRequest
    from clearway.formats.en16931 import Document

CIUS_RO_CUSTOMIZATION_ID = (
    "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"
)


def cius_ro_document(invoice: InvoiceRequest, *, invoice_number: str) -> Document:
    document = build_document(
        invoice, invoice_number=invoice_number, customization_id=CIUS_RO_CUSTOMIZATION_ID
    )
    buyer = _ro_party(document.buyer)
    if _buyer_without_vat_registration(invoice):
        buyer = replace(buyer, vat_id=None, legal_id=SchemedId(_cui(invoice.customer.vat_number)))
    elif buyer.vat_id is None and buyer.legal_id is None:
        # An O invoice carries no buyer VAT identifier (BR-O-02), but BR-RO-120 wants the buyer
        # identified: its number goes as the legal registration identifier instead.
        buyer = replace(buyer, legal_id=SchemedId(_buyer_number(invoice)))
    return replace(document, seller=_ro_party(document.seller), buyer=buyer)


# The UBL document for ANAF. Raises clearway.governments.ro.identifiers.UnknownRomanianCounty
# when a Romanian address has no county or Bucharest sector that can be determined (the
# validator reports that before conversion).
render_ubl_cius_ro = rendered(cius_ro_document, write_ubl)


def _romanian_buyer(invoice: InvoiceRequest) -> bool:
    address = invoice.customer.address
    return address is None or address.country == "RO"


def _buyer_without_vat_registration(invoice: InvoiceRequest) -> bool:
    return _romanian_buyer(invoice) and vat_number_prefix(invoice.customer.vat_number) is None


def _buyer_number(invoice: InvoiceRequest) -> str:
    number = invoice.customer.vat_number
    return _cui(number) if _romanian_buyer(invoice) else number


def _cui(number: str) -> str:
    try:
        return cif_digits(number)
    except ValueError:
        return number  # not a CUI: the validator refuses it (CW-RO-03)


def _ro_party(party: TradeParty) -> TradeParty:
    if party.address is None:
        return party
    return replace(party, address=_ro_address(party.address))


def _ro_address(address: PostalAddress) -> PostalAddress:
    if address.country != "RO":
        return address
    subdivision = ro_subdivision(address.city, address.postal_code, address.subdivision)
    return replace(
        address, city=subdivision.city_name or None, subdivision=subdivision.country_subentity
    )

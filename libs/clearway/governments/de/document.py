"""JSON invoice -> XRechnung 3.0 (Germany), in UBL 2.1 and in UN/CEFACT CII D16B.

Pure: no I/O. Both syntaxes come from the shared writers (ubl.py, cii.py); XRechnung adds to
EN 16931 its CustomizationID (BT-24; the 2.x form urn:xoev-de:kosit:standard:... fails scenario
matching in the KoSIT validator), the Peppol billing ProfileID, and what its rules ask:
- BT-10 buyer reference (BR-DE-15): the request's buyerReference, else the buyer's Leitweg-ID.
- BG-6 seller contact (BR-DE-2, 5, 6, 7): the request's Party has phone and e-mail but no
  contact point name, so the seller's name stands for the contact point (BT-41).
- Electronic addresses (BT-34/BT-49, PEPPOL-EN16931-R020/R010): the peppolId; for the buyer, else
  its Leitweg-ID (EAS 0204); else the party's e-mail (EAS EM). The validator refuses a buyer
  with none of the three (no rule says how to derive one).
- Skonto terms (BR-DE-18): a payment-terms text whose last line is a #SKONTO#…# entry gets the
  line break XRechnung wants after every entry (the API's text fields are stripped, so a
  trailing one never arrives).
- BR-DE-14: every VAT breakdown states its rate, so "not subject to VAT" (O) states 0.
- Deliver-to address (BR-DE-10/11): for an intra-community supply EN 16931 needs BG-15 with the
  country (BR-IC-12), which is the buyer's address; XRechnung then needs its city and post code
  too, so the whole buyer address is written (the validator makes sure it has them).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from clearway.domain.invoice import VatCategory
from clearway.formats.cii import write_cii
from clearway.formats.en16931 import (
    Contact,
    SchemedId,
    build_document,
    email_endpoint,
    rendered,
)
from clearway.formats.ubl import write_ubl
from clearway.governments.peppol.document import PEPPOL_BILLING_PROFILE_ID

if TYPE_CHECKING:
    from clearway.domain.invoice import InvoiceRequest
    from clearway.formats.en16931 import Delivery, Document, VatSubtotal

XRECHNUNG_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
LEITWEG_SCHEME = "0204"
SKONTO_ENTRY_START = "#"


def xrechnung_document(invoice: InvoiceRequest, *, invoice_number: str) -> Document:
    document = build_document(
        invoice,
        invoice_number=invoice_number,
        customization_id=XRECHNUNG_CUSTOMIZATION_ID,
        business_process=PEPPOL_BILLING_PROFILE_ID,
    )
    supplier, customer = invoice.supplier, invoice.customer
    seller = replace(
        document.seller,
        endpoint=document.seller.endpoint or email_endpoint(supplier),
        contact=Contact(name=supplier.name, phone=supplier.phone, email=supplier.email),
    )
    leitweg = SchemedId(customer.leitweg_id, LEITWEG_SCHEME) if customer.leitweg_id else None
    buyer = replace(
        document.buyer, endpoint=document.buyer.endpoint or leitweg or email_endpoint(customer)
    )
    return replace(
        document,
        buyer_reference=invoice.buyer_reference or customer.leitweg_id,
        seller=seller,
        buyer=buyer,
        payment_terms=skonto_terminated(document.payment_terms),
        vat_breakdown=tuple(_with_rate(vat) for vat in document.vat_breakdown),
        delivery=_deliver_to_buyer_address(document.delivery, invoice),
    )


# XRechnung 3.0 as a UBL 2.1 Invoice or CreditNote, and as a UN/CEFACT CrossIndustryInvoice.
render_xrechnung_ubl = rendered(xrechnung_document, write_ubl)
render_xrechnung_cii = rendered(xrechnung_document, write_cii)


def skonto_terminated(terms: str | None) -> str | None:
    """BR-DE-18: the terms with a line break after the last line when it is a Skonto entry."""
    if terms is None:
        return None
    last_line = terms.splitlines()[-1] if terms.splitlines() else ""
    if last_line.strip().startswith(SKONTO_ENTRY_START):
        return terms + "\n"
    return terms


def _with_rate(vat: VatSubtotal) -> VatSubtotal:
    if vat.rate is None and vat.category == VatCategory.OUTSIDE_SCOPE:
        return replace(vat, rate=Decimal(0))
    return vat


def _deliver_to_buyer_address(
    delivery: Delivery | None, invoice: InvoiceRequest
) -> Delivery | None:
    address = invoice.customer.address
    if delivery is None or address is None or delivery.country != address.country:
        return delivery
    return replace(
        delivery, street=address.street, city=address.city, postal_code=address.postal_code
    )

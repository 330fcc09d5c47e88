"""JSON invoice -> XRechnung 3.0 (Germany), in UBL 2.1 and in UN/CEFACT CII D16B.

Pure: no I/O. Both syntaxes come from the shared writers (ubl.py, cii.py); XRechnung adds to
EN 16931 its CustomizationID (BT-24; the 2.x form urn:xoev-de:kosit:standard:... fails scenario
matching in the KoSIT validator), the Peppol billing ProfileID, and what its BR-DE rules ask:
- BT-10 buyer reference (BR-DE-15): the request's buyerReference, else the buyer's Leitweg-ID.
- BG-6 seller contact (BR-DE-2, 5, 6, 7): the request's Party has phone and e-mail but no
  contact point name, so the seller's name stands for the contact point (BT-41).
- Electronic addresses (BT-34/BT-49): the peppolId; for the buyer, else its Leitweg-ID (EAS 0204);
  else the party's e-mail (EAS EM).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from clearway.formats.cii import write_cii
from clearway.formats.en16931 import Contact, SchemedId, build_document, email_endpoint
from clearway.formats.peppol_bis import PEPPOL_BILLING_PROFILE_ID
from clearway.formats.ubl import write_ubl

if TYPE_CHECKING:
    from clearway.domain.invoice import InvoiceRequest
    from clearway.formats.en16931 import Document

XRECHNUNG_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
LEITWEG_SCHEME = "0204"


def render_xrechnung_ubl(invoice: InvoiceRequest, *, invoice_number: str) -> bytes:
    """XRechnung 3.0 as a UBL 2.1 Invoice or CreditNote."""
    return write_ubl(xrechnung_document(invoice, invoice_number=invoice_number))


def render_xrechnung_cii(invoice: InvoiceRequest, *, invoice_number: str) -> bytes:
    """XRechnung 3.0 as a UN/CEFACT CrossIndustryInvoice (D16B)."""
    return write_cii(xrechnung_document(invoice, invoice_number=invoice_number))


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
    leitweg = SchemedId(customer.leitwegId, LEITWEG_SCHEME) if customer.leitwegId else None
    buyer = replace(
        document.buyer, endpoint=document.buyer.endpoint or leitweg or email_endpoint(customer)
    )
    return replace(
        document,
        buyer_reference=invoice.buyerReference or customer.leitwegId,
        seller=seller,
        buyer=buyer,
    )

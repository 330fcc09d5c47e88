"""From a gate finding's XPath back to the JSON field the caller sent. Pure.

Where the document's element came from one part of the request, the finding points there; a
finding on totals points at the lines they are computed from; anything else points at the root.
"""

from __future__ import annotations

import re

_LINE = re.compile(
    r"(?:InvoiceLine|CreditNoteLine|IncludedSupplyChainTradeLineItem|DettaglioLinee|FaWiersz)"
    r"\[(\d+)\]"
)
_PARTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"AccountingSupplierParty|SellerTradeParty|CedentePrestatore|Podmiot1"),
        "/supplier",
    ),
    (
        re.compile(r"AccountingCustomerParty|BuyerTradeParty|CessionarioCommittente|Podmiot2"),
        "/customer",
    ),
    (re.compile(r"PaymentMeans|PaymentTerms|DatiPagamento|Platnosc"), "/paymentMeans"),
    (
        re.compile(r"BillingReference|InvoiceReferencedDocument|DatiFattureCollegate"),
        "/precedingInvoice",
    ),
    (re.compile(r"AdditionalDocumentReference|Allegati"), "/attachments"),
    # The deliver-to address (BG-15) is written from the buyer's address (intra-community supply).
    (re.compile(r"cac:Delivery\[|ShipToTradeParty"), "/customer/address"),
    (re.compile(r"LegalMonetaryTotal|TaxTotal|MonetarySummation|DatiRiepilogo"), "/lines"),
)
_ADDRESS = re.compile(r"PostalAddress|PostalTradeAddress|Sede|Adres\b")


def json_pointer_for(location: str) -> str:
    line = _LINE.search(location)
    if line is not None:
        return f"/lines/{int(line.group(1)) - 1}"
    for pattern, pointer in _PARTS:
        if pattern.search(location):
            if pointer in {"/supplier", "/customer"} and _ADDRESS.search(location):
                return f"{pointer}/address"
            return pointer
    return "/"

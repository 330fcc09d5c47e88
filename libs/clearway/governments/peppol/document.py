"""JSON invoice -> Peppol BIS Billing 3.0 UBL (Belgium's B2B e-invoicing network).

Pure: no I/O. The UBL comes from the shared builder (ubl.py); Peppol BIS adds to EN 16931 its
CustomizationID and ProfileID and the electronic addresses (BT-34/BT-49, mandatory in Peppol:
PEPPOL-EN16931-R010/R020), which come from the parties' peppolId ("0208:0123456749" is
EndpointID schemeID="0208"). A Belgian party without a peppolId is addressed by its enterprise
number (0208), which is its VAT number without "BE"; another party without one gets no
EndpointID, and the gate says so. A 0208 address also gives the party's legal registration
identifier (BT-30), which a party with no VAT identifier needs (BR-CO-26).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from clearway.formats.en16931 import SchemedId, build_document, rendered
from clearway.formats.ubl import write_ubl

if TYPE_CHECKING:
    from clearway.domain.invoice import InvoiceRequest, Party
    from clearway.formats.en16931 import Document, TradeParty

PEPPOL_BIS_CUSTOMIZATION_ID = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
)
PEPPOL_BILLING_PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
BELGIAN_ENTERPRISE_SCHEME = "0208"
_ENTERPRISE_NUMBER_DIGITS = 10


def peppol_bis_document(invoice: InvoiceRequest, *, invoice_number: str) -> Document:
    document = build_document(
        invoice,
        invoice_number=invoice_number,
        customization_id=PEPPOL_BIS_CUSTOMIZATION_ID,
        business_process=PEPPOL_BILLING_PROFILE_ID,
    )
    return replace(
        document,
        seller=_peppol_party(invoice.supplier, document.seller),
        buyer=_peppol_party(invoice.customer, document.buyer),
    )


render_peppol_bis = rendered(peppol_bis_document, write_ubl)  # Peppol BIS Billing 3.0 UBL


def belgian_enterprise_number(vat_number: str) -> str | None:
    """BE0123456749 (or "BE 0123.456.749") -> 0123456749; None for another country's number."""
    compact = "".join(ch for ch in vat_number.upper() if ch.isalnum())
    if not compact.startswith("BE"):
        return None
    digits = compact.removeprefix("BE")
    return digits if len(digits) == _ENTERPRISE_NUMBER_DIGITS and digits.isdigit() else None


def _peppol_party(party: Party, trade_party: TradeParty) -> TradeParty:
    endpoint = trade_party.endpoint
    if endpoint is None:
        enterprise_number = belgian_enterprise_number(party.vat_number)
        if enterprise_number is not None:
            endpoint = SchemedId(enterprise_number, BELGIAN_ENTERPRISE_SCHEME)
    legal_id = trade_party.legal_id
    if legal_id is None and endpoint is not None and endpoint.scheme == BELGIAN_ENTERPRISE_SCHEME:
        legal_id = endpoint
    return replace(trade_party, endpoint=endpoint, legal_id=legal_id)

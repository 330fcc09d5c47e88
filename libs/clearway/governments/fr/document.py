"""JSON invoice -> the French reform's formats: EN 16931 UBL, EN 16931 CII, and Factur-X.

Pure: no I/O of its own (the factur-x package writes a temporary file while it builds the PDF).
The XML comes from the shared writers (ubl.py, cii.py); France adds to EN 16931 what its CTC
rules (BR-FR, flux 2) ask:
- BT-23 billing framework ("cadre de facturation", BR-FR-08): the request cannot say whether it
  bills goods, services or both, so every document is M1 (goods and services). A request field
  for it is needed before the reform goes live.
- Seller SIREN (BT-30, scheme 0002; BR-FR-10): from the party's siret, else from its French VAT
  number (FR, key, SIREN); the SIRET itself is BT-29 (scheme 0009; BR-FR-09). The same for a
  French buyer.
- Electronic addresses (BT-34/BT-49, mandatory: BR-FR-12/13): the peppolId; else the SIREN in
  the French directory's scheme 0225; else the party's e-mail (EAS EM).
- The three mandatory mentions (BR-FR-05) as notes with their subject codes: recovery costs
  (PMT), late-payment penalties (PMD) and early-payment discount (AAB). The request has no
  field for them, so each carries the legal default of the Code de commerce (art. L441-10 and
  D441-5): the fixed EUR 40 indemnity, the ECB rate plus 10 points, and no discount.
- Factur-X: the CII document (its EN16931 profile's guideline id is EN 16931's own,
  urn:cen.eu:en16931:2017) embedded in a PDF by the factur-x package (see pdf.py for the PDF).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from clearway.domain.invoice import money_str
from clearway.formats.cii import write_cii
from clearway.formats.en16931 import Note, SchemedId, build_document, email_endpoint, rendered
from clearway.formats.pdf import text_page_pdf
from clearway.formats.ubl import write_ubl
from clearway.governments.fr.identifiers import siren_of

if TYPE_CHECKING:
    from clearway.domain.invoice import InvoiceRequest, Party
    from clearway.formats.en16931 import Document, TradeParty

EN16931_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017"
BILLING_FRAMEWORK_GOODS_AND_SERVICES = "M1"
SIREN_SCHEME = "0002"
SIRET_SCHEME = "0009"
FRENCH_DIRECTORY_SCHEME = "0225"

LEGAL_MENTIONS = (
    Note(
        "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €.",
        "PMT",
    ),
    Note(
        "Pénalités de retard : taux de refinancement de la BCE majoré de 10 points, exigibles "
        "le jour suivant la date d'échéance.",
        "PMD",
    ),
    Note("Pas d'escompte pour paiement anticipé.", "AAB"),
)


def render_factur_x(invoice: InvoiceRequest, *, invoice_number: str) -> bytes:
    """Factur-X EN16931: a PDF with the CII invoice embedded as factur-x.xml."""
    document = french_document(invoice, invoice_number=invoice_number)
    return factur_x_pdf(document, write_cii(document))


def factur_x_pdf(document: Document, cii_xml: bytes) -> bytes:
    """The CII XML embedded in a minimal PDF, with the Factur-X PDF/A-3 metadata."""
    # Imported here: factur-x pulls in pypdf and requests, which only Factur-X needs.
    import facturx  # type: ignore[import-untyped]  # noqa: PLC0415

    pdf: bytes = facturx.generate_from_binary(
        text_page_pdf(_visible_lines(document)),
        cii_xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,  # the gate has the schema; this would only read it again
        pdf_metadata={
            "author": document.seller.name,
            "keywords": "Factur-X, Invoice",
            "title": f"{document.seller.name}: Invoice {document.number}",
            "subject": f"Factur-X invoice {document.number} dated "
            f"{document.issue_date.isoformat()} issued by {document.seller.name}",
        },
        lang="fr-FR",
    )
    return pdf


def french_document(invoice: InvoiceRequest, *, invoice_number: str) -> Document:
    document = build_document(
        invoice,
        invoice_number=invoice_number,
        customization_id=EN16931_CUSTOMIZATION_ID,
        business_process=BILLING_FRAMEWORK_GOODS_AND_SERVICES,
    )
    return replace(
        document,
        notes=(*document.notes, *LEGAL_MENTIONS),
        seller=_french_party(invoice.supplier, document.seller),
        buyer=_french_party(invoice.customer, document.buyer),
    )


# EN 16931 UBL 2.1 and CII D16B with the French CTC additions (the CII is also Factur-X's XML).
render_en16931_ubl = rendered(french_document, write_ubl)
render_en16931_cii = rendered(french_document, write_cii)


def _french_party(party: Party, trade_party: TradeParty) -> TradeParty:
    siren = siren_of(party)
    identifiers = trade_party.identifiers
    legal_id = trade_party.legal_id
    if siren is not None:
        legal_id = SchemedId(siren, SIREN_SCHEME)
        siret = "".join((party.siret or "").split())
        if siret.startswith(siren):
            identifiers = (SchemedId(siret, SIRET_SCHEME),)
    endpoint = (
        trade_party.endpoint
        or (SchemedId(siren, FRENCH_DIRECTORY_SCHEME) if siren is not None else None)
        or email_endpoint(party)
    )
    return replace(trade_party, identifiers=identifiers, legal_id=legal_id, endpoint=endpoint)


def _visible_lines(document: Document) -> list[str]:
    kind = "Avoir" if document.is_credit_note else "Facture"
    lines = [
        f"{kind} {document.number} du {document.issue_date.isoformat()}",
        "",
        f"Vendeur : {document.seller.name}" + _vat_suffix(document.seller),
        f"Acheteur : {document.buyer.name}" + _vat_suffix(document.buyer),
        "",
    ]
    lines += [
        f"{line.line_id}. {line.name} : {line.quantity.normalize():f} x "
        f"{line.net_price.normalize():f} = {money_str(line.net_amount)} {document.currency}"
        for line in document.lines
    ]
    totals = document.totals
    lines += [
        "",
        f"Total HT : {money_str(totals.tax_exclusive)} {document.currency}",
        f"TVA : {money_str(totals.tax)} {document.currency}",
        f"Total TTC : {money_str(totals.tax_inclusive)} {document.currency}",
        f"Net à payer : {money_str(totals.payable)} {document.currency}",
        "",
        *(note.text for note in document.notes),
        "",
        "La facture structurée (factur-x.xml, EN 16931) est jointe à ce PDF.",
    ]
    return lines


def _vat_suffix(party: TradeParty) -> str:
    return f" (TVA {party.vat_id})" if party.vat_id else ""

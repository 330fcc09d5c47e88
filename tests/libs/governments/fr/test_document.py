"""France: EN 16931 UBL and CII with the CTC additions, and Factur-X."""

from __future__ import annotations

import io

from clearway.governments.fr.document import (
    BILLING_FRAMEWORK_GOODS_AND_SERVICES,
    EN16931_CUSTOMIZATION_ID,
    render_en16931_cii,
    render_en16931_ubl,
    render_factur_x,
    siren_of,
)
from lxml import etree
from pypdf import PdfReader

from tests.libs.formats.corpus import base_request, invoice
from tests.libs.formats.support import NS

AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"


def ubl(case: str | None = None, **changes: object) -> etree._Element:
    return etree.fromstring(render_en16931_ubl(invoice("FR", case, **changes), invoice_number="F1"))


def cii(case: str | None = None, **changes: object) -> etree._Element:
    return etree.fromstring(render_en16931_cii(invoice("FR", case, **changes), invoice_number="F1"))


def test_specification_and_billing_framework() -> None:
    root = ubl()
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == EN16931_CUSTOMIZATION_ID
    assert root.findtext("cbc:ProfileID", namespaces=NS) == "M1"
    process = "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter"
    assert (
        cii().findtext(f"{process}/ram:ID", namespaces=NS) == BILLING_FRAMEWORK_GOODS_AND_SERVICES
    )


def test_mandatory_mentions_are_coded_notes() -> None:
    notes = [n.text or "" for n in ubl().findall("cbc:Note", NS)]
    assert notes[0] == "Thank you for your business."
    assert [note[:5] for note in notes[1:]] == ["#PMT#", "#PMD#", "#AAB#"]
    assert "40 €" in notes[1]
    included = cii().findall("rsm:ExchangedDocument/ram:IncludedNote", NS)
    assert [n.findtext("ram:SubjectCode", namespaces=NS) for n in included] == [
        None,
        "PMT",
        "PMD",
        "AAB",
    ]
    assert included[3].findtext("ram:Content", namespaces=NS) == (
        "Pas d'escompte pour paiement anticipé."
    )


def test_siren_siret_and_directory_address() -> None:
    seller = ubl().find("cac:AccountingSupplierParty/cac:Party", NS)
    assert seller is not None

    def scheme_and_text(path: str) -> tuple[str | None, str | None]:
        element = seller.find(path, NS)
        assert element is not None, path
        return element.get("schemeID"), element.text

    assert scheme_and_text("cbc:EndpointID") == ("0225", "732829320")
    assert scheme_and_text("cac:PartyIdentification/cbc:ID") == ("0009", "73282932000074")
    assert scheme_and_text("cac:PartyLegalEntity/cbc:CompanyID") == ("0002", "732829320")
    buyer = cii().find(f"{AGREEMENT}/ram:BuyerTradeParty", NS)
    assert buyer is not None
    global_id = buyer.find("ram:GlobalID", NS)
    assert global_id is not None
    assert (global_id.get("schemeID"), global_id.text) == ("0009", "54206547900016")


def test_siren_from_the_siret_or_the_french_vat_number() -> None:
    supplier = invoice("FR").supplier
    assert siren_of(supplier) == "732829320"
    assert siren_of(supplier.model_copy(update={"siret": None})) == "732829320"
    foreign = invoice("FR", "intra_community").customer
    assert siren_of(foreign) is None


def test_foreign_buyer_is_addressed_by_email() -> None:
    endpoint = ubl("intra_community").find(
        "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS
    )
    assert endpoint is not None
    assert (endpoint.get("schemeID"), endpoint.text) == ("EM", "einkauf@kaeufer.de")
    customer = base_request("FR")["customer"]
    assert "siret" in customer


def test_factur_x_pdf_shows_the_invoice() -> None:
    pdf = render_factur_x(invoice("FR", "credit_note"), invoice_number="AV-2026-7")
    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert "Avoir AV-2026-7 du 2026-03-02" in text
    assert "Total TTC : 1232.71 EUR" in text
    assert "factur-x.xml" in text
    assert reader.metadata is not None
    assert reader.metadata.title == "Exemple Conseil SAS: Invoice AV-2026-7"
    assert "factur-x.xml" in reader.attachments

"""What the document tests share: namespaces, asserting look-ups, tampering, the Romanian seed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearway.domain.invoice import InvoiceRequest
from clearway.formats import XML, render
from clearway.formats.conformance import ConformanceFinding
from clearway.governments.pl.document import NS_FA3
from lxml import etree

from tests.libs.formats.corpus import invoice

if TYPE_CHECKING:
    from clearway.formats.reading import ReadInvoice
    from clearway.governments.base import Government

SEED_INVOICE = Path(__file__).parents[2] / "fixtures" / "seed_ro_invoice.json"

# One map for every syntax: a prefix a path does not use is ignored, and unprefixed paths
# (FatturaPA's unqualified children) still match elements in no namespace.
NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "fa": NS_FA3,
}

# Runs of UBL 2.1's top-level sequence that every UBL document here has: the header after the
# customization (and profile), and the parties, payment and totals before the lines.
UBL_HEADER = ["ID", "IssueDate", "DueDate", "InvoiceTypeCode", "Note", "DocumentCurrencyCode"]
UBL_PARTIES_TO_TOTALS = [
    "AccountingSupplierParty",
    "AccountingCustomerParty",
    "PaymentMeans",
    "PaymentTerms",
    "TaxTotal",
    "LegalMonetaryTotal",
]

# The seed's supplier with a trade register entry and a contact: fields the seed leaves out.
SUPPLIER_REGISTER_AND_CONTACT = {
    "tradeRegister": "J40/1234/2020",
    "email": "billing@techvision.ro",
    "phone": "+40 21 123 4567",
}
MUNICH_CUSTOMER: dict[str, Any] = {
    "vatNumber": "DE123456789",
    "name": "Kunde GmbH",
    "address": {
        "street": "Hauptstraße 1",
        "city": "München",
        "postalCode": "80331",
        "country": "DE",
    },
}


def seed_invoice(**changes: Any) -> InvoiceRequest:
    """The Romanian seed invoice, with top-level fields replaced by changes."""
    invoice = InvoiceRequest.model_validate_json(SEED_INVOICE.read_bytes())
    return invoice.model_validate(invoice.model_dump() | changes)


def rendered_tree(
    country: str, case: str | None = None, *, format_name: str | None = None, **changes: object
) -> etree._Element:
    """The country's corpus invoice (the named case, with `changes`) rendered as INV-1 in the
    country's format or `format_name`, parsed."""
    request = invoice(country, case, **changes)
    rendered = render(request, invoice_number="INV-1", country=country, format=format_name)
    return etree.fromstring(rendered.xml)


def find(element: etree._Element, path: str) -> etree._Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found


def text(element: etree._Element, path: str) -> str:
    found = element.findtext(path, namespaces=NS)
    assert found is not None, path
    return found


def assert_texts(element: etree._Element, expected: dict[str, str]) -> None:
    """The text at each path of `expected` under `element` is the one it names (all compared in
    one assertion, so that a failure shows every difference)."""
    assert {path: text(element, path) for path in expected} == expected


def texts(element: etree._Element, path: str) -> list[str]:
    return [child.text or "" for child in element.iterfind(path, NS)]


def names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def rule_ids(findings: list[ConformanceFinding]) -> set[str]:
    return {finding.rule_id for finding in findings}


def read_tampered(
    government: Government, xml: bytes, *edits: tuple[str, str | None]
) -> tuple[ReadInvoice, ReadInvoice]:
    """`xml` read by `government` with the edits (path, new text) made to it, and as it is:
    (tampered, honest)."""
    honest = government.read_document(xml, XML)
    for path, new_text in edits:
        xml = tampered(xml, path, new_text)
    return government.read_document(xml, XML), honest


def tampered(xml: bytes, path: str, new_text: str | None) -> bytes:
    """The document with the element at path given new text, or removed when new_text is None."""
    root = etree.fromstring(xml)
    element = find(root, path)
    if new_text is None:
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)
    else:
        element.text = new_text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

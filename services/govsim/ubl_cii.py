"""Reading the EN 16931 syntaxes the Peppol, French and German simulators receive: UBL 2.1
(Invoice, CreditNote) and UN/CEFACT CII (CrossIndustryInvoice D16B), by the business terms the
simulators check. Paths follow the EN 16931 syntax bindings (BT-24 CustomizationID / guideline,
BT-1 number, BT-2 issue date, BT-10 buyer reference, BT-30/BT-47 legal registration IDs,
BT-34/BT-49 electronic addresses).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from lxml import etree

from services.govsim.untrusted_xml import child_text

if TYPE_CHECKING:
    from collections.abc import Mapping

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NAMESPACES = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": CII_NS,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}

PEPPOL_BIS3 = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG_3 = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
# XRechnung's extension (used with the PEPPOL transport) builds on the same prefix.
XRECHNUNG_3_EXTENSION = (
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    "#conformant#urn:xeinkauf.de:kosit:extension:xrechnung_3.0"
)


class Syntax(StrEnum):
    UBL_INVOICE = "UBL Invoice"
    UBL_CREDIT_NOTE = "UBL CreditNote"
    CII = "CII"


ROOTS = {
    etree.QName(UBL_INVOICE_NS, "Invoice"): Syntax.UBL_INVOICE,
    etree.QName(UBL_CREDIT_NOTE_NS, "CreditNote"): Syntax.UBL_CREDIT_NOTE,
    etree.QName(CII_NS, "CrossIndustryInvoice"): Syntax.CII,
}


@dataclass(frozen=True)
class PartyIds:
    legal_id: str  # BT-30 / BT-47
    legal_scheme: str  # its schemeID, e.g. 0002 (SIREN)
    endpoint_id: str  # BT-34 / BT-49
    endpoint_scheme: str


@dataclass(frozen=True)
class BusinessDocument:
    """The business terms the simulators decide on; "" when a term is absent."""

    syntax: Syntax
    root_name: str
    customization_id: str
    number: str
    issue_date: str  # ISO 8601 (CII's format 102 converted)
    buyer_reference: str
    seller: PartyIds
    buyer: PartyIds


def syntax_of(root: etree._Element) -> Syntax | None:
    return ROOTS.get(etree.QName(root))


def read_document(root: etree._Element) -> BusinessDocument | None:
    """The document's business terms, or None when the root is neither UBL nor CII."""
    syntax = syntax_of(root)
    if syntax is None:
        return None
    if syntax is Syntax.CII:
        return _read_cii(root)
    return _read_ubl(root, syntax)


def _read_ubl(root: etree._Element, syntax: Syntax) -> BusinessDocument:
    return BusinessDocument(
        syntax=syntax,
        root_name=etree.QName(root).localname,
        customization_id=_text(root, "cbc:CustomizationID"),
        number=_text(root, "cbc:ID"),
        issue_date=_text(root, "cbc:IssueDate"),
        buyer_reference=_text(root, "cbc:BuyerReference"),
        seller=_ubl_party(root.find("cac:AccountingSupplierParty/cac:Party", NAMESPACES)),
        buyer=_ubl_party(root.find("cac:AccountingCustomerParty/cac:Party", NAMESPACES)),
    )


def _ubl_party(party: etree._Element | None) -> PartyIds:
    legal = (
        party.find("cac:PartyLegalEntity/cbc:CompanyID", NAMESPACES) if party is not None else None
    )
    endpoint = party.find("cbc:EndpointID", NAMESPACES) if party is not None else None
    return PartyIds(
        legal_id=_stripped(legal),
        legal_scheme=legal.get("schemeID", "") if legal is not None else "",
        endpoint_id=_stripped(endpoint),
        endpoint_scheme=endpoint.get("schemeID", "") if endpoint is not None else "",
    )


def _read_cii(root: etree._Element) -> BusinessDocument:
    agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/"
    raw_date = _text(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
    issue_date = (
        f"{raw_date[:4]}-{raw_date[4:6]}-{raw_date[6:8]}"
        if len(raw_date) == 8 and raw_date.isdigit()  # format 102 is YYYYMMDD
        else raw_date
    )
    return BusinessDocument(
        syntax=Syntax.CII,
        root_name="CrossIndustryInvoice",
        customization_id=_text(
            root,
            "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        ),
        number=_text(root, "rsm:ExchangedDocument/ram:ID"),
        issue_date=issue_date,
        buyer_reference=_text(root, agreement + "ram:BuyerReference"),
        seller=_cii_party(root.find(agreement + "ram:SellerTradeParty", NAMESPACES)),
        buyer=_cii_party(root.find(agreement + "ram:BuyerTradeParty", NAMESPACES)),
    )


def _cii_party(party: etree._Element | None) -> PartyIds:
    legal = (
        party.find("ram:SpecifiedLegalOrganization/ram:ID", NAMESPACES)
        if party is not None
        else None
    )
    endpoint = (
        party.find("ram:URIUniversalCommunication/ram:URIID", NAMESPACES)
        if party is not None
        else None
    )
    return PartyIds(
        legal_id=_stripped(legal),
        legal_scheme=legal.get("schemeID", "") if legal is not None else "",
        endpoint_id=_stripped(endpoint),
        endpoint_scheme=endpoint.get("schemeID", "") if endpoint is not None else "",
    )


def _text(root: etree._Element, path: str, namespaces: Mapping[str, str] = NAMESPACES) -> str:
    return child_text(root, path, namespaces)


def _stripped(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""

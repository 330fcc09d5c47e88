"""The Peppol BIS 3 Invoice Response (transaction T111): a UBL ApplicationResponse from the buyer
to the supplier about one invoice it received over Peppol. Pure.

What it says comes from the received invoice's own document (UBL Invoice or CreditNote, or CII):
the supplier's participant id (its EndpointID / URIID with the scheme), the buyer's (the one the
invoice was addressed to), their names, and the invoice's id, issue date and type code. The
decision is the response code of UNCL4343's Peppol subset: AP accepted, or RE rejected with a
clarification (PEPPOL-T111-R001: CA, UQ and RE need a StatusReasonCode; the reason code OTH
"other" carries the buyer's words in StatusReason, as PEPPOL-T111-R002 asks).

    ApplicationResponse  CustomizationID, ProfileID, ID, IssueDate
      SenderParty        EndpointID@schemeID (the buyer), PartyLegalEntity/RegistrationName
      ReceiverParty      EndpointID@schemeID (the supplier), PartyLegalEntity/RegistrationName
      DocumentResponse
        Response         ResponseCode@listID=UNCL4343OpSubset, Status (RE: reason code + text)
        DocumentReference  ID, IssueDate, DocumentTypeCode (the invoice's)
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from lxml import etree

from clearway.domain.responses import BuyerResponse, Decision
from clearway.formats.hardened import UnreadableDocumentError, hardened_parser
from clearway.governments.responding import ResponseImpossibleError

CUSTOMIZATION_ID = "urn:fdc:peppol.eu:poacc:trns:invoice_response:3"
PROFILE_ID = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
APPLICATION_RESPONSE_NS = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
DOCUMENT_TYPE = f"{APPLICATION_RESPONSE_NS}::ApplicationResponse##{CUSTOMIZATION_ID}::2.1"
PROCESS = PROFILE_ID
RESPONSE_CODE_LIST = "UNCL4343OpSubset"
REASON_CODE_LIST = "OPStatusReason"
ACCEPTED, REJECTED = "AP", "RE"
OTHER_REASON = "OTH"  # the buyer's own words follow in StatusReason

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_NS = {
    "cbc": CBC,
    "cac": CAC,
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
_UBL_ROOTS = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": ("Invoice", "InvoiceTypeCode"),
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": (
        "CreditNote",
        "CreditNoteTypeCode",
    ),
}
_ICD = re.compile(r"\d{4}")  # a Peppol participant's scheme: an ISO 6523 ICD (EM is an e-mail)
_INSTANCE_NAMESPACE = uuid.UUID("0b3e6a52-5d7e-4c1b-9f0e-7a2d8c4b1e93")


@dataclass(frozen=True)
class Party:
    scheme: str  # the ICD of the participant id: "0208"
    endpoint: str  # "0123456749"
    name: str

    @property
    def participant_id(self) -> str:
        return f"{self.scheme}:{self.endpoint}"


@dataclass(frozen=True)
class ReferencedInvoice:
    """What an Invoice Response says of the invoice it answers, from the invoice itself."""

    invoice_id: str
    issue_date: dt.date | None
    type_code: str | None
    supplier: Party
    buyer: Party


def referenced_invoice(document: bytes) -> ReferencedInvoice:
    """The invoice's id, date, type and both parties' participant ids, from its UBL or CII;
    ResponseImpossibleError saying what is missing (an Invoice Response needs both parties'
    EndpointIDs and the invoice's id)."""
    try:
        root = etree.fromstring(document, hardened_parser())
    except (etree.XMLSyntaxError, UnreadableDocumentError) as error:
        raise ResponseImpossibleError(
            f"the received document is not readable XML: {error}"
        ) from error
    name = etree.QName(root)
    if name.namespace in _UBL_ROOTS and name.localname == _UBL_ROOTS[name.namespace][0]:
        return _from_ubl(root, _UBL_ROOTS[name.namespace][1])
    if name.namespace == _NS["rsm"] and name.localname == "CrossIndustryInvoice":
        return _from_cii(root)
    raise ResponseImpossibleError(f"the received document ({name}) is not a UBL or CII invoice")


def _text(root: etree._Element, path: str) -> str | None:
    found = root.find(path, _NS)
    return (found.text or "").strip() or None if found is not None else None


def _party(root: etree._Element, path: str, name_paths: tuple[str, ...], role: str) -> Party:
    endpoint = root.find(path, _NS)
    value = (endpoint.text or "").strip() if endpoint is not None else ""
    scheme = (endpoint.get("schemeID") or "").strip() if endpoint is not None else ""
    if not value or not scheme:
        raise ResponseImpossibleError(
            f"the received invoice gives no Peppol endpoint (with its scheme) for the {role}: "
            "an Invoice Response is addressed to it"
        )
    if not _ICD.fullmatch(scheme):
        raise ResponseImpossibleError(
            f"the {role}'s endpoint in the received invoice ({scheme}:{value}) is no Peppol "
            "participant id: an Invoice Response cannot be addressed to it"
        )
    name = next((text for p in name_paths if (text := _text(root, p))), value)
    return Party(scheme=scheme, endpoint=value, name=name)


def _required_id(invoice_id: str | None) -> str:
    if invoice_id is None:
        raise ResponseImpossibleError("the received invoice has no id to refer to")
    return invoice_id


def _from_ubl(root: etree._Element, type_element: str) -> ReferencedInvoice:
    supplier, customer = (
        "cac:AccountingSupplierParty/cac:Party",
        "cac:AccountingCustomerParty/cac:Party",
    )
    names = ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name")
    issued = _text(root, "cbc:IssueDate")
    return ReferencedInvoice(
        invoice_id=_required_id(_text(root, "cbc:ID")),
        issue_date=_date(issued, "%Y-%m-%d"),
        type_code=_text(root, f"cbc:{type_element}"),
        supplier=_party(root, f"{supplier}/cbc:EndpointID", _under(supplier, names), "supplier"),
        buyer=_party(root, f"{customer}/cbc:EndpointID", _under(customer, names), "buyer"),
    )


def _from_cii(root: etree._Element) -> ReferencedInvoice:
    trade = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    seller, buyer = f"{trade}/ram:SellerTradeParty", f"{trade}/ram:BuyerTradeParty"
    endpoint = "ram:URIUniversalCommunication/ram:URIID"
    names = ("ram:Name",)
    issued = _text(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
    return ReferencedInvoice(
        invoice_id=_required_id(_text(root, "rsm:ExchangedDocument/ram:ID")),
        issue_date=_date(issued, "%Y%m%d"),
        type_code=_text(root, "rsm:ExchangedDocument/ram:TypeCode"),
        supplier=_party(root, f"{seller}/{endpoint}", _under(seller, names), "supplier"),
        buyer=_party(root, f"{buyer}/{endpoint}", _under(buyer, names), "buyer"),
    )


def _under(parent: str, paths: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{parent}/{path}" for path in paths)


def _date(text: str | None, pattern: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date only
    except ValueError:
        return None


def response_id(received_id: str) -> str:
    """The Invoice Response's own id: the same at every send of one received invoice's response."""
    return f"IR-{received_id}"


def instance_identifier(received_id: str) -> str:
    """The SBDH InstanceIdentifier of the response: a UUID, the same at every send."""
    return str(uuid.uuid5(_INSTANCE_NAMESPACE, received_id))


def render_invoice_response(
    invoice: ReferencedInvoice, response: BuyerResponse, *, response_id: str, issued: dt.date
) -> bytes:
    """The Invoice Response (UBL ApplicationResponse, BIS 3) the buyer sends the supplier."""
    root = etree.Element(
        f"{{{APPLICATION_RESPONSE_NS}}}ApplicationResponse",
        nsmap={None: APPLICATION_RESPONSE_NS, "cac": CAC, "cbc": CBC},  # type: ignore[dict-item]
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", response_id)
    _cbc(root, "IssueDate", issued.isoformat())
    _party_element(root, "SenderParty", invoice.buyer)
    _party_element(root, "ReceiverParty", invoice.supplier)
    document_response = etree.SubElement(root, f"{{{CAC}}}DocumentResponse")
    answer = etree.SubElement(document_response, f"{{{CAC}}}Response")
    accepted = response.decision is Decision.ACCEPT
    code = _cbc(answer, "ResponseCode", ACCEPTED if accepted else REJECTED)
    code.set("listID", RESPONSE_CODE_LIST)
    _cbc(answer, "EffectiveDate", issued.isoformat())
    if not accepted:
        status = etree.SubElement(answer, f"{{{CAC}}}Status")
        _cbc(status, "StatusReasonCode", OTHER_REASON).set("listID", REASON_CODE_LIST)
        _cbc(status, "StatusReason", (response.reason or "").strip())
    reference = etree.SubElement(document_response, f"{{{CAC}}}DocumentReference")
    _cbc(reference, "ID", invoice.invoice_id)
    if invoice.issue_date is not None:
        _cbc(reference, "IssueDate", invoice.issue_date.isoformat())
    if invoice.type_code is not None:
        _cbc(reference, "DocumentTypeCode", invoice.type_code)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return xml


def _cbc(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}")
    element.text = text
    return element


def _party_element(root: etree._Element, name: str, party: Party) -> None:
    element = etree.SubElement(root, f"{{{CAC}}}{name}")
    _cbc(element, "EndpointID", party.endpoint).set("schemeID", party.scheme)
    legal = etree.SubElement(element, f"{{{CAC}}}PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)

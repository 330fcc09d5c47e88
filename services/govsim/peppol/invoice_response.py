"""What the simulated access point checks of a Peppol BIS 3 Invoice Response (transaction T111,
a UBL ApplicationResponse) before it takes it, as an access point validating outgoing
documents does: the rules of OpenPEPPOL's T111 (the structure's cardinalities and code lists,
and the transaction's own PEPPOL-T111-R001, CA/UQ/RE need a clarification code), and that the
SBDH's sender and receiver are the response's SenderParty and ReceiverParty endpoints.

The code lists are Peppol's: the UNCL4343 subset of response codes (AB acknowledged, IP in
process, UQ under query, CA conditionally accepted, RE rejected, AP accepted, PD paid) and the
clarification reasons (OPStatusReason) and actions (OPStatusAction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from services.govsim.untrusted_xml import child_text

APPLICATION_RESPONSE_NS = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
ROOT = etree.QName(APPLICATION_RESPONSE_NS, "ApplicationResponse")
CUSTOMIZATION_ID = "urn:fdc:peppol.eu:poacc:trns:invoice_response:3"
PROFILE_ID = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
DOCUMENT_TYPE = f"{APPLICATION_RESPONSE_NS}::ApplicationResponse##{CUSTOMIZATION_ID}::2.1"
RESPONSE_CODES = frozenset({"AB", "IP", "UQ", "CA", "RE", "AP", "PD"})
NEEDS_CLARIFICATION = frozenset({"CA", "UQ", "RE"})
STATUS_REASONS = frozenset(
    {
        "NON",
        "REF",
        "LEG",
        "REC",
        "QUA",
        "DEL",
        "PRI",
        "QTY",
        "ITM",
        "PAY",
        "UNR",
        "FIN",
        "PPD",
        "OTH",
    }
)
STATUS_ACTIONS = frozenset(["NOA", "PIN", "NIN", "CNF", "CNP", "CNA", "OTH"])
_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class InvoiceResponseSaid:
    """What a taken Invoice Response tells the supplier: kept, so a sandbox can show it."""

    invoice_id: str  # DocumentReference/ID: the invoice answered
    response_code: str  # AP, RE, ...
    reason_codes: tuple[str, ...]  # Status/StatusReasonCode
    reason: str | None  # Status/StatusReason: the buyer's words


def response_said(root: etree._Element) -> InvoiceResponseSaid:
    response = "cac:DocumentResponse/cac:Response/"
    return InvoiceResponseSaid(
        invoice_id=child_text(root, "cac:DocumentResponse/cac:DocumentReference/cbc:ID", _NS),
        response_code=child_text(root, response + "cbc:ResponseCode", _NS),
        reason_codes=tuple(
            (code.text or "").strip()
            for code in root.findall(response + "cac:Status/cbc:StatusReasonCode", _NS)
        ),
        reason=child_text(root, response + "cac:Status/cbc:StatusReason", _NS) or None,
    )


def is_application_response(root: etree._Element) -> bool:
    return etree.QName(root) == ROOT


def invoice_response_problems(root: etree._Element, *, sender: str, receiver: str) -> list[str]:
    """What is wrong with the Invoice Response for those SBDH participants, in the rules'
    words; empty when it may be sent."""
    problems: list[str] = []
    if child_text(root, "cbc:CustomizationID", _NS) != CUSTOMIZATION_ID:
        problems.append(f"[PEPPOL-T111] CustomizationID must be {CUSTOMIZATION_ID}")
    if child_text(root, "cbc:ProfileID", _NS) != PROFILE_ID:
        problems.append(f"[PEPPOL-T111] ProfileID must be {PROFILE_ID}")
    if not child_text(root, "cbc:ID", _NS):
        problems.append("[PEPPOL-T111] Response identifier (cbc:ID) is mandatory")
    if not _DATE.fullmatch(child_text(root, "cbc:IssueDate", _NS)):
        problems.append(
            "[PEPPOL-T111] Response issue date (cbc:IssueDate, YYYY-MM-DD) is mandatory"
        )
    problems += _party(root, "SenderParty", sender, "X-Peppol-Sender")
    problems += _party(root, "ReceiverParty", receiver, "X-Peppol-Receiver")
    problems += _response(root.find("cac:DocumentResponse/cac:Response", _NS))
    if not child_text(root, "cac:DocumentResponse/cac:DocumentReference/cbc:ID", _NS):
        problems.append(
            "[PEPPOL-T111] The referenced invoice's identifier "
            "(cac:DocumentResponse/cac:DocumentReference/cbc:ID) is mandatory"
        )
    return problems


def _party(root: etree._Element, name: str, sbdh: str, header: str) -> list[str]:
    party = root.find(f"cac:{name}", _NS)
    endpoint = party.find("cbc:EndpointID", _NS) if party is not None else None
    if endpoint is None or not (endpoint.text or "").strip() or not endpoint.get("schemeID"):
        return [f"[PEPPOL-T111] {name}/EndpointID with its schemeID is mandatory"]
    problems = []
    if not child_text(party, "cac:PartyLegalEntity/cbc:RegistrationName", _NS):
        problems.append(f"[PEPPOL-T111] {name}/PartyLegalEntity/RegistrationName is mandatory")
    participant = f"{endpoint.get('schemeID', '').strip()}:{(endpoint.text or '').strip()}"
    if participant.lower() != sbdh.lower():
        problems.append(f"{header} {sbdh} is not the {name} {participant}")
    return problems


def _response(response: etree._Element | None) -> list[str]:
    if response is None:
        return ["[PEPPOL-T111] cac:DocumentResponse/cac:Response is mandatory"]
    code_element = response.find("cbc:ResponseCode", _NS)
    code = (code_element.text or "").strip() if code_element is not None else ""
    problems = []
    if code not in RESPONSE_CODES or code_element is None:
        problems.append(f"[PEPPOL-T111] ResponseCode {code!r} is not in UNCL4343OpSubset")
    elif code_element.get("listID") != "UNCL4343OpSubset":
        problems.append("[PEPPOL-T111] ResponseCode's listID must be UNCL4343OpSubset")
    reasons = response.findall("cac:Status/cbc:StatusReasonCode", _NS)
    if code in NEEDS_CLARIFICATION and not reasons:
        problems.append(
            "[PEPPOL-T111-R001]-If status code is one of: CA, UQ or RE then there SHALL be at a "
            "clarification code in Invoice Response."
        )
    for reason in reasons:
        value, list_id = (reason.text or "").strip(), reason.get("listID")
        allowed = {"OPStatusReason": STATUS_REASONS, "OPStatusAction": STATUS_ACTIONS}.get(
            list_id or ""
        )
        if allowed is None or value not in allowed:
            problems.append(
                f"[PEPPOL-T111] StatusReasonCode {value!r} ({list_id}) is not in "
                "OPStatusReason or OPStatusAction"
            )
    return problems

"""What Clearway's Peppol access point provider delivers for a receiving company (BE, DE).

A document sent to one of Clearway's participants arrives over AS4 at the provider's access
point (corner 3), which forwards it to Clearway (corner 4) as access points do to their
customers: one HTTP POST of the Standard Business Document, as `application/xml`, the SBDH
(StandardBusinessDocumentHeader: sender and receiver participant ids, the document type and
process ids, the InstanceIdentifier) followed by the UBL or CII business document. The provider
takes any 2xx as delivered (MLS AP back to the sender) and retries anything else; the answer's
JSON names the receiving country (C4), which Peppol reporting needs.

The delivery's government id is the SBDH InstanceIdentifier: the sender assigns it, unique per
business document, the same at every retry and across access point hops, and Peppol receivers
detect duplicates by it (the AS4 message id changes when C2 sends again). The recipient is the
receiver participant id, as the connection records it (scheme:identifier). The document is the
business document's bytes exactly as they stood in the envelope (located with expat's byte
offsets, after the hardened parse has vouched for the whole); see `business_document`. The
evidence is the SBDH itself, what the network says about where the document came from.

Refused (nothing recorded, the provider keeps it and says so to its sender): a body that is not
XML, hostile XML (a DTD, so no entity tricks), no SBDH, no receiver or instance identifier in
it, a document type Clearway does not receive for the country, a business document that is not
the declared type, a receiver id the country's scheme would never issue.
"""

from __future__ import annotations

import json
import xml.parsers.expat
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from lxml import etree

from clearway.formats.hardened import UnreadableDocumentError, hardened_tree
from clearway.formats.reading import parse_root
from clearway.governments.de.document import XRECHNUNG_CUSTOMIZATION_ID
from clearway.governments.inbox import Delivery
from clearway.governments.peppol.client import (
    DOCUMENT_SCHEME,
    PARTICIPANT_SCHEME,
    document_type_of,
)
from clearway.governments.peppol.document import PEPPOL_BIS_CUSTOMIZATION_ID
from clearway.governments.pushed import DeliveryRefusedError, NetworkAnswer, PushedDelivery

SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_SBDH = {"sh": SBDH_NS}
XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})
_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice"
_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote"
_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100::CrossIndustryInvoice"

# The Peppol document type ids (busdox-docid-qns) Clearway receives: Peppol BIS Billing 3.0
# invoices and credit notes (UBL) everywhere, XRechnung 3.0 (UBL and CII) in Germany.
BIS_BILLING_TYPES: tuple[str, ...] = (
    f"{_UBL_INVOICE}##{PEPPOL_BIS_CUSTOMIZATION_ID}::2.1",
    f"{_UBL_CREDIT_NOTE}##{PEPPOL_BIS_CUSTOMIZATION_ID}::2.1",
)
XRECHNUNG_TYPES: tuple[str, ...] = (
    f"{_UBL_INVOICE}##{XRECHNUNG_CUSTOMIZATION_ID}::2.1",
    f"{_UBL_CREDIT_NOTE}##{XRECHNUNG_CUSTOMIZATION_ID}::2.1",
    f"{_CII}##{XRECHNUNG_CUSTOMIZATION_ID}::D16B",
)


@dataclass(frozen=True)
class PeppolPushChannel:
    """The access point's deliveries for `country`'s participants: the document types it
    receives, and why a receiver id is none of the country's (None: it may be)."""

    country: str
    document_types: tuple[str, ...]
    participant_problem: Callable[[str], str | None]

    def take(self, body: bytes, media_type: str) -> PushedDelivery:
        bare_type = media_type.partition(";")[0].strip().lower()
        if bare_type not in XML_MEDIA_TYPES:
            raise DeliveryRefusedError(
                f"a Peppol delivery is the Standard Business Document as application/xml, "
                f"not {bare_type or 'an untyped body'}"
            )
        try:  # a DOCTYPE refused before libxml2 reads it (reading.parse_root says why)
            tree = parse_root(body).getroottree()
        except UnreadableDocumentError as exc:
            raise DeliveryRefusedError(str(exc)) from None
        header = _header(tree.getroot())
        receiver = _identifier(header, "sh:Receiver/sh:Identifier", "receiver")
        problem = _participant_problem(receiver) or self.participant_problem(receiver)
        if problem is not None:
            raise DeliveryRefusedError(f"the SBDH's receiver {receiver!r} is no {problem}")
        instance = _text(header, "sh:DocumentIdentification/sh:InstanceIdentifier")
        if not instance:
            raise DeliveryRefusedError("the SBDH has no DocumentIdentification/InstanceIdentifier")
        document_type = _scope(header, "DOCUMENTID").removeprefix(f"{DOCUMENT_SCHEME}::")
        if document_type not in self.document_types:
            raise DeliveryRefusedError(
                f"Clearway does not receive the document type {document_type or '(none)'} "
                f"in {self.country}: it receives {', '.join(self.document_types)}"
            )
        document = business_document(body, tree)
        try:
            carried = document_type_of(document)
        except (ValueError, etree.XMLSyntaxError) as exc:
            raise DeliveryRefusedError(f"the business document is unreadable: {exc}") from None
        if carried != document_type:
            raise DeliveryRefusedError(
                f"the business document is {carried}, not the SBDH's {document_type}"
            )
        delivery = Delivery(
            government_id=instance,
            document=document,
            media_type="application/xml",
            evidence=etree.tostring(header, xml_declaration=True, encoding="UTF-8"),
            evidence_media_type="application/xml",
        )
        return PushedDelivery("participant_id", receiver, delivery)

    def received(self, pushed: PushedDelivery, received_id: str) -> NetworkAnswer:
        body = {
            "status": "received",
            "instanceIdentifier": pushed.delivery.government_id,
            "receivedInvoiceId": received_id,
            "countryC4": self.country,
        }
        return NetworkAnswer(HTTPStatus.OK, json.dumps(body).encode(), "application/json")

    def refused(self, reason: str) -> NetworkAnswer:
        body = json.dumps({"status": "refused", "error": reason}).encode()
        return NetworkAnswer(HTTPStatus.UNPROCESSABLE_ENTITY, body, "application/json")


def business_document(body: bytes, tree: etree._ElementTree) -> bytes:
    """The business document inside the SBD `body` (already parsed hardened as `tree`): its
    bytes exactly as they stood in the envelope, from its start tag to its end tag. Prefixed
    with an XML declaration only when the envelope is not UTF-8 (the bytes are then in its
    encoding, which a reader must be told). When those bytes are not a document by themselves
    (the envelope declares a namespace prefix the document uses), the document re-serialized
    with the declarations it needs: the only case where the bytes are not the envelope's."""
    payload = _payload(tree.getroot())
    start, end = _payload_span(body)
    encoding = (tree.docinfo.encoding or "UTF-8").upper()
    prolog = b"" if encoding in {"UTF-8", "UTF8"} else _declaration(encoding)
    exact = prolog + body[start:end]
    try:
        standalone = hardened_tree(exact).getroot()
    except UnreadableDocumentError:
        standalone = None
    if standalone is not None and standalone.tag == payload.tag:
        return exact
    return etree.tostring(payload, xml_declaration=True, encoding="UTF-8")


def _declaration(encoding: str) -> bytes:
    return f'<?xml version="1.0" encoding="{encoding}"?>'.encode("ascii")


def _header(root: etree._Element) -> etree._Element:
    if root.tag != f"{{{SBDH_NS}}}StandardBusinessDocument":
        raise DeliveryRefusedError(
            f"no SBDH: the body is {etree.QName(root).localname}, not a Peppol "
            "StandardBusinessDocument"
        )
    header = root.find("sh:StandardBusinessDocumentHeader", _SBDH)
    if header is None:
        raise DeliveryRefusedError("no SBDH: the StandardBusinessDocument has no header")
    _payload(root)  # refused here too when there is no business document
    return header


def _payload(root: etree._Element) -> etree._Element:
    """The business document: the element after the header."""
    elements = [child for child in root if isinstance(child.tag, str)]
    if len(elements) != 2:
        raise DeliveryRefusedError(
            "the StandardBusinessDocument must hold its header and one business document"
        )
    return elements[1]


def _payload_span(body: bytes) -> tuple[int, int]:
    """Where the SBD's second child element starts and ends in `body`, by expat's byte index
    (the body is well-formed and has no DTD: the hardened parse said so)."""
    depth = 0
    children = 0
    span: list[int] = []
    parser = xml.parsers.expat.ParserCreate()

    def start(_name: str, _attributes: object) -> None:
        nonlocal depth, children
        depth += 1
        if depth == 2:
            children += 1
            if children == 2:
                span.append(parser.CurrentByteIndex)

    def end(_name: str) -> None:
        nonlocal depth
        if depth == 2 and children == 2 and len(span) == 1:
            # At an end tag the index is its "<"; the tag ends at its ">" (an end tag has no
            # attributes that could hold one). An empty element's start and end are one tag.
            index = parser.CurrentByteIndex
            span.append(body.index(b">", index) + 1)
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(body, True)  # noqa: FBT003 - the whole body, at once
    return span[0], span[1]


def _text(header: etree._Element, path: str) -> str:
    return (header.findtext(path, namespaces=_SBDH) or "").strip()


def _identifier(header: etree._Element, path: str, role: str) -> str:
    element = header.find(path, _SBDH)
    if element is None or not (element.text or "").strip():
        raise DeliveryRefusedError(f"the SBDH names no {role}")
    authority = (element.get("Authority") or PARTICIPANT_SCHEME).strip()
    if authority != PARTICIPANT_SCHEME:
        raise DeliveryRefusedError(
            f"the SBDH's {role} is in the {authority!r} scheme, not {PARTICIPANT_SCHEME}"
        )
    return "".join((element.text or "").split()).removeprefix(f"{PARTICIPANT_SCHEME}::")


def _scope(header: etree._Element, scope_type: str) -> str:
    for scope in header.iterfind("sh:BusinessScope/sh:Scope", _SBDH):
        if _text(scope, "sh:Type") == scope_type:
            return _text(scope, "sh:InstanceIdentifier")
    return ""


def _participant_problem(participant: str) -> str | None:
    """Why `participant` is no Peppol participant id (ICD:identifier); None: it is one."""
    scheme, separator, identifier = participant.partition(":")
    if not (separator and len(scheme) == 4 and scheme.isdigit() and identifier):
        return "participant id (an ISO 6523 ICD, a colon, the identifier)"
    return None

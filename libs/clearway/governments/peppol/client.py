"""The Peppol access point Clearway sends through (Belgium; German B2B XRechnung), and the SMP.

Peppol standardises the network (participant and document type identifiers, SMP discovery,
AS4, the SBDH envelope), not an access point's customer API; this client speaks the sandbox
access point's (services/govsim/peppol/), shaped like the common ones:

    GET  /smp/{participant}[/services/{document type}]   is the receiver registered for it?
    POST /documents        the document, with sender, receiver, document type, process and the
                           SBDH InstanceIdentifier in X-Peppol-* headers; 202 {"documentId"}
    GET  /documents?instanceIdentifier=   what the AP has under that identifier: to reconcile
    GET  /documents/{id}   accepted, then delivered (AS4 message id, MLS AP) or rejected/failed

The SBDH DocumentIdentification/InstanceIdentifier is the sender's to assign (a UUID, unique
per business document). Clearway derives it from the invoice id, so every send of one invoice
carries the same one: a lost answer is reconciled by it, and even a second send would be
recognisable as the same document by the receiving side.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from lxml import etree

from clearway.connectors import GovCall
from clearway.connectors.calls import GovernmentRefusedError, government_failures
from clearway.connectors.filing import ChannelClient, Filed, error_messages
from clearway.formats.hardened import hardened_parser
from clearway.governments.be import identifiers as be
from clearway.governments.de import identifiers as de

GOV_ENDPOINT = "Peppol"
SEND = "POST /documents"
PARTICIPANT_SCHEME = "iso6523-actorid-upis"
DOCUMENT_SCHEME = "busdox-docid-qns"
BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
GERMAN_VAT_SCHEME = "9930"
DELIVERED = "delivered"
REJECTED = frozenset({"rejected", "failed"})
# A fixed namespace: the same invoice id always gives the same instance identifier.
_INSTANCE_NAMESPACE = uuid.UUID("6f1d3c2e-8b4a-5e7f-9a0b-1c2d3e4f5a6b")
_UBL_ROOTS = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "Invoice",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "CreditNote",
}
_CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_XML_NAMESPACES = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": _CII_NS,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


def instance_identifier_for(invoice_id: str) -> str:
    """The SBDH InstanceIdentifier of an invoice's document: a UUID, the same at every send."""
    return str(uuid.uuid5(_INSTANCE_NAMESPACE, invoice_id))


def document_type_of(document: bytes) -> str:
    """The Peppol document type identifier of a UBL or CII document (its root and
    CustomizationID); ValueError for anything else."""
    root = etree.fromstring(document, hardened_parser())
    name = etree.QName(root)
    if name.namespace in _UBL_ROOTS and name.localname == _UBL_ROOTS[name.namespace]:
        customization = root.findtext("cbc:CustomizationID", namespaces=_XML_NAMESPACES)
        suffix = "2.1"
    elif name.namespace == _CII_NS and name.localname == "CrossIndustryInvoice":
        customization = root.findtext(
            "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
            namespaces=_XML_NAMESPACES,
        )
        suffix = "D16B"
    else:
        raise ValueError(f"{name} is neither a UBL invoice or credit note nor a CII invoice")
    if not customization:
        raise ValueError("the document has no CustomizationID")
    return f"{name.namespace}::{name.localname}##{customization.strip()}::{suffix}"


def receiver_of(request: Mapping[str, Any]) -> str | None:
    """The buyer's participant id: its peppolId, else derived from its VAT number (0208 and a
    Belgian enterprise number, 9930 and a German VAT number); None when there is none."""
    customer = request.get("customer") or {}
    declared = str(customer.get("peppolId") or "").strip()
    if declared:
        return declared.removeprefix(f"{PARTICIPANT_SCHEME}::")
    vat_number = str(customer.get("vatNumber") or "")
    compact = vat_number.upper().replace(" ", "")
    if compact.startswith("BE") and be.is_enterprise_number_format(vat_number):
        return be.peppol_id_for(vat_number)
    if compact.startswith("DE") and de.is_ust_idnr_format(vat_number):
        return f"{GERMAN_VAT_SCHEME}:DE{de.compact_vat_number(vat_number)}"
    return None


FAILURES = government_failures(GOV_ENDPOINT, "BE", error_messages)
_DE_FAILURES = government_failures(GOV_ENDPOINT, "DE", error_messages)


class PeppolClient(ChannelClient):
    """One access point account (Clearway's); `country` only labels the call figures."""

    collection = "/documents"
    reference_param = "instanceIdentifier"
    id_field = "documentId"

    def __init__(
        self, base_url: str, api_key: str, http: httpx.AsyncClient, *, country: str = "BE"
    ) -> None:
        super().__init__(base_url, api_key, http, _DE_FAILURES if country == "DE" else FAILURES)

    async def receiver_problem(
        self,
        participant: str,
        document_type: str,
        calls: list[GovCall] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str | None:
        """Why the SMP says the receiver cannot get this document (its own 404s put in
        words), or None when it can. `headers`: the sandbox scenario's, as on the send."""
        participant_path = quote(f"{PARTICIPANT_SCHEME}::{participant}", safe="")
        scenario = dict(headers or {})
        if not await self._smp_has(
            f"/smp/{participant_path}", "GET /smp/{participant}", calls, scenario
        ):
            return f"RECEIVER_NOT_FOUND: {participant} is not registered in the SMP"
        document_path = quote(f"{DOCUMENT_SCHEME}::{document_type}", safe="")
        if not await self._smp_has(
            f"/smp/{participant_path}/services/{document_path}",
            "GET /smp/{participant}/services/{documentType}",
            calls,
            scenario,
        ):
            return f"DOCUMENT_TYPE_NOT_SUPPORTED: {participant} does not accept {document_type}"
        return None

    async def _smp_has(
        self, path: str, endpoint: str, calls: list[GovCall] | None, headers: dict[str, str]
    ) -> bool:
        """Whether the SMP has this entry: it answers a missing one with a refusal (404)."""
        try:
            await self._call("GET", path, endpoint=endpoint, calls=calls, headers=headers)
        except GovernmentRefusedError:
            return False
        return True

    async def send(  # noqa: PLR0913 - the SBDH's parts
        self,
        document: bytes,
        *,
        sender: str,
        receiver: str,
        document_type: str,
        instance_identifier: str,
        process: str = BILLING_PROCESS,
        calls: list[GovCall] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Filed:
        """Send a document (an invoice, or a buyer's Invoice Response with its own process)."""
        return await self._send_document(
            document,
            endpoint=SEND,
            calls=calls,
            headers={
                "X-Peppol-Sender": sender,
                "X-Peppol-Receiver": receiver,
                "X-Peppol-Document-Type": document_type,
                "X-Peppol-Process": process,
                "X-Peppol-Instance-Identifier": instance_identifier,
                **(headers or {}),
            },
        )

    # The document's delivery status, parsed and as the AP gave it (the receipt).
    document = ChannelClient.received

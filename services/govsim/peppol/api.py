"""The simulated Peppol access point (Belgium, and German B2B): send a UBL or CII document to a
registered participant, look participants up, follow delivery.

Peppol itself is a four-corner network (AS4 between access points, SMP/SML discovery); what a
sender integrates with is its access point provider's API, which Peppol does not standardise.
This simulator is such an API, shaped like the common ones, over the parts that are Peppol's
own and therefore real: participant identifiers (`iso6523-actorid-upis`, "0208:0123456749",
"9925:BE0123456749", "9930:DE123456789", "0204:<Leitweg-ID>"), document type identifiers
(`busdox-docid-qns`, "<root namespace>::<root>##<CustomizationID>::<version>"), the process
identifier, the SMP ServiceGroup/ServiceMetadata documents, and AS4 message ids:

    POST /peppol/documents            the XML body; sender and receiver in X-Peppol-Sender /
                                      X-Peppol-Receiver headers (or ?sender=&receiver=), optional
                                      X-Peppol-Document-Type, X-Peppol-Process and
                                      X-Peppol-Instance-Identifier; 202 with {"documentId",
                                      "instanceIdentifier", "status": "accepted"}
    GET  /peppol/documents/{id}       accepted, then delivered (AS4 message id, timestamp, MLS
                                      response code) or failed/rejected with a reason
    GET  /peppol/documents            what was sent (?sender=, ?receiver=, ?instanceIdentifier=),
                                      to reconcile

The instance identifier is the SBDH's DocumentIdentification/InstanceIdentifier, which in Peppol
the sender assigns (a UUID, unique per business document; the receiving side detects duplicates
by it). Access point APIs commonly let the client supply it or a client reference of its own
(Storecove's idempotencyGuid, for one) and find a submission by it; without one, the AP assigns
a UUID itself, as here.
    GET  /peppol/smp/{participantId}  the SMP ServiceGroup of a listed participant, else 404
    GET  /peppol/smp/{participantId}/services/{documentTypeId}   its ServiceMetadata

The sandbox SMP lists every well-formed participant id (check digits included) for the default
document types, so a sandbox user need not register buyers; a participant registered through
the control API is listed for the document types it was registered with. Sent with the
`receiver_unknown` sandbox scenario, a lookup or a send finds nobody (404, RECEIVER_NOT_FOUND).

Calls need `Authorization: Bearer <api key>`. The document must be well-formed (parsed hardened),
UBL Invoice/CreditNote or CII, with the Peppol BIS Billing 3.0 or XRechnung 3.0 CustomizationID,
and the receiver must be registered for its document type; those checks answer 422 at once.
A buyer's Peppol BIS 3 Invoice Response (UBL ApplicationResponse, invoice_response.py) is taken
too, checked against the T111 rules and its SBDH addressing (422 INVALID_INVOICE_RESPONSE with
the rules' words), and delivered to the supplier as a document is.
Delivery itself is asynchronous (processing delay). The MLS (message level status) codes AP/RE
are Peppol's, their exact use here is UNCONFIRMED.

Clearway's sandbox scenarios on a send: `reject` ends it in MLS RE quoting a real rule
(PEPPOL-EN16931-R003 for BIS, BR-DE-15 in German for XRechnung); `token_expired` refuses the
API key once per invoice (401): the AP credential is Clearway's, as at a key rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from lxml import etree
from pydantic import BaseModel

from services.govsim.faults import scenario_of
from services.govsim.guard import read_body
from services.govsim.keyed import KeyRefusals, add_lookup_route, keyed_api_router
from services.govsim.peppol.invoice_response import DOCUMENT_TYPE as INVOICE_RESPONSE
from services.govsim.peppol.invoice_response import (
    invoice_response_problems,
    is_application_response,
    response_said,
)
from services.govsim.peppol.participants import (
    BILLING_PROCESS,
    DOCUMENT_SCHEME,
    PARTICIPANT_SCHEME,
    document_type_id,
    normalize_participant,
    participant_problem,
)
from services.govsim.peppol.smp import add_smp_routes
from services.govsim.peppol.state import (
    DeliveryStatus,
    ForcedDelivery,
    PeppolSimulator,
    SentDocument,
)
from services.govsim.ubl_cii import (
    PEPPOL_BIS3,
    XRECHNUNG_3,
    XRECHNUNG_3_EXTENSION,
    BusinessDocument,
    read_document,
    syntax_of,
)
from services.govsim.untrusted_xml import UntrustedXmlError, parse_untrusted_xml

API_PREFIX = "/peppol"
ACCEPTED_CUSTOMIZATIONS = frozenset({PEPPOL_BIS3, XRECHNUNG_3, XRECHNUNG_3_EXTENSION})
MAX_INSTANCE_IDENTIFIER = 200
# The `reject` sandbox scenario: the receiving side answers MLS RE with a real rule of the
# document's specification (Peppol BIS Billing 3.0 in English, XRechnung's BR-DE in German).
SCENARIO_REJECTION_BIS = (
    "[PEPPOL-EN16931-R003]-A buyer reference or purchase order reference MUST be provided."
)
SCENARIO_REJECTION_XRECHNUNG = (
    '[BR-DE-15] Das Element "Buyer reference" (BT-10) muss übermittelt werden.'
)


# === HTTP: the access point API ===============================================================


def _error(status: HTTPStatus, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status)


def _unknown_document(document_id: str) -> JSONResponse:
    return _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"Unknown document {document_id}")


def _too_many_requests(retry_after_seconds: int) -> JSONResponse:
    response = _error(
        HTTPStatus.TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests; retry later"
    )
    response.headers["Retry-After"] = str(retry_after_seconds)
    return response


REFUSALS = KeyRefusals(
    unauthorized=lambda: _unauthorized("Missing or invalid API key"),
    too_many_requests=_too_many_requests,
)


class SendError(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.response = _error(status, code, message)


def check_participant(role: str, participant: str) -> None:
    """SendError (400 INVALID_SENDER or INVALID_RECEIVER) when the normalized `participant`
    is missing or no valid participant id: a sent and an incoming document are checked alike."""
    problem = participant_problem(participant) if participant else f"{role} is required"
    if problem is not None:
        raise SendError(HTTPStatus.BAD_REQUEST, f"INVALID_{role.upper()}", problem)


class PeppolHeaders(BaseModel):
    """X-Peppol-Sender, X-Peppol-Receiver, X-Peppol-Document-Type, X-Peppol-Process."""

    x_peppol_sender: str | None = None
    x_peppol_receiver: str | None = None
    x_peppol_document_type: str | None = None
    x_peppol_process: str | None = None
    x_peppol_instance_identifier: str | None = None


class PeppolQuery(BaseModel):
    """?sender=&receiver=, for clients that cannot set headers."""

    sender: str | None = None
    receiver: str | None = None


@dataclass(frozen=True)
class Addressing:
    sender: str
    receiver: str
    document_type: str | None
    process: str | None
    instance_identifier: str | None = None


def build_peppol_router(simulator: PeppolSimulator) -> APIRouter:
    router = keyed_api_router(
        simulator, REFUSALS, prefix=API_PREFIX, tag="Peppol access point (BE, DE)"
    )

    @router.post("/documents", status_code=HTTPStatus.ACCEPTED)
    async def send_document(
        request: Request,
        headers: Annotated[PeppolHeaders, Header()],
        query: Annotated[PeppolQuery, Query()],
    ) -> Response:
        addressing = Addressing(
            sender=normalize_participant(headers.x_peppol_sender or query.sender or ""),
            receiver=normalize_participant(headers.x_peppol_receiver or query.receiver or ""),
            document_type=headers.x_peppol_document_type,
            process=headers.x_peppol_process,
            instance_identifier=headers.x_peppol_instance_identifier,
        )
        if simulator.credential_expiry.refuses(request):  # Clearway's sandbox scenario
            return _unauthorized("API key expired")
        try:
            rejected = scenario_of(request) is SandboxScenario.REJECT
            document = await _accept(simulator, request, addressing, rejected=rejected)
        except SendError as error:
            return error.response
        return JSONResponse(
            {
                "documentId": document.document_id,
                "instanceIdentifier": document.instance_identifier,
                "status": document.status.value,
            },
            HTTPStatus.ACCEPTED,
        )

    @router.get("/documents")
    async def list_documents(
        receiver: Annotated[str | None, Query()] = None,
        sender: Annotated[str | None, Query()] = None,
        instance_identifier: Annotated[str | None, Query(alias="instanceIdentifier")] = None,
    ) -> Response:
        """Sent documents, oldest first: how a client finds out whether a send went through
        (by its instance identifier, exactly)."""
        wanted = {
            "receiver": normalize_participant(receiver).lower() if receiver else None,
            "sender": normalize_participant(sender).lower() if sender else None,
        }
        documents = [
            _document_json(simulator, document)
            for document in simulator.received.all()
            if wanted["receiver"] in {None, document.receiver.lower()}
            and wanted["sender"] in {None, document.sender.lower()}
            and instance_identifier in {None, document.instance_identifier}
        ]
        return JSONResponse({"documents": documents})

    add_lookup_route(router, "/documents/{item_id}", simulator, _document_json, _unknown_document)

    add_smp_routes(router, simulator)
    return router


def _unauthorized(message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"code": "UNAUTHORIZED", "message": message}]},
        HTTPStatus.UNAUTHORIZED,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _accept(
    simulator: PeppolSimulator, request: Request, addressing: Addressing, *, rejected: bool
) -> SentDocument:
    unprocessable = HTTPStatus.UNPROCESSABLE_ENTITY
    for role, participant in (("sender", addressing.sender), ("receiver", addressing.receiver)):
        check_participant(role, participant)
    instance_identifier = addressing.instance_identifier
    if instance_identifier is not None and not (
        0 < len(instance_identifier.strip()) <= MAX_INSTANCE_IDENTIFIER
    ):
        raise SendError(
            HTTPStatus.BAD_REQUEST,
            "INVALID_INSTANCE_IDENTIFIER",
            f"X-Peppol-Instance-Identifier must be 1 to {MAX_INSTANCE_IDENTIFIER} characters",
        )
    body = await read_body(request)
    if body is None:
        raise SendError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "TOO_LARGE", "Document too large")
    root = _parsed(body)
    derived_type, customization = _document_type(root, addressing)
    if addressing.document_type is not None and addressing.document_type != derived_type:
        raise SendError(
            unprocessable,
            "DOCUMENT_TYPE_MISMATCH",
            f"X-Peppol-Document-Type does not match the document ({derived_type})",
        )
    unknown = scenario_of(request) is SandboxScenario.RECEIVER_UNKNOWN
    receiver = simulator.participant(addressing.receiver, unknown=unknown)
    if receiver is None:
        raise SendError(
            unprocessable,
            "RECEIVER_NOT_FOUND",
            f"{addressing.receiver} is not registered in the SMP",
        )
    if derived_type not in receiver.document_types:
        raise SendError(
            unprocessable,
            "DOCUMENT_TYPE_NOT_SUPPORTED",
            f"{receiver.participant_id} does not accept {derived_type}",
        )
    forced = None
    if rejected and customization is not None:  # the scenario rejects invoices, not responses
        reason = (
            SCENARIO_REJECTION_BIS if customization == PEPPOL_BIS3 else SCENARIO_REJECTION_XRECHNUNG
        )
        forced = ForcedDelivery(DeliveryStatus.REJECTED, reason)
    return simulator.accept(
        addressing.sender,
        receiver.participant_id,
        derived_type,
        addressing.process or BILLING_PROCESS,
        instance_identifier=instance_identifier.strip() if instance_identifier else None,
        forced=forced,
        response=response_said(root) if customization is None else None,
    )


def _document_type(root: etree._Element, addressing: Addressing) -> tuple[str, str | None]:
    """The document type of a billing document or an Invoice Response that may be sent, with
    the billing document's CustomizationID (None for a response); SendError otherwise."""
    if is_application_response(root):
        problems = invoice_response_problems(
            root, sender=addressing.sender, receiver=addressing.receiver
        )
        if problems:
            raise SendError(
                HTTPStatus.UNPROCESSABLE_ENTITY, "INVALID_INVOICE_RESPONSE", "; ".join(problems)
            )
        return INVOICE_RESPONSE, None
    customization = _business_document(root).customization_id
    syntax = syntax_of(root)
    assert syntax is not None  # _business_document read it
    return document_type_id(syntax, customization), customization


def _parsed(body: bytes) -> etree._Element:
    try:
        return parse_untrusted_xml(body)
    except UntrustedXmlError as error:
        raise SendError(
            HTTPStatus.UNPROCESSABLE_ENTITY, "INVALID_XML", f"Not well-formed XML: {error.message}"
        ) from error


def _business_document(root: etree._Element) -> BusinessDocument:
    unprocessable = HTTPStatus.UNPROCESSABLE_ENTITY
    business = read_document(root)
    if business is None:
        raise SendError(
            unprocessable,
            "UNSUPPORTED_DOCUMENT",
            "The root is neither UBL Invoice/CreditNote, CII nor an Invoice Response",
        )
    if business.customization_id not in ACCEPTED_CUSTOMIZATIONS:
        raise SendError(
            unprocessable,
            "UNSUPPORTED_CUSTOMIZATION",
            f"CustomizationID {business.customization_id!r} is neither Peppol BIS Billing 3.0 "
            "nor XRechnung 3.0",
        )
    return business


def _document_json(simulator: PeppolSimulator, document: SentDocument) -> dict[str, Any]:
    body: dict[str, Any] = {
        "documentId": document.document_id,
        "instanceIdentifier": document.instance_identifier,
        "status": document.status.value,
        "senderId": f"{PARTICIPANT_SCHEME}::{document.sender}",
        "receiverId": f"{PARTICIPANT_SCHEME}::{document.receiver}",
        "documentTypeId": f"{DOCUMENT_SCHEME}::{document.document_type}",
        "processId": f"cenbii-procid-ubl::{document.process}",
        "createdAt": simulator.stamp(document.created_at),
    }
    if document.decided_at is not None:
        body["updatedAt"] = simulator.stamp(document.decided_at)
    if document.as4_message_id is not None and document.decided_at is not None:
        body["as4MessageId"] = document.as4_message_id
        body["deliveredAt"] = simulator.stamp(document.decided_at)
        delivered = document.status is DeliveryStatus.DELIVERED
        body["mls"] = {"responseCode": "AP" if delivered else "RE"}
        if document.reason:
            body["mls"]["reason"] = document.reason
    if document.status is DeliveryStatus.FAILED:
        body["failureReason"] = document.reason
    return body

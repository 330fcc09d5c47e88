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
Delivery itself is asynchronous (processing delay). The MLS (message level status) codes AP/RE
are Peppol's, their exact use here is UNCONFIRMED.

Clearway's sandbox scenarios on a send: `reject` ends it in MLS RE quoting a real rule
(PEPPOL-EN16931-R003 for BIS, BR-DE-15 in German for XRechnung); `token_expired` refuses the
API key once per invoice (401): the AP credential is Clearway's, as at a key rotation.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote

from clearway.domain.sandbox import SANDBOX_INVOICE_HEADER, SandboxScenario
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.common import (
    ApiGuard,
    KeyedSimulator,
    RateLimit,
    RequestsPerMinute,
    UntrustedXmlError,
    add_standard_controls,
    bearer_token,
    guarded_route_class,
    parse_untrusted_xml,
    plain_fault_response,
    read_body,
    scenario_of,
)
from services.govsim.de.leitweg import leitweg_id_problem
from services.govsim.ubl_cii import (
    CII_NS,
    PEPPOL_BIS3,
    UBL_CREDIT_NOTE_NS,
    UBL_INVOICE_NS,
    XRECHNUNG_3,
    XRECHNUNG_3_EXTENSION,
    BusinessDocument,
    Syntax,
    read_document,
)

logger = logging.getLogger(__name__)

API_PREFIX = "/peppol"
CONTROL_PREFIX = "/_sim/peppol"
PARTICIPANT_SCHEME = "iso6523-actorid-upis"
DOCUMENT_SCHEME = "busdox-docid-qns"
BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
AS4_TRANSPORT_PROFILE = "peppol-transport-as4-v2_0"
SMP_NS = "http://busdox.org/serviceMetadata/publishing/1.0/"
IDENTIFIERS_NS = "http://busdox.org/transport/identifiers/1.0/"
ACCEPTED_CUSTOMIZATIONS = frozenset({PEPPOL_BIS3, XRECHNUNG_3, XRECHNUNG_3_EXTENSION})
PARTICIPANT_ID = re.compile(r"(?P<icd>\d{4}):(?P<value>[A-Za-z0-9.\-_]{1,50})")
MAX_INSTANCE_IDENTIFIER = 200
# The `reject` sandbox scenario: the receiving side answers MLS RE with a real rule of the
# document's specification (Peppol BIS Billing 3.0 in English, XRechnung's BR-DE in German).
SCENARIO_REJECTION_BIS = (
    "[PEPPOL-EN16931-R003]-A buyer reference or purchase order reference MUST be provided."
)
SCENARIO_REJECTION_XRECHNUNG = (
    '[BR-DE-15] Das Element "Buyer reference" (BT-10) muss übermittelt werden.'
)


def document_type_id(syntax: Syntax, customization_id: str) -> str:
    """The Peppol document type identifier of a document with this root and CustomizationID."""
    if syntax is Syntax.CII:
        return f"{CII_NS}::CrossIndustryInvoice##{customization_id}::D16B"
    namespace, root = (
        (UBL_INVOICE_NS, "Invoice")
        if syntax is Syntax.UBL_INVOICE
        else (UBL_CREDIT_NOTE_NS, "CreditNote")
    )
    return f"{namespace}::{root}##{customization_id}::2.1"


DEFAULT_DOCUMENT_TYPES = (
    *(
        document_type_id(syntax, customization)
        for customization in (PEPPOL_BIS3, XRECHNUNG_3)
        for syntax in (Syntax.UBL_INVOICE, Syntax.UBL_CREDIT_NOTE)
    ),
    document_type_id(Syntax.CII, XRECHNUNG_3),
)


def normalize_participant(raw: str) -> str:
    """ "0208:0123456749" from either that or "iso6523-actorid-upis::0208:0123456749"."""
    value = raw.strip()
    prefix = f"{PARTICIPANT_SCHEME}::"
    return value[len(prefix) :] if value.lower().startswith(prefix) else value


def participant_problem(participant: str) -> str | None:
    """Why `participant` is no valid participant identifier, or None."""
    match = PARTICIPANT_ID.fullmatch(participant)
    if match is None:
        return f"{participant!r} is not an ICD:identifier participant id"
    icd, value = match["icd"], match["value"]
    if icd == "0208" and not _belgian_enterprise_number(value):
        return f"{value} is not a Belgian enterprise number (10 digits, mod 97)"
    if icd == "9925" and not (value[:2].upper() == "BE" and _belgian_enterprise_number(value[2:])):
        return f"{value} is not a Belgian VAT number (BE + enterprise number)"
    if icd == "9930" and not re.fullmatch(r"(?i:DE)\d{9}", value):
        return f"{value} is not a German VAT number (DE + 9 digits)"
    if icd == "0204":
        return leitweg_id_problem(value)
    return None


def _belgian_enterprise_number(value: str) -> bool:
    return bool(re.fullmatch(r"[01]\d{9}", value)) and 97 - int(value[:8]) % 97 == int(value[8:])


# --- state -----------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    FAILED = "failed"  # the AS4 transmission did not succeed
    REJECTED = "rejected"  # delivered, but the receiving side answered MLS "RE"


@dataclass
class Participant:
    participant_id: str
    name: str
    document_types: tuple[str, ...]


@dataclass(frozen=True)
class ForcedDelivery:
    status: DeliveryStatus
    reason: str


@dataclass
class SentDocument:
    document_id: str
    instance_identifier: str  # the SBDH InstanceIdentifier: the sender's, else the AP's UUID
    sender: str
    receiver: str
    document_type: str
    process: str
    created_at: float
    ready_at: float
    forced: ForcedDelivery | None
    status: DeliveryStatus = DeliveryStatus.ACCEPTED
    as4_message_id: str | None = None
    decided_at: float | None = None
    reason: str | None = None


@dataclass
class PeppolSimulator(KeyedSimulator):
    """All state of the simulated access point, and the rules that move it."""

    _participants: dict[str, Participant] = field(default_factory=dict)
    _documents: dict[str, SentDocument] = field(default_factory=dict)
    _undelivered: dict[str, SentDocument] = field(default_factory=dict)  # in arrival order
    _forced: list[ForcedDelivery] = field(default_factory=list)
    _refused_credentials_for: set[str] = field(default_factory=set)  # `token_expired` played

    def _clear_state(self) -> None:
        self._participants.clear()
        self._documents.clear()
        self._undelivered.clear()
        self._forced.clear()
        self._refused_credentials_for.clear()

    def refuse_credential_once(self, invoice_id: str) -> bool:
        """`token_expired`: True the first time for this invoice (its send then answers 401)."""
        if invoice_id in self._refused_credentials_for:
            return False
        self._refused_credentials_for.add(invoice_id)
        return True

    # --- participants ----------------------------------------------------------------------

    def register(self, participant: Participant) -> None:
        self._participants[participant.participant_id.lower()] = participant

    def registered(self) -> list[Participant]:
        """The participants registered through the control API (the SMP lists more)."""
        return list(self._participants.values())

    def participant(self, participant_id: str, *, unknown: bool = False) -> Participant | None:
        """Who the SMP lists under this id: a registered participant as registered, any other
        well-formed id for every default document type (a sandbox has no registry to fill in
        by hand); nobody when `unknown` (the `receiver_unknown` scenario) or malformed."""
        normalized = normalize_participant(participant_id)
        if unknown:
            return None
        registered = self._participants.get(normalized.lower())
        if registered is not None:
            return registered
        if participant_problem(normalized) is not None:
            return None
        return Participant(normalized, "Sandbox participant", DEFAULT_DOCUMENT_TYPES)

    # --- documents -------------------------------------------------------------------------

    def accept(  # noqa: PLR0913 - the SBDH's parts
        self,
        sender: str,
        receiver: str,
        document_type: str,
        process: str,
        *,
        instance_identifier: str | None = None,
        forced: ForcedDelivery | None = None,
    ) -> SentDocument:
        now = self.clock()
        document = SentDocument(
            document_id=str(uuid.uuid4()),
            instance_identifier=instance_identifier or str(uuid.uuid4()),
            sender=sender,
            receiver=receiver,
            document_type=document_type,
            process=process,
            created_at=now,
            ready_at=now + self.processing_delay,
            forced=forced or (self._forced.pop(0) if self._forced else None),
        )
        self._documents[document.document_id] = document
        self._undelivered[document.document_id] = document
        logger.info("Peppol document %s from %s to %s", document.document_id, sender, receiver)
        return document

    def document(self, document_id: str) -> SentDocument | None:
        self.settle()
        return self._documents.get(document_id)

    def documents(self) -> list[SentDocument]:
        self.settle()
        return list(self._documents.values())

    def force_next(self, forced: ForcedDelivery, count: int) -> None:
        self._forced.extend([forced] * count)

    def settle(self) -> None:
        now = self.clock()
        for document_id, document in list(self._undelivered.items()):
            if document.ready_at <= now:
                del self._undelivered[document_id]
                self._deliver(document)

    def _deliver(self, document: SentDocument) -> None:
        document.decided_at = document.ready_at
        forced = document.forced
        if forced is not None and forced.status is DeliveryStatus.FAILED:
            document.status, document.reason = DeliveryStatus.FAILED, forced.reason
            return
        # AS4 message ids are RFC 2822 message ids; phase4 makes them uuid@host.
        document.as4_message_id = f"{uuid.uuid4()}@govsim-ap"
        if forced is not None and forced.status is DeliveryStatus.REJECTED:
            document.status, document.reason = DeliveryStatus.REJECTED, forced.reason
            return
        document.status = DeliveryStatus.DELIVERED


# === HTTP: the access point API ===============================================================


def _error(status: HTTPStatus, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status)


def _admit(simulator: PeppolSimulator, request: Request) -> Response | None:
    simulator.settle()
    key = bearer_token(request)
    if key is None or not secrets.compare_digest(key, simulator.api_key):
        return _unauthorized("Missing or invalid API key")
    refusal = simulator.limiter.admit("api-key", simulator.rate_limit)
    if refusal is None:
        return None
    response = _error(
        HTTPStatus.TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests; retry later"
    )
    response.headers["Retry-After"] = str(refusal.retry_after_seconds)
    return response


class SendError(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.response = _error(status, code, message)


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
    guard = ApiGuard(
        faults=simulator.faults,
        render_fault=plain_fault_response,
        admit=lambda request: _admit(simulator, request),
    )
    router = APIRouter(
        prefix=API_PREFIX,
        tags=["Peppol access point (BE, DE)"],
        route_class=guarded_route_class(guard),
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
        invoice_id = request.headers.get(SANDBOX_INVOICE_HEADER, "")
        if (
            scenario_of(request) is SandboxScenario.TOKEN_EXPIRED  # Clearway's sandbox scenario
            and invoice_id
            and simulator.refuse_credential_once(invoice_id)
        ):
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
            for document in simulator.documents()
            if wanted["receiver"] in {None, document.receiver.lower()}
            and wanted["sender"] in {None, document.sender.lower()}
            and instance_identifier in {None, document.instance_identifier}
        ]
        return JSONResponse({"documents": documents})

    @router.get("/documents/{document_id}")
    async def document_status(document_id: str) -> Response:
        document = simulator.document(document_id)
        if document is None:
            return _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"Unknown document {document_id}")
        return JSONResponse(_document_json(simulator, document))

    _add_smp_routes(router, simulator)
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
        problem = participant_problem(participant) if participant else f"{role} is required"
        if problem is not None:
            raise SendError(HTTPStatus.BAD_REQUEST, f"INVALID_{role.upper()}", problem)
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
    business = _business_document(body)
    derived_type = document_type_id(business.syntax, business.customization_id)
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
    if rejected:
        reason = (
            SCENARIO_REJECTION_BIS
            if business.customization_id == PEPPOL_BIS3
            else SCENARIO_REJECTION_XRECHNUNG
        )
        forced = ForcedDelivery(DeliveryStatus.REJECTED, reason)
    return simulator.accept(
        addressing.sender,
        receiver.participant_id,
        derived_type,
        addressing.process or BILLING_PROCESS,
        instance_identifier=instance_identifier.strip() if instance_identifier else None,
        forced=forced,
    )


def _business_document(body: bytes) -> BusinessDocument:
    unprocessable = HTTPStatus.UNPROCESSABLE_ENTITY
    try:
        root = parse_untrusted_xml(body)
    except UntrustedXmlError as error:
        raise SendError(
            unprocessable, "INVALID_XML", f"Not well-formed XML: {error.message}"
        ) from error
    business = read_document(root)
    if business is None:
        raise SendError(
            unprocessable,
            "UNSUPPORTED_DOCUMENT",
            "The root is neither UBL Invoice/CreditNote nor CII",
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


def _add_smp_routes(router: APIRouter, simulator: PeppolSimulator) -> None:
    @router.get("/smp/{participant_id}")
    async def service_group(request: Request, participant_id: str) -> Response:
        unknown = scenario_of(request) is SandboxScenario.RECEIVER_UNKNOWN
        participant = simulator.participant(participant_id, unknown=unknown)
        if participant is None:
            return Response("Not Found", HTTPStatus.NOT_FOUND, media_type="text/plain")
        return Response(_service_group(request, participant), media_type="application/xml")

    @router.get("/smp/{participant_id}/services/{document_type:path}")
    async def service_metadata(
        request: Request, participant_id: str, document_type: str
    ) -> Response:
        unknown = scenario_of(request) is SandboxScenario.RECEIVER_UNKNOWN
        participant = simulator.participant(participant_id, unknown=unknown)
        bare_type = document_type.removeprefix(f"{DOCUMENT_SCHEME}::")
        if participant is None or bare_type not in participant.document_types:
            return Response("Not Found", HTTPStatus.NOT_FOUND, media_type="text/plain")
        return Response(_service_metadata(participant, bare_type), media_type="application/xml")


def _service_group(request: Request, participant: Participant) -> bytes:
    """The SMP 1.x ServiceGroup: the participant and a reference per document type."""
    root = etree.Element(f"{{{SMP_NS}}}ServiceGroup", nsmap={"smp": SMP_NS, "id": IDENTIFIERS_NS})
    identifier = etree.SubElement(root, f"{{{IDENTIFIERS_NS}}}ParticipantIdentifier")
    identifier.set("scheme", PARTICIPANT_SCHEME)
    identifier.text = participant.participant_id
    references = etree.SubElement(root, f"{{{SMP_NS}}}ServiceMetadataReferenceCollection")
    base = str(request.base_url).rstrip("/")
    participant_path = quote(f"{PARTICIPANT_SCHEME}::{participant.participant_id}", safe="")
    for document_type in participant.document_types:
        document_path = quote(f"{DOCUMENT_SCHEME}::{document_type}", safe="")
        etree.SubElement(references, f"{{{SMP_NS}}}ServiceMetadataReference").set(
            "href", f"{base}{API_PREFIX}/smp/{participant_path}/services/{document_path}"
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _service_metadata(participant: Participant, document_type: str) -> bytes:
    """The SMP 1.x ServiceMetadata (unsigned here) naming this simulator's AS4 endpoint."""
    smp, ids = f"{{{SMP_NS}}}", f"{{{IDENTIFIERS_NS}}}"
    root = etree.Element(f"{smp}ServiceMetadata", nsmap={"smp": SMP_NS, "id": IDENTIFIERS_NS})
    information = etree.SubElement(root, f"{smp}ServiceInformation")
    participant_id = etree.SubElement(information, f"{ids}ParticipantIdentifier")
    participant_id.set("scheme", PARTICIPANT_SCHEME)
    participant_id.text = participant.participant_id
    document_id = etree.SubElement(information, f"{ids}DocumentIdentifier")
    document_id.set("scheme", DOCUMENT_SCHEME)
    document_id.text = document_type
    process = etree.SubElement(etree.SubElement(information, f"{smp}ProcessList"), f"{smp}Process")
    process_id = etree.SubElement(process, f"{ids}ProcessIdentifier")
    process_id.set("scheme", "cenbii-procid-ubl")
    process_id.text = BILLING_PROCESS
    endpoint = etree.SubElement(
        etree.SubElement(process, f"{smp}ServiceEndpointList"), f"{smp}Endpoint"
    )
    endpoint.set("transportProfile", AS4_TRANSPORT_PROFILE)
    etree.SubElement(endpoint, f"{smp}EndpointURI").text = "https://ap.govsim.invalid/as4"
    etree.SubElement(endpoint, f"{smp}RequireBusinessLevelSignature").text = "false"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# === HTTP: test-only controls, outside the real contract ======================================


class ParticipantRegistration(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)
    participant_id: str = Field(alias="participantId")
    name: str = "Sandbox participant"
    document_types: list[str] | None = Field(default=None, alias="documentTypes")


class DeliveryOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    status: DeliveryStatus
    reason: str = "Simulated"
    count: int = Field(default=1, ge=1)


def build_peppol_control_router(simulator: PeppolSimulator) -> APIRouter:
    """`/_sim/peppol/...`: what tests use to steer the simulator; no real AP has these."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["simulator control: Peppol"])
    add_standard_controls(router, simulator)

    @router.put("/rate-limit", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(limit: RequestsPerMinute) -> None:
        simulator.rate_limit = RateLimit(per_minute=limit.requests_per_minute)

    @router.post("/participants", status_code=HTTPStatus.CREATED, response_model=None)
    async def register(registration: ParticipantRegistration) -> Response | dict[str, Any]:
        """Publish a participant in the SMP, for the given document types (default: all)."""
        participant_id = normalize_participant(registration.participant_id)
        problem = participant_problem(participant_id)
        if problem is not None:
            return JSONResponse({"detail": problem}, HTTPStatus.UNPROCESSABLE_ENTITY)
        document_types = tuple(
            item.removeprefix(f"{DOCUMENT_SCHEME}::")
            for item in (registration.document_types or DEFAULT_DOCUMENT_TYPES)
        )
        simulator.register(Participant(participant_id, registration.name, document_types))
        return {"participantId": participant_id, "documentTypes": list(document_types)}

    @router.get("/participants")
    async def registered() -> dict[str, Any]:
        """Who was registered (by Clearway's connections or by hand), as registered."""
        return {
            "participants": [
                {
                    "participantId": participant.participant_id,
                    "name": participant.name,
                    "documentTypes": list(participant.document_types),
                }
                for participant in simulator.registered()
            ]
        }

    @router.post("/next-deliveries")
    async def force_deliveries(outcome: DeliveryOutcome) -> dict[str, int]:
        """The next `count` documents end `failed` or `rejected` (or `delivered`)."""
        simulator.force_next(ForcedDelivery(outcome.status, outcome.reason), outcome.count)
        return {"queued": outcome.count}

    return router

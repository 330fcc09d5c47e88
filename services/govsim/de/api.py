"""The simulated German B2G receipt platform (ZRE for the federation, OZG-RE for the Länder):
upload an XRechnung, follow it to the invoice recipient.

The real platforms take uploads through their web portal, e-mail, De-Mail, Peppol or a web
service under a user account; their web-service paths are not public, so the JSON shape here is
the simulator's. What is real is what the platforms check and route on: the XRechnung 3.0
CustomizationID, and the Leitweg-ID in BT-10 (UBL cbc:BuyerReference, CII ram:BuyerReference),
which must be well-formed, carry the right check digits, and name a registered recipient (in
this sandbox every well-formed Leitweg-ID names one, except for an upload sent with the
`receiver_unknown` sandbox scenario):

    POST /zre/invoices               the XRechnung (UBL or CII) as the body, optional
                                     X-Client-Reference; 201 {"id", "clientReference",
                                     "status": "received"}; 400 when the file is not readable
                                     XML in either syntax
    GET  /zre/invoices/{id}          received, then delivered or rejected with German reasons
    GET  /zre/invoices?invoiceNumber=&clientReference=   uploads, to reconcile a lost answer

The platforms publish no idempotency key or client reference (GOVERNMENTS.md §6 has nothing
on it, and an invoice number is only unique per seller). The client reference is this
simulator's: the uploader's own identifier of the upload, stored and listed so that a lost
answer can be matched exactly; a real integration would use what its platform account offers.

Checks other than readability run once the processing delay is over, as the platforms validate
after upload. Clearway's sandbox scenarios on an upload: `reject` ends it "keinem
Rechnungsempfänger zugeordnet"; `token_expired` refuses the API key once per invoice (401).
Calls need `Authorization: Bearer <api key>`. Everything lives in memory.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Annotated, Any

from clearway.domain.sandbox import SANDBOX_INVOICE_HEADER, SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
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
from services.govsim.ubl_cii import XRECHNUNG_3, BusinessDocument, read_document

logger = logging.getLogger(__name__)

API_PREFIX = "/zre"
CONTROL_PREFIX = "/_sim/de"
CLIENT_REFERENCE_HEADER = "X-Client-Reference"
MAX_CLIENT_REFERENCE = 200


class UploadStatus(StrEnum):
    RECEIVED = "received"
    DELIVERED = "delivered"
    REJECTED = "rejected"


@dataclass
class UploadedInvoice:
    upload_id: str
    document: BusinessDocument
    received_at: float
    ready_at: float
    forced_reason: str | None
    client_reference: str | None = None
    receiver_unknown: bool = False  # sent with the `receiver_unknown` sandbox scenario
    status: UploadStatus = UploadStatus.RECEIVED
    decided_at: float | None = None
    reasons: tuple[str, ...] = ()


def rejection_reasons(document: BusinessDocument, *, receiver_unknown: bool) -> list[str]:
    """Why the platform refuses the invoice, in German; empty when it delivers it.

    The sandbox knows a recipient under every well-formed Leitweg-ID with valid check digits
    (there is no directory to fill in by hand), except for an upload sent with the
    `receiver_unknown` scenario."""
    reasons = []
    if not document.customization_id.startswith(XRECHNUNG_3):
        reasons.append(
            f"Die Rechnung ist keine XRechnung 3.0 (CustomizationID "
            f"{document.customization_id or '(fehlt)'})."
        )
    leitweg_id = document.buyer_reference
    if not leitweg_id:
        reasons.append("Die Leitweg-ID (BT-10, BuyerReference) fehlt.")
        return reasons
    problem = leitweg_id_problem(leitweg_id)
    if problem is not None:
        reasons.append(problem)
    elif receiver_unknown:
        reasons.append(f"Die Leitweg-ID {leitweg_id} ist keinem Rechnungsempfänger zugeordnet.")
    return reasons


@dataclass
class ZreSimulator(KeyedSimulator):
    """All state of the simulated receipt platform, and the rules that move it."""

    _leitweg_ids: set[str] = field(default_factory=set)
    _uploads: dict[str, UploadedInvoice] = field(default_factory=dict)
    _undecided: dict[str, UploadedInvoice] = field(default_factory=dict)  # in arrival order
    _forced: list[str] = field(default_factory=list)
    _refused_credentials_for: set[str] = field(default_factory=set)  # `token_expired` played

    def _clear_state(self) -> None:
        self._leitweg_ids.clear()
        self._uploads.clear()
        self._undecided.clear()
        self._forced.clear()
        self._refused_credentials_for.clear()

    def refuse_credential_once(self, invoice_id: str) -> bool:
        """`token_expired`: True the first time for this invoice (its upload then answers 401)."""
        if invoice_id in self._refused_credentials_for:
            return False
        self._refused_credentials_for.add(invoice_id)
        return True

    def register_leitweg_id(self, leitweg_id: str) -> None:
        self._leitweg_ids.add(leitweg_id.upper())

    def receive(
        self,
        document: BusinessDocument,
        *,
        client_reference: str | None = None,
        forced_reason: str | None = None,
        receiver_unknown: bool = False,
    ) -> UploadedInvoice:
        now = self.clock()
        upload = UploadedInvoice(
            upload_id=str(uuid.uuid4()),
            document=document,
            received_at=now,
            ready_at=now + self.processing_delay,
            forced_reason=forced_reason or (self._forced.pop(0) if self._forced else None),
            client_reference=client_reference,
            receiver_unknown=receiver_unknown,
        )
        self._uploads[upload.upload_id] = upload
        self._undecided[upload.upload_id] = upload
        logger.info("ZRE upload %s for Leitweg-ID %s", upload.upload_id, document.buyer_reference)
        return upload

    def upload(self, upload_id: str) -> UploadedInvoice | None:
        self.settle()
        return self._uploads.get(upload_id)

    def uploads(self) -> list[UploadedInvoice]:
        self.settle()
        return list(self._uploads.values())

    def force_rejections(self, reason: str, count: int) -> None:
        self._forced.extend([reason] * count)

    def settle(self) -> None:
        now = self.clock()
        for upload_id, upload in list(self._undecided.items()):
            if upload.ready_at <= now:
                del self._undecided[upload_id]
                reasons = (
                    [upload.forced_reason]
                    if upload.forced_reason
                    else rejection_reasons(
                        upload.document, receiver_unknown=upload.receiver_unknown
                    )
                )
                upload.status = UploadStatus.REJECTED if reasons else UploadStatus.DELIVERED
                upload.reasons = tuple(reasons)
                upload.decided_at = upload.ready_at


# === HTTP: the upload API =====================================================================


def _errors(status: HTTPStatus, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message} for message in messages]}, status)


def _unauthorized() -> JSONResponse:
    response = _errors(HTTPStatus.UNAUTHORIZED, "Nicht angemeldet oder ungültiger API-Schlüssel.")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _admit(simulator: ZreSimulator, request: Request) -> Response | None:
    simulator.settle()
    key = bearer_token(request)
    if key is None or not secrets.compare_digest(key, simulator.api_key):
        return _unauthorized()
    refusal = simulator.limiter.admit("api-key", simulator.rate_limit)
    if refusal is None:
        return None
    response = _errors(HTTPStatus.TOO_MANY_REQUESTS, "Zu viele Anfragen, bitte später erneut.")
    response.headers["Retry-After"] = str(refusal.retry_after_seconds)
    return response


def _upload_json(simulator: ZreSimulator, upload: UploadedInvoice) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": upload.upload_id,
        "clientReference": upload.client_reference,
        "status": upload.status.value,
        "leitwegId": upload.document.buyer_reference,
        "invoiceNumber": upload.document.number,
        "receivedAt": simulator.stamp(upload.received_at),
    }
    if upload.decided_at is not None and upload.status is UploadStatus.DELIVERED:
        body["deliveredAt"] = simulator.stamp(upload.decided_at)
    if upload.status is UploadStatus.REJECTED:
        body["rejectionReasons"] = list(upload.reasons)
        if upload.decided_at is not None:
            body["rejectedAt"] = simulator.stamp(upload.decided_at)
    return body


async def _upload(simulator: ZreSimulator, request: Request) -> Response:
    invoice_id = request.headers.get(SANDBOX_INVOICE_HEADER, "")
    scenario = scenario_of(request)  # Clearway's sandbox scenario
    if (
        scenario is SandboxScenario.TOKEN_EXPIRED
        and invoice_id
        and simulator.refuse_credential_once(invoice_id)
    ):
        return _unauthorized()
    client_reference = request.headers.get(CLIENT_REFERENCE_HEADER)
    if client_reference is not None and not (
        0 < len(client_reference.strip()) <= MAX_CLIENT_REFERENCE
    ):
        return _errors(
            HTTPStatus.BAD_REQUEST,
            f"{CLIENT_REFERENCE_HEADER} muss 1 bis {MAX_CLIENT_REFERENCE} Zeichen lang sein.",
        )
    body = await read_body(request)
    if body is None:
        return _errors(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Die Datei ist zu groß.")
    try:
        root = parse_untrusted_xml(body)
    except UntrustedXmlError as error:
        return _errors(HTTPStatus.BAD_REQUEST, f"Die Datei ist kein gültiges XML: {error.message}")
    document = read_document(root)
    if document is None:
        return _errors(
            HTTPStatus.BAD_REQUEST, "Die Datei ist weder eine UBL- noch eine CII-Rechnung."
        )
    forced = None
    if scenario is SandboxScenario.REJECT:
        # The platform's most common refusal: a Leitweg-ID no recipient is registered under.
        leitweg_id = document.buyer_reference or "(fehlt)"
        forced = f"Die Leitweg-ID {leitweg_id} ist keinem Rechnungsempfänger zugeordnet."
    upload = simulator.receive(
        document,
        client_reference=client_reference.strip() if client_reference else None,
        forced_reason=forced,
        receiver_unknown=scenario is SandboxScenario.RECEIVER_UNKNOWN,
    )
    return JSONResponse(_upload_json(simulator, upload), HTTPStatus.CREATED)


def build_zre_router(simulator: ZreSimulator) -> APIRouter:
    guard = ApiGuard(
        faults=simulator.faults,
        render_fault=plain_fault_response,
        admit=lambda request: _admit(simulator, request),
    )
    router = APIRouter(
        prefix=API_PREFIX, tags=["ZRE / OZG-RE (DE B2G)"], route_class=guarded_route_class(guard)
    )

    @router.post("/invoices", status_code=HTTPStatus.CREATED)
    async def upload_invoice(request: Request) -> Response:
        return await _upload(simulator, request)

    @router.get("/invoices")
    async def search(
        invoice_number: Annotated[str | None, Query(alias="invoiceNumber")] = None,
        client_reference: Annotated[str | None, Query(alias="clientReference")] = None,
    ) -> Response:
        """Uploads, oldest first: how a client reconciles an upload whose answer was lost."""
        found = [
            _upload_json(simulator, upload)
            for upload in simulator.uploads()
            if invoice_number in {None, upload.document.number}
            and client_reference in {None, upload.client_reference}
        ]
        return JSONResponse({"invoices": found})

    @router.get("/invoices/{upload_id}")
    async def upload_status(upload_id: str) -> Response:
        upload = simulator.upload(upload_id)
        if upload is None:
            return _errors(HTTPStatus.NOT_FOUND, f"Unbekannte Rechnung {upload_id}.")
        return JSONResponse(_upload_json(simulator, upload))

    return router


# === HTTP: test-only controls, outside the real contract ======================================


class LeitwegRegistration(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)
    leitweg_id: str = Field(alias="leitwegId")


class RejectionRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    reason: str = "Simulierte Ablehnung"
    count: int = Field(default=1, ge=1)


def build_zre_control_router(simulator: ZreSimulator) -> APIRouter:
    """`/_sim/de/...`: what tests use to steer the simulator; the platforms have none of these."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["simulator control: ZRE (DE)"])
    add_standard_controls(router, simulator)

    @router.put("/rate-limit", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(limit: RequestsPerMinute) -> None:
        simulator.rate_limit = RateLimit(per_minute=limit.requests_per_minute)

    @router.post("/leitweg-ids", status_code=HTTPStatus.CREATED, response_model=None)
    async def register(registration: LeitwegRegistration) -> Response | dict[str, str]:
        """Make a Leitweg-ID an invoice recipient (it must be well-formed). Every well-formed
        one already is in this sandbox; kept so that scripts registering theirs still work."""
        problem = leitweg_id_problem(registration.leitweg_id)
        if problem is not None:
            return JSONResponse({"detail": problem}, HTTPStatus.UNPROCESSABLE_ENTITY)
        simulator.register_leitweg_id(registration.leitweg_id)
        return {"leitwegId": registration.leitweg_id}

    @router.post("/next-rejections")
    async def force_rejections(request: RejectionRequest) -> dict[str, int]:
        """The next `count` uploads are rejected with this reason whatever they hold."""
        simulator.force_rejections(request.reason, request.count)
        return {"queued": request.count}

    return router

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

from http import HTTPStatus
from typing import Annotated, Any

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.controls import Queued, standard_control_router
from services.govsim.de.leitweg import leitweg_id_problem
from services.govsim.de.state import (
    UploadedInvoice,
    UploadStatus,
    ZreSimulator,
)
from services.govsim.faults import scenario_of
from services.govsim.guard import read_body
from services.govsim.keyed import KeyRefusals, add_lookup_route, keyed_api_router
from services.govsim.ubl_cii import read_document
from services.govsim.untrusted_xml import UntrustedXmlError, parse_untrusted_xml

API_PREFIX = "/zre"
CONTROL_PREFIX = "/_sim/de"
CLIENT_REFERENCE_HEADER = "X-Client-Reference"
MAX_CLIENT_REFERENCE = 200

# === HTTP: the upload API =====================================================================


def _errors(status: HTTPStatus, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message} for message in messages]}, status)


def _unauthorized() -> JSONResponse:
    response = _errors(HTTPStatus.UNAUTHORIZED, "Nicht angemeldet oder ungültiger API-Schlüssel.")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _too_many_requests(retry_after_seconds: int) -> JSONResponse:
    response = _errors(HTTPStatus.TOO_MANY_REQUESTS, "Zu viele Anfragen, bitte später erneut.")
    response.headers["Retry-After"] = str(retry_after_seconds)
    return response


def _unknown_upload(upload_id: str) -> JSONResponse:
    return _errors(HTTPStatus.NOT_FOUND, f"Unbekannte Rechnung {upload_id}.")


REFUSALS = KeyRefusals(unauthorized=_unauthorized, too_many_requests=_too_many_requests)


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
    scenario = scenario_of(request)  # Clearway's sandbox scenario
    if simulator.credential_expiry.refuses(request):
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
    router = keyed_api_router(simulator, REFUSALS, prefix=API_PREFIX, tag="ZRE / OZG-RE (DE B2G)")

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
            for upload in simulator.received.all()
            if invoice_number in {None, upload.document.number}
            and client_reference in {None, upload.client_reference}
        ]
        return JSONResponse({"invoices": found})

    add_lookup_route(router, "/invoices/{item_id}", simulator, _upload_json, _unknown_upload)
    return router


# === HTTP: test-only controls, outside the real contract ======================================


class LeitwegRegistration(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)
    leitweg_id: str = Field(alias="leitwegId")


class RejectionRequest(Queued):
    reason: str = "Simulierte Ablehnung"


def build_zre_control_router(simulator: ZreSimulator) -> APIRouter:
    """`/_sim/de/...`: what tests use to steer the simulator; the platforms have none of these."""
    router = standard_control_router(
        simulator, prefix=CONTROL_PREFIX, tag="simulator control: ZRE (DE)"
    )

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
        simulator.received.force_next(request.reason, request.count)
        return {"queued": request.count}

    return router

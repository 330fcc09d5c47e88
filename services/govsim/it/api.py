"""The simulated SDI (Italy): receive a FatturaPA file, then send its notifications.

The real channels are SOAP web services (SDICoop: SdIRiceviFile to send, RicezioneNotifiche to
receive), SFTP (SDIFTP) and PEC, all behind channel accreditation and TLS client certificates.
This is a REST façade over the same message semantics, so a connector's logic (file naming,
identificativo SdI, notification types, error codes) is what it will be on SDICoop; only the
transport differs, and the façade has no credentials (SDICoop authenticates by certificate):

    POST /sdi/files                          SdIRiceviFile: JSON {"nomeFile", "file" (Base64)}
                                             or multipart/form-data with a "file" part; answers
                                             {"identificativoSdI", "dataOraRicezione", "nomeFile"},
                                             or {"errore": "EI01", ...} for an empty file
    GET  /sdi/files/{identificativoSdI}/notifications
                                             the notification files sent so far: RC, NS, MC, and
                                             for public administrations NE, DT, AT
    GET  /sdi/files?nomeFile=                the files received under that name, oldest first

Real SDI pushes its notifications to the transmitter's own endpoint (RicezioneNotifiche on
SDICoop, the SFTP return folder on SDIFTP, the PEC mailbox) and offers no call to list them or
the files received. The two GETs stand in for that receiver: what a transmitter's receiver has
recorded (each notification names its file, NomeFile, and its IdentificativoSdI), served for
the client to read. A file is listed by name from the moment SdIRiceviFile registered it, as
SdIRiceviFile's own answer would have told the sender.

SDI also delivers to the recipient's channel (delivery.py): the control `POST
/_sim/it/purchase-invoices` has a purchase invoice sent to a buyer, delivered to the configured
channel (Clearway's receiver) as SDI's RiceviFatture, with SDI's retries.

Clearway's sandbox scenarios (X-Clearway-Sandbox-Scenario with X-Clearway-Invoice-Id) on
SdIRiceviFile: `transient_error`, `rate_limited`, `timeout` and `slow` (the answer 1.5 s late)
as for every simulator (common.ScenarioPlays); `reject` ends the file in an NS with 00305 (the
buyer's IdCodice); `slow` also decides it SCENARIO_SLOW_DECISION_SECONDS after receipt;
`token_expired` refuses the channel's certificate once (HTTP 401: SDI has no tokens, and on
SDICoop an unaccepted certificate fails the TLS handshake; the façade has no TLS to fail).

SdIRiceviFile only registers the file; every check runs afterwards and ends, once the processing
delay is over, in exactly one of: RC (ricevuta di consegna: delivered, the invoice is issued), NS
(notifica di scarto: refused, with the error codes), MC (mancata consegna: B2B issued but put in
the buyer's reserved area; PA: SDI keeps trying, then AT after 10 days). For a PA invoice that
was delivered, the office's esito (EC01 accepted / EC02 refused, set through the control) comes
back as NE; silence for 15 days brings DT (decorrenza termini). Everything lives in memory.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from typing import Annotated, Any

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.govsim.controls import Queued, standard_control_router
from services.govsim.faults import scenario_of
from services.govsim.guard import guarded_router, read_body
from services.govsim.it.delivery import PurchaseFile, deliver
from services.govsim.it.documents import (
    Errore,
)
from services.govsim.it.esiti import DeliveredFile, DeliveredFiles
from services.govsim.it.purchases import (
    read_sent_file,
    sample_purchase_invoice,
    signed_cades,
    unread_file_name,
)
from services.govsim.it.state import (
    ForcedOutcome,
    Notification,
    Outcome,
    ReceivedFile,
    SdiSimulator,
)
from services.govsim.purchases import given_or_sample

API_PREFIX = "/sdi"
CONTROL_PREFIX = "/_sim/it"
MAX_FILE_BYTES = 5 * 1024 * 1024  # SdIRiceviFile's limit on a single file
SCENARIO_SLOW_DECISION_SECONDS = 8.0  # `slow`: the notification comes this long after receipt
# `reject`: the buyer's Partita IVA refused, an NS a user can act on (the field to change).
SCENARIO_REJECTION = ("00305", "1.4.1.1.2 <IdCodice> non valido")


# === HTTP: the façade =========================================================================


class UploadedFile(BaseModel):
    """The JSON form of SdIRiceviFile's fileSdIAccoglienza."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)
    nome_file: str = Field(alias="nomeFile", min_length=1, max_length=50)
    file: str


class UploadError(Exception):
    def __init__(self, status: HTTPStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def build_sdi_router(simulator: SdiSimulator) -> APIRouter:
    router = guarded_router(
        prefix=API_PREFIX,
        tag="SDI façade (IT)",
        faults=simulator.faults,
        admit=lambda request: _admit(simulator, request),
    )

    @router.post("/files")
    async def send_file(request: Request) -> Response:
        try:
            name, content = await _read_upload(request)
        except UploadError as error:
            return JSONResponse({"detail": error.detail}, error.status)
        if not content:
            # SdIRiceviFile answers an empty file with ErroreInvio EI01 and no identifier.
            return JSONResponse({"errore": "EI01", "descrizione": "FILE VUOTO"})
        scenario = scenario_of(request)
        if simulator.certificate_expiry.refuses(request):
            return JSONResponse(
                {"detail": "Certificato client non valido o scaduto"}, HTTPStatus.UNAUTHORIZED
            )
        received = simulator.receive(name, content, **_scenario_processing(simulator, scenario))
        return JSONResponse(_received_json(simulator, received))

    @router.get("/files")
    async def files_named(nome_file: Annotated[str, Query(alias="nomeFile")]) -> Response:
        """The files received under a name: how a sender whose answer was lost finds its file."""
        found = simulator.files_named(nome_file)
        return JSONResponse({"files": [_received_json(simulator, item) for item in found]})

    @router.get("/files/{identificativo}/notifications")
    async def notifications(identificativo: int) -> Response:
        received = simulator.received.get(identificativo)
        if received is None:
            return JSONResponse(
                {"detail": f"IdentificativoSdI {identificativo} sconosciuto"}, HTTPStatus.NOT_FOUND
            )
        return JSONResponse(
            {
                "identificativoSdI": identificativo,
                "nomeFile": received.name,
                "notifiche": [
                    _notification_json(simulator, item) for item in received.notifications
                ],
            }
        )

    return router


def _received_json(simulator: SdiSimulator, received: ReceivedFile) -> dict[str, Any]:
    return {
        "identificativoSdI": received.identificativo,
        "dataOraRicezione": simulator.local_time(received.received_at),
        "nomeFile": received.name,
    }


def _scenario_processing(
    simulator: SdiSimulator, scenario: SandboxScenario | None
) -> dict[str, Any]:
    """What a sandbox scenario changes in the file's processing: its outcome or its delay."""
    if scenario is SandboxScenario.REJECT:
        return {"forced": ForcedOutcome(Outcome.REFUSED, (Errore(*SCENARIO_REJECTION),))}
    if scenario is SandboxScenario.SLOW:
        delay = max(simulator.processing_delay, SCENARIO_SLOW_DECISION_SECONDS)
        return {"processing_delay": delay}
    return {}


def _admit(simulator: SdiSimulator, request: Request) -> Response | None:
    address = request.client.host if request.client else "-"
    refusal = simulator.limiter.admit(address, simulator.rate_limit)
    if refusal is None:
        return None
    return Response(
        "Too Many Requests",
        HTTPStatus.TOO_MANY_REQUESTS,
        headers={"Retry-After": str(refusal.retry_after_seconds)},
        media_type="text/plain",
    )


def _notification_json(simulator: SdiSimulator, notification: Notification) -> dict[str, Any]:
    return {
        "tipo": notification.tipo,
        "nomeFile": notification.nome_file,
        "dataOraRicezione": simulator.local_time(notification.emitted_at),
        "messageId": notification.message_id,
        "xml": notification.xml.decode(),
    }


async def _read_upload(request: Request) -> tuple[str, bytes]:
    body = await read_body(request, MAX_FILE_BYTES * 2)
    if body is None:
        raise UploadError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "File troppo grande")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        name, content = _multipart_file(content_type, body)
    else:
        try:
            uploaded = UploadedFile.model_validate_json(body)
        except ValidationError as exc:
            raise UploadError(HTTPStatus.BAD_REQUEST, "Richiesta non valida") from exc
        try:
            content = base64.b64decode(uploaded.file, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UploadError(HTTPStatus.BAD_REQUEST, "file: Base64 non valido") from exc
        name = uploaded.nome_file
    if len(content) > MAX_FILE_BYTES:
        raise UploadError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "File troppo grande")
    return name, content


def _multipart_file(content_type: str, body: bytes) -> tuple[str, bytes]:
    """The "file" part of a multipart/form-data body (the stdlib parser; no extra package)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            name = part.get_filename() or ""
            payload = part.get_payload(decode=True)
            if name and isinstance(payload, bytes):
                return name, payload
    raise UploadError(HTTPStatus.BAD_REQUEST, 'Parte "file" con nome file mancante')


# === HTTP: test-only controls, outside the real contract ======================================


class ErroreRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    codice: str = Field(pattern=r"^\d{5}$")
    descrizione: str = Field(min_length=1, max_length=255)


class OutcomeRequest(Queued):
    tipo: Outcome
    errori: list[ErroreRequest] = Field(default_factory=list)  # for NS


class EsitoRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    esito: str = Field(pattern=r"^EC0[12]$")
    descrizione: str = ""


class PurchaseInvoice(BaseModel):
    """A purchase invoice for `buyerVat`: `xml` as given (its buyer must be `buyerVat`), or else
    a sample rendered by Clearway's FatturaPA renderer, addressed to the channel's code."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)
    buyer_vat: str = Field(alias="buyerVat", pattern=r"^[A-Z]{2}[A-Za-z0-9]{2,28}$")
    xml: str | None = Field(default=None, min_length=1, max_length=MAX_FILE_BYTES)
    signed: bool = False  # sent signed (CAdES, .xml.p7m), as many suppliers do


def build_sdi_control_router(
    simulator: SdiSimulator, deliveries: DeliveredFiles | None = None
) -> APIRouter:
    """`/_sim/it/...`: what tests use to steer the simulator; SDI has none of these."""
    router = standard_control_router(simulator, prefix=CONTROL_PREFIX, tag="simulator control: SDI")
    _add_purchase_controls(router, simulator, deliveries)

    @router.post("/next-outcomes")
    async def force_outcomes(request: OutcomeRequest) -> dict[str, int]:
        """The next `count` files end in `tipo` (RC, NS with `errori`, MC) whatever they hold."""
        errors = tuple(Errore(item.codice, item.descrizione) for item in request.errori)
        simulator.received.force_next(ForcedOutcome(request.tipo, errors), request.count)
        return {"queued": request.count}

    @router.post("/files/{identificativo}/esito", response_model=None)
    async def esito(identificativo: int, request: EsitoRequest) -> Response | dict[str, str]:
        """The public administration accepts (EC01) or refuses (EC02) a delivered invoice."""
        received = simulator.received.get(identificativo)
        if received is None:
            return JSONResponse({"detail": "Unknown file"}, HTTPStatus.NOT_FOUND)
        if not simulator.record_esito(received, request.esito, request.descrizione):
            return JSONResponse(
                {"detail": "No esito expected: not a delivered PA invoice, or already settled"},
                HTTPStatus.CONFLICT,
            )
        return {"esito": request.esito}

    @router.post("/files/{identificativo}/decide", response_model=None)
    async def decide(identificativo: int) -> Response | dict[str, Any]:
        """End one file's processing delay now."""
        received = simulator.received.decide_now(identificativo)
        if received is None:
            return JSONResponse({"detail": "Unknown file"}, HTTPStatus.NOT_FOUND)
        return {"identificativoSdI": identificativo, "esito": received.outcome}

    @router.get("/files")
    async def files() -> list[dict[str, Any]]:
        return [
            {
                "identificativoSdI": received.identificativo,
                "nomeFile": received.name,
                "outcome": received.outcome,
                "notifiche": [item.tipo for item in received.notifications],
            }
            for received in simulator.received.all()
        ]

    return router


def _add_purchase_controls(
    router: APIRouter, simulator: SdiSimulator, deliveries: DeliveredFiles | None
) -> None:
    def no_channel() -> Response:
        return JSONResponse(
            {"detail": "No recipient channel: the simulator has no GOVSIM_RECEIVER_URL"},
            HTTPStatus.SERVICE_UNAVAILABLE,
        )

    @router.post("/purchase-invoices", status_code=HTTPStatus.CREATED, response_model=None)
    async def deliver_purchase_invoice(invoice: PurchaseInvoice) -> dict[str, Any] | Response:
        """Deliver a purchase invoice to the recipient's channel now, as if its supplier had
        sent it and SDI had accepted it: numbered (IdentificativoSdI) and delivered with its
        metadata file (RiceviFatture), tried again after a failed attempt. Answers how the
        delivery went; 422 when the invoice's buyer is not `buyerVat`. A document SDI cannot
        read (hostile, broken) is delivered as given, under the sample supplier's file name."""
        channel = simulator.channel
        if channel is None:
            return no_channel()
        content = given_or_sample(
            invoice.xml,
            lambda: sample_purchase_invoice(
                buyer_vat=invoice.buyer_vat,
                code=channel.code,
                issued=date.fromisoformat(simulator.local_time(simulator.clock())[:10]),
            ),
        )
        sent = read_sent_file(content)
        if sent is not None and (sent.buyer_vat or "").upper() != invoice.buyer_vat.upper():
            return JSONResponse(
                {"detail": f"The invoice's buyer is {sent.buyer_vat}, not {invoice.buyer_vat}"},
                HTTPStatus.UNPROCESSABLE_ENTITY,
            )
        name, formato = (sent.name, sent.formato) if sent else (unread_file_name(), "FPR12")
        if invoice.signed:
            name, content = f"{name}.p7m", signed_cades(content)
        purchase = await deliver(channel, simulator.purchase_file(name, content, formato))
        return _delivered(purchase, simulator, deliveries)

    @router.post("/purchase-invoices/{identificativo}/deliver", response_model=None)
    async def deliver_again(identificativo: int) -> dict[str, Any] | Response:
        """Deliver a file again (as SDI does when it holds no ER01 for it): the same
        IdentificativoSdI, its attempts counted on."""
        purchase = simulator.purchases.get(identificativo)
        if purchase is None:
            return JSONResponse(
                {"detail": f"IdentificativoSdI {identificativo} sconosciuto"}, HTTPStatus.NOT_FOUND
            )
        if simulator.channel is None:
            return no_channel()
        purchase.acknowledged = False
        return _delivered(await deliver(simulator.channel, purchase), simulator, deliveries)


def _delivered(
    purchase: PurchaseFile, simulator: SdiSimulator, deliveries: DeliveredFiles | None
) -> dict[str, Any]:
    """A file the channel took is one SDI delivered: the buyer's esito may name it."""
    if purchase.acknowledged and deliveries is not None:
        at = simulator.clock()
        deliveries.record(
            DeliveredFile(str(purchase.identificativo), purchase.name, purchase.formato, at)
        )
    return _purchase_json(purchase)


def _purchase_json(purchase: PurchaseFile) -> dict[str, Any]:
    return {
        "identificativoSdI": purchase.identificativo,
        "nomeFile": purchase.name,
        "delivered": purchase.acknowledged,
        "esito": "ER01" if purchase.acknowledged else None,
        "tentativiInvio": purchase.attempts,
        "lastStatus": purchase.last_status,
        "lastAnswer": purchase.last_answer,
    }

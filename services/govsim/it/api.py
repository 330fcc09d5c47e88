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
import itertools
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from enum import StrEnum
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from clearway.domain.sandbox import SANDBOX_INVOICE_HEADER, SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.govsim.common import (
    ApiGuard,
    FaultQueue,
    RateLimit,
    RequestsPerMinute,
    SlidingWindowLimiter,
    add_standard_controls,
    guarded_route_class,
    plain_fault_response,
    read_body,
    scenario_of,
)
from services.govsim.it.documents import (
    FATTURA_DUPLICATA,
    NO_CHANNEL,
    NOME_FILE_DUPLICATO,
    Errore,
    InvoiceKey,
    NotificationHeader,
    Transmission,
    check_file,
    check_file_name,
    committente_esito,
    error_list,
    invoice_reference,
    leaf,
    notification_xml,
    recipient,
)

if TYPE_CHECKING:
    from lxml import etree

    from services.govsim.common import Clock

logger = logging.getLogger(__name__)

API_PREFIX = "/sdi"
CONTROL_PREFIX = "/_sim/it"
ROME = ZoneInfo("Europe/Rome")
MAX_FILE_BYTES = 5 * 1024 * 1024  # SdIRiceviFile's limit on a single file
FIRST_IDENTIFICATIVO = 4_000_000_000  # real identifiers are 9-12 digit integers
FIRST_MESSAGE_ID = 10_000_000_000
PA_RETRY_SECONDS = 10 * 86_400  # MC to a PA: SDI retries for 10 days, then AT
PA_ESITO_SECONDS = 15 * 86_400  # RC to a PA: no esito in 15 days brings DT
SCENARIO_SLOW_DECISION_SECONDS = 8.0  # `slow`: the notification comes this long after receipt
# `reject`: the buyer's Partita IVA refused, an NS a user can act on (the field to change).
SCENARIO_REJECTION = ("00305", "1.4.1.1.2 <IdCodice> non valido")


class Outcome(StrEnum):
    DELIVERED = "RC"
    REFUSED = "NS"
    NOT_DELIVERED = "MC"


@dataclass(frozen=True)
class Notification:
    tipo: str
    nome_file: str
    emitted_at: float
    message_id: str
    xml: bytes


@dataclass(frozen=True)
class ForcedOutcome:
    outcome: Outcome
    errors: tuple[Errore, ...]


@dataclass
class ReceivedFile:
    identificativo: int
    name: str
    content: bytes
    received_at: float
    ready_at: float
    forced: ForcedOutcome | None
    outcome: Outcome | None = None
    transmission: Transmission | None = None
    notifications: list[Notification] = field(default_factory=list)
    esito: str | None = None  # EC01 / EC02, once the PA answered

    @property
    def to_public_administration(self) -> bool:
        return self.transmission is not None and self.transmission.to_public_administration


class SdiSimulator:
    """All state of the simulated SDI, and the rules that move it."""

    def __init__(self, *, processing_delay: float, clock: Clock = time.time) -> None:
        self.clock = clock
        self.default_processing_delay = processing_delay
        self.processing_delay = processing_delay
        self.faults = FaultQueue()
        self.rate_limit = RateLimit()  # SDICoop publishes no call limit
        self.limiter = SlidingWindowLimiter(clock)
        # Identifiers stay monotonic across resets so a running client never sees one reused.
        self._identificativi = itertools.count(FIRST_IDENTIFICATIVO)
        self._message_ids = itertools.count(FIRST_MESSAGE_ID)
        self._files: dict[int, ReceivedFile] = {}
        self._undecided: dict[int, ReceivedFile] = {}  # in arrival order
        self._awaiting_pa: dict[int, ReceivedFile] = {}  # PA files a DT or AT may still follow
        self._names: set[str] = set()
        self._issued: set[InvoiceKey] = set()
        self._forced: list[ForcedOutcome] = []
        self._certificate_refused: set[str] = set()  # invoices `token_expired` has played for

    def reset(self) -> None:
        self.processing_delay = self.default_processing_delay
        self.faults.clear()
        self.rate_limit = RateLimit()
        self.limiter.clear()
        self._files.clear()
        self._undecided.clear()
        self._awaiting_pa.clear()
        self._names.clear()
        self._issued.clear()
        self._forced.clear()
        self._certificate_refused.clear()

    def refuse_certificate_once(self, invoice_id: str) -> bool:
        """`token_expired`: True the first time an invoice's file comes, then False."""
        if invoice_id in self._certificate_refused:
            return False
        self._certificate_refused.add(invoice_id)
        return True

    def local_time(self, at: float) -> str:
        return datetime.fromtimestamp(at, UTC).astimezone(ROME).isoformat(timespec="milliseconds")

    # --- receiving -------------------------------------------------------------------------

    def receive(
        self,
        name: str,
        content: bytes,
        *,
        forced: ForcedOutcome | None = None,
        processing_delay: float | None = None,
    ) -> ReceivedFile:
        """Register a file; `forced` and `processing_delay` are a sandbox scenario's."""
        now = self.clock()
        delay = self.processing_delay if processing_delay is None else processing_delay
        received = ReceivedFile(
            identificativo=next(self._identificativi),
            name=name,
            content=content,
            received_at=now,
            ready_at=now + delay,
            forced=forced or (self._forced.pop(0) if self._forced else None),
        )
        self._files[received.identificativo] = received
        self._undecided[received.identificativo] = received
        logger.info("SDI file %s received as %s", name, received.identificativo)
        self.settle()
        return received

    def file(self, identificativo: int) -> ReceivedFile | None:
        self.settle()
        return self._files.get(identificativo)

    def all_files(self) -> list[ReceivedFile]:
        self.settle()
        return list(self._files.values())

    def files_named(self, name: str) -> list[ReceivedFile]:
        """Files received under `name`, oldest first (SDI issues at most the first)."""
        return [received for received in self.all_files() if received.name == name]

    def force_next(self, forced: ForcedOutcome, count: int) -> None:
        self._forced.extend([forced] * count)

    def decide_now(self, identificativo: int) -> ReceivedFile | None:
        received = self._files.get(identificativo)
        if received is not None:
            received.ready_at = min(received.ready_at, self.clock())
            self.settle()
        return received

    # --- processing ------------------------------------------------------------------------

    def settle(self) -> None:
        """Decide every file whose processing is over, in arrival order; then the PA timers."""
        now = self.clock()
        for identificativo, received in list(self._undecided.items()):
            if received.ready_at <= now:
                del self._undecided[identificativo]
                self._decide(received)
                if received.to_public_administration and received.outcome is not Outcome.REFUSED:
                    self._awaiting_pa[identificativo] = received
        for identificativo, received in list(self._awaiting_pa.items()):
            if self._run_pa_timers(received, now):
                del self._awaiting_pa[identificativo]

    def _decide(self, received: ReceivedFile) -> None:
        errors, transmission = self._check(received)
        received.transmission = transmission
        forced = received.forced
        if forced is not None:
            outcome, errors = forced.outcome, forced.errors
        elif errors:
            outcome = Outcome.REFUSED
        elif transmission is not None and _no_channel(transmission):
            outcome = Outcome.NOT_DELIVERED
        else:
            outcome = Outcome.DELIVERED
        if outcome is Outcome.REFUSED and not errors:
            errors = (Errore("00200", "File non conforme al formato"),)
        received.outcome = outcome
        if outcome is not Outcome.REFUSED and transmission is not None:
            self._issued.update(transmission.invoices)
        self._names.add(received.name)
        self._notify_outcome(received, errors)
        logger.info("SDI file %s: %s", received.identificativo, outcome.value)

    def _check(self, received: ReceivedFile) -> tuple[tuple[Errore, ...], Transmission | None]:
        bad_name = check_file_name(received.name)
        if bad_name is not None:
            return (bad_name,), None
        if received.name in self._names:
            return (NOME_FILE_DUPLICATO,), None
        checked = check_file(received.name, received.content)
        if checked.errors or checked.transmission is None:
            return checked.errors, None
        transmission = checked.transmission
        if any(invoice in self._issued for invoice in transmission.invoices):
            return (FATTURA_DUPLICATA,), transmission
        return (), transmission

    def _notify_outcome(self, received: ReceivedFile, errors: tuple[Errore, ...]) -> None:
        at = received.ready_at
        header_fields = [leaf("DataOraRicezione", self.local_time(received.received_at))]
        if received.outcome is Outcome.REFUSED:
            self._emit(received, "NS", "NotificaScarto", at, [*header_fields, error_list(errors)])
        elif received.outcome is Outcome.NOT_DELIVERED:
            description = (
                "Impossibilità di recapito: SDI ritenterà l'invio all'amministrazione"
                if received.to_public_administration
                else "La fattura è stata messa a disposizione del cessionario/committente "
                "nella sua area riservata"
            )  # wording UNCONFIRMED
            self._emit(
                received,
                "MC",
                "NotificaMancataConsegna",
                at,
                [*header_fields, leaf("Descrizione", description)],
            )
        else:
            code = received.transmission.recipient_code if received.transmission else ""
            delivered = [
                *header_fields,
                leaf("DataOraConsegna", self.local_time(at)),
                recipient(code, f"Destinatario {code}"),
            ]
            self._emit(received, "RC", "RicevutaConsegna", at, delivered)

    def _run_pa_timers(self, received: ReceivedFile, now: float) -> bool:
        """Emit AT (10 days after MC) or DT (15 days after RC) when due; True once settled."""
        if received.esito is not None:
            return True
        if received.outcome is Outcome.NOT_DELIVERED:
            at = received.ready_at + PA_RETRY_SECONDS
            if now < at:
                return False
            fields = [
                leaf("DataOraRicezione", self.local_time(received.received_at)),
                recipient(self._recipient_code(received), "Amministrazione non raggiungibile"),
            ]
            self._emit(received, "AT", "AttestazioneTrasmissioneFattura", at, fields)
            return True
        at = received.ready_at + PA_ESITO_SECONDS
        if now < at:
            return False
        fields = [
            *self._invoice_references(received),
            leaf("Descrizione", "Decorsi i termini per la notifica di esito"),
        ]
        self._emit(received, "DT", "NotificaDecorrenzaTermini", at, fields)
        return True

    def record_esito(self, received: ReceivedFile, esito: str, descrizione: str) -> bool:
        """The PA's EC01/EC02, relayed to the sender as NE; False when it is not expected now."""
        self.settle()
        kinds = {notification.tipo for notification in received.notifications}
        if (
            not received.to_public_administration
            or received.outcome is not Outcome.DELIVERED
            or received.esito is not None
            or "DT" in kinds
        ):
            return False
        received.esito = esito
        invoices = received.transmission.invoices if received.transmission else ()
        fields = [
            committente_esito(
                received.identificativo, invoices[0] if invoices else None, esito, descrizione
            )
        ]
        self._emit(received, "NE", "NotificaEsito", self.clock(), fields)
        return True

    def _emit(
        self,
        received: ReceivedFile,
        tipo: str,
        root_name: str,
        at: float,
        fields: list[etree._Element],
    ) -> None:
        message_id = str(next(self._message_ids))
        header = NotificationHeader(
            identificativo_sdi=received.identificativo,
            nome_file=received.name,
            data_ora_ricezione=self.local_time(received.received_at),
            message_id=message_id,
        )
        stem = received.name.split(".", 1)[0]
        sequence = sum(1 for notification in received.notifications if notification.tipo == tipo)
        received.notifications.append(
            Notification(
                tipo=tipo,
                nome_file=f"{stem}_{tipo}_{sequence + 1:03d}.xml",
                emitted_at=at,
                message_id=message_id,
                xml=notification_xml(root_name, header, fields),
            )
        )

    def _recipient_code(self, received: ReceivedFile) -> str:
        return received.transmission.recipient_code if received.transmission else ""

    def _invoice_references(self, received: ReceivedFile) -> list[etree._Element]:
        invoices = received.transmission.invoices if received.transmission else ()
        return [invoice_reference(invoice) for invoice in invoices[:1]]


def _no_channel(transmission: Transmission) -> bool:
    """Nothing to deliver to: code 0000000 with no PEC (B2B), in this sandbox the only MC."""
    return transmission.recipient_code == NO_CHANNEL and not transmission.recipient_pec


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
    guard = ApiGuard(
        faults=simulator.faults,
        render_fault=plain_fault_response,
        admit=lambda request: _admit(simulator, request),
    )
    router = APIRouter(
        prefix=API_PREFIX, tags=["SDI façade (IT)"], route_class=guarded_route_class(guard)
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
        invoice_id = request.headers.get(SANDBOX_INVOICE_HEADER, "")
        if (
            scenario is SandboxScenario.TOKEN_EXPIRED
            and invoice_id
            and simulator.refuse_certificate_once(invoice_id)
        ):
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
        received = simulator.file(identificativo)
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


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    tipo: Outcome
    count: int = Field(default=1, ge=1)
    errori: list[ErroreRequest] = Field(default_factory=list)  # for NS


class EsitoRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    esito: str = Field(pattern=r"^EC0[12]$")
    descrizione: str = ""


def build_sdi_control_router(simulator: SdiSimulator) -> APIRouter:
    """`/_sim/it/...`: what tests use to steer the simulator; SDI has none of these."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["simulator control: SDI"])
    add_standard_controls(router, simulator)

    @router.put("/rate-limit", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(limit: RequestsPerMinute) -> None:
        simulator.rate_limit = RateLimit(per_minute=limit.requests_per_minute)

    @router.post("/next-outcomes")
    async def force_outcomes(request: OutcomeRequest) -> dict[str, int]:
        """The next `count` files end in `tipo` (RC, NS with `errori`, MC) whatever they hold."""
        errors = tuple(Errore(item.codice, item.descrizione) for item in request.errori)
        simulator.force_next(ForcedOutcome(request.tipo, errors), request.count)
        return {"queued": request.count}

    @router.post("/files/{identificativo}/esito", response_model=None)
    async def esito(identificativo: int, request: EsitoRequest) -> Response | dict[str, str]:
        """The public administration accepts (EC01) or refuses (EC02) a delivered invoice."""
        received = simulator.file(identificativo)
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
        received = simulator.decide_now(identificativo)
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
            for received in simulator.all_files()
        ]

    return router

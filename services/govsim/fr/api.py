"""The simulated French Plateforme Agréée (PA, ex-PDP): deposit an invoice, follow its lifecycle.

Since the reform's redesign the PPF is only the directory and the tax-data concentrator; invoices
travel between accredited platforms, and a company deals with its own platform's API. No public
standard for that API was verified (the AFNOR work on a common PA API is UNCONFIRMED), so the
paths and JSON shapes here are the simulator's; what is the reform's own is the lifecycle: the
CDAR status codes and labels 200 Déposée, 201 Émise, 202 Reçue, 203 Mise à disposition,
204 Prise en charge, 205 Approuvée, 206 Approuvée partiellement, 207 En litige, 208 Suspendue,
209 Complétée, 210 Refusée, 211 Paiement transmis, 212 Encaissée, 213 Rejetée (mandatory: 200,
210, 212, 213), and 501 Irrecevable at platform level:

    POST /pa/invoices                     the file as the body (application/xml for UBL or CII,
                                          application/pdf for Factur-X); 201 {"invoiceId",
                                          "status": {"code": 200, "label": "Déposée"}}, or 422
                                          with status 501 Irrecevable for an unreadable file
    GET  /pa/invoices/{id}                the invoice and its current status
    GET  /pa/invoices/{id}/statuses       the history: code, label, date, reason
    GET  /pa/invoices?invoiceNumber=&sellerSiren=   deposits, to reconcile a lost answer

After the processing delay the platform has checked the invoice: 213 Rejetée with a reason, or
201 Émise; 202 Reçue and 203 Mise à disposition follow at half-delay steps (the recipient's
platform). The buyer's and the seller's later statuses (204-212) are set through the control, as
they come from people, not from the platform. Calls need `Authorization: Bearer <api key>`.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Annotated, Any

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.common import (
    ApiGuard,
    KeyedSimulator,
    RateLimit,
    RequestsPerMinute,
    add_standard_controls,
    bearer_token,
    guarded_route_class,
    plain_fault_response,
    read_body,
    scenario_of,
)
from services.govsim.fr.documents import (
    ReadInvoice,
    Rejection,
    UnreadableFileError,
    check_invoice,
    duplicate_key,
    read_deposit,
)

logger = logging.getLogger(__name__)

API_PREFIX = "/pa"
CONTROL_PREFIX = "/_sim/fr"

STATUS_LABELS = {
    200: "Déposée",
    201: "Émise",
    202: "Reçue",
    203: "Mise à disposition",
    204: "Prise en charge",
    205: "Approuvée",
    206: "Approuvée partiellement",
    207: "En litige",
    208: "Suspendue",
    209: "Complétée",
    210: "Refusée",
    211: "Paiement transmis",
    212: "Encaissée",
    213: "Rejetée",
    501: "Irrecevable",
}
MANDATORY_STATUSES = frozenset({200, 210, 212, 213})
FINAL_STATUSES = frozenset({210, 212, 213, 501})
NEEDS_REASON = frozenset({207, 208, 210, 213})
# Which status may follow which, for the ones set by the control: the simulator's reading of
# the lifecycle (the buyer processes, disputes, approves or refuses; payment and cashing follow
# approval). UNCONFIRMED in its details.
NEXT_STATUSES = {
    203: frozenset({204, 205, 206, 207, 208, 210}),
    204: frozenset({205, 206, 207, 208, 210}),
    207: frozenset({205, 206, 208, 210}),
    208: frozenset({209}),
    209: frozenset({204, 205, 206, 207, 210}),
    205: frozenset({211, 212}),
    206: frozenset({211, 212}),
    211: frozenset({212}),
}


@dataclass(frozen=True)
class StatusEntry:
    code: int
    at: float
    reason: str | None = None
    reason_code: str | None = None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.code]


@dataclass
class DepositedInvoice:
    invoice_id: str
    deposited_at: float
    ready_at: float
    processing_delay: float
    read: ReadInvoice | None  # None: Irrecevable
    forced_rejection: Rejection | None
    history: list[StatusEntry] = field(default_factory=list)
    checked: bool = False

    @property
    def current(self) -> StatusEntry:
        return self.history[-1]


@dataclass
class FrPaSimulator(KeyedSimulator):
    """All state of the simulated platform, and the rules that move it."""

    _invoices: dict[str, DepositedInvoice] = field(default_factory=dict)
    _in_transit: dict[str, DepositedInvoice] = field(default_factory=dict)  # before 203 or 213
    _issued: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _forced: list[Rejection] = field(default_factory=list)

    def _clear_state(self) -> None:
        self._invoices.clear()
        self._in_transit.clear()
        self._issued.clear()
        self._forced.clear()

    def deposit(self, content: bytes) -> tuple[DepositedInvoice, str | None]:
        """Register a deposit; the reason is set when the file is Irrecevable."""
        now = self.clock()
        reason: str | None = None
        try:
            read: ReadInvoice | None = read_deposit(content)
        except UnreadableFileError as error:
            read, reason = None, str(error)
        invoice = DepositedInvoice(
            invoice_id=str(uuid.uuid4()),
            deposited_at=now,
            ready_at=now + self.processing_delay,
            processing_delay=self.processing_delay,
            read=read,
            forced_rejection=self._forced.pop(0) if self._forced and read else None,
        )
        first = StatusEntry(200, now) if read else StatusEntry(501, now, reason, "IRRECEVABLE")
        invoice.history.append(first)
        self._invoices[invoice.invoice_id] = invoice
        if read is not None:
            self._in_transit[invoice.invoice_id] = invoice
        logger.info("PA invoice %s deposited: %s", invoice.invoice_id, first.label)
        return invoice, reason

    def invoice(self, invoice_id: str) -> DepositedInvoice | None:
        self.settle()
        return self._invoices.get(invoice_id)

    def all_invoices(self) -> list[DepositedInvoice]:
        self.settle()
        return list(self._invoices.values())

    def force_rejections(self, rejection: Rejection, count: int) -> None:
        self._forced.extend([rejection] * count)

    def settle(self) -> None:
        now = self.clock()
        for invoice_id, invoice in list(self._in_transit.items()):
            if not invoice.checked and invoice.ready_at <= now:
                self._check(invoice)
            if invoice.checked and invoice.current.code in {201, 202}:
                self._route(invoice, now)
            if invoice.current.code in {203, 213}:
                del self._in_transit[invoice_id]

    def _check(self, invoice: DepositedInvoice) -> None:
        assert invoice.read is not None  # only readable deposits are checked
        invoice.checked = True
        document = invoice.read.document
        rejection = invoice.forced_rejection or check_invoice(document)
        key = duplicate_key(document)
        if rejection is None and key in self._issued:
            rejection = Rejection(
                "REJ_UNI", f"Doublon : facture déjà émise (dépôt {self._issued[key]})"
            )
        if rejection is not None:
            invoice.history.append(
                StatusEntry(213, invoice.ready_at, rejection.reason, rejection.code)
            )
            return
        self._issued[key] = invoice.invoice_id
        invoice.history.append(StatusEntry(201, invoice.ready_at))

    def _route(self, invoice: DepositedInvoice, now: float) -> None:
        """201 Émise, then 202 Reçue and 203 Mise à disposition, half a delay apart."""
        step = invoice.processing_delay / 2
        for code in (202, 203):
            at = invoice.ready_at + step * (code - 201)
            if invoice.current.code == code - 1 and at <= now:
                invoice.history.append(StatusEntry(code, at))

    def add_status(self, invoice: DepositedInvoice, code: int, reason: str | None) -> str | None:
        """Record a buyer's or seller's status; the refusal text when it cannot follow now."""
        self.settle()
        current = invoice.current.code
        if code not in NEXT_STATUSES.get(current, frozenset()):
            return f"{code} cannot follow {current} {STATUS_LABELS[current]}"
        if code in NEEDS_REASON and not reason:
            return f"{code} {STATUS_LABELS[code]} needs a reason"
        invoice.history.append(StatusEntry(code, self.clock(), reason))
        return None


# === HTTP: the platform API ===================================================================


def _admit(simulator: FrPaSimulator, request: Request) -> Response | None:
    simulator.settle()
    key = bearer_token(request)
    if key is None or not secrets.compare_digest(key, simulator.api_key):
        return JSONResponse(
            {"error": "unauthorized", "message": "Clé d'API absente ou invalide"},
            HTTPStatus.UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    refusal = simulator.limiter.admit("api-key", simulator.rate_limit)
    if refusal is None:
        return None
    return JSONResponse(
        {"error": "too_many_requests", "message": "Trop de requêtes, réessayez plus tard"},
        HTTPStatus.TOO_MANY_REQUESTS,
        headers={"Retry-After": str(refusal.retry_after_seconds)},
    )


def _status_json(simulator: FrPaSimulator, entry: StatusEntry) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": entry.code,
        "label": entry.label,
        "date": simulator.stamp(entry.at),
    }
    if entry.reason:
        body["reason"] = entry.reason
    if entry.reason_code:
        body["reasonCode"] = entry.reason_code
    return body


def _invoice_json(simulator: FrPaSimulator, invoice: DepositedInvoice) -> dict[str, Any]:
    body: dict[str, Any] = {
        "invoiceId": invoice.invoice_id,
        "status": _status_json(simulator, invoice.current),
        "depositedAt": simulator.stamp(invoice.deposited_at),
    }
    if invoice.read is not None:
        document = invoice.read.document
        body |= {
            "format": invoice.read.format,
            "invoiceNumber": document.number,
            "issueDate": document.issue_date,
            "sellerSiren": document.seller.legal_id,
            "buyerSiren": document.buyer.legal_id,
        }
    return body


SCENARIO_REJECTION = Rejection(
    "REJ_SEMAN", "SIREN de l'acheteur (identifiant légal, schéma 0002) absent ou invalide"
)


def build_fr_pa_router(simulator: FrPaSimulator) -> APIRouter:
    guard = ApiGuard(
        faults=simulator.faults,
        render_fault=plain_fault_response,
        admit=lambda request: _admit(simulator, request),
    )
    router = APIRouter(
        prefix=API_PREFIX,
        tags=["Plateforme Agréée (FR)"],
        route_class=guarded_route_class(guard),
    )

    @router.post("/invoices", status_code=HTTPStatus.CREATED)
    async def deposit(request: Request) -> Response:
        content = await read_body(request)
        if content is None:
            return JSONResponse(
                {"error": "too_large", "message": "Fichier trop volumineux"},
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        if scenario_of(request) is SandboxScenario.REJECT:  # Clearway's sandbox scenario
            simulator.force_rejections(SCENARIO_REJECTION, 1)  # this very deposit
        invoice, reason = simulator.deposit(content)
        body = _invoice_json(simulator, invoice)
        if reason is not None:
            return JSONResponse(body, HTTPStatus.UNPROCESSABLE_ENTITY)
        return JSONResponse(body, HTTPStatus.CREATED)

    @router.get("/invoices")
    async def search(
        invoice_number: Annotated[str | None, Query(alias="invoiceNumber")] = None,
        seller_siren: Annotated[str | None, Query(alias="sellerSiren")] = None,
    ) -> Response:
        """Deposits, oldest first, by number and seller: how a client reconciles a lost answer."""
        found = [
            _invoice_json(simulator, invoice)
            for invoice in simulator.all_invoices()
            if _matches(invoice, invoice_number, seller_siren)
        ]
        return JSONResponse({"invoices": found})

    @router.get("/invoices/{invoice_id}")
    async def invoice(invoice_id: str) -> Response:
        found = simulator.invoice(invoice_id)
        if found is None:
            return _unknown(invoice_id)
        return JSONResponse(_invoice_json(simulator, found))

    @router.get("/invoices/{invoice_id}/statuses")
    async def statuses(invoice_id: str) -> Response:
        found = simulator.invoice(invoice_id)
        if found is None:
            return _unknown(invoice_id)
        history = [_status_json(simulator, entry) for entry in found.history]
        return JSONResponse({"invoiceId": invoice_id, "statuses": history})

    return router


def _matches(invoice: DepositedInvoice, number: str | None, seller_siren: str | None) -> bool:
    if invoice.read is None:
        return number is None and seller_siren is None
    document = invoice.read.document
    return number in {None, document.number} and seller_siren in {None, document.seller.legal_id}


def _unknown(invoice_id: str) -> Response:
    return JSONResponse(
        {"error": "not_found", "message": f"Facture {invoice_id} inconnue"}, HTTPStatus.NOT_FOUND
    )


# === HTTP: test-only controls, outside the real contract ======================================


class StatusRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: int
    reason: str | None = None


class RejectionRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)
    reason: str = "Rejet simulé"
    reason_code: str = Field(default="REJ_SEMAN", alias="reasonCode")
    count: int = Field(default=1, ge=1)


def build_fr_pa_control_router(simulator: FrPaSimulator) -> APIRouter:
    """`/_sim/fr/...`: what tests use to steer the simulator; no platform has these."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["simulator control: PA (FR)"])
    add_standard_controls(router, simulator)

    @router.put("/rate-limit", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(limit: RequestsPerMinute) -> None:
        simulator.rate_limit = RateLimit(per_minute=limit.requests_per_minute)

    @router.post("/invoices/{invoice_id}/statuses", response_model=None)
    async def add_status(invoice_id: str, request: StatusRequest) -> Response | dict[str, Any]:
        """The buyer's or seller's next status (204-212), e.g. 205, 210 with a reason, 212."""
        found = simulator.invoice(invoice_id)
        if found is None:
            return _unknown(invoice_id)
        refusal = simulator.add_status(found, request.code, request.reason)
        if refusal is not None:
            return JSONResponse({"detail": refusal}, HTTPStatus.CONFLICT)
        return _invoice_json(simulator, found)

    @router.post("/next-rejections")
    async def force_rejections(request: RejectionRequest) -> dict[str, int]:
        """The next `count` readable deposits end 213 Rejetée with this reason."""
        simulator.force_rejections(Rejection(request.reason_code, request.reason), request.count)
        return {"queued": request.count}

    @router.get("/invoices")
    async def invoices() -> list[dict[str, Any]]:
        return [_invoice_json(simulator, invoice) for invoice in simulator.all_invoices()]

    return router

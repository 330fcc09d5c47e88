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

from http import HTTPStatus
from typing import Annotated, Any

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.controls import Queued, standard_control_router
from services.govsim.faults import scenario_of
from services.govsim.fr.documents import (
    Rejection,
)
from services.govsim.fr.state import (
    DepositedInvoice,
    FrPaSimulator,
    StatusEntry,
)
from services.govsim.guard import read_body
from services.govsim.keyed import KeyRefusals, add_lookup_route, keyed_api_router

API_PREFIX = "/pa"
CONTROL_PREFIX = "/_sim/fr"


# === HTTP: the platform API ===================================================================


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": "Clé d'API absente ou invalide"},
        HTTPStatus.UNAUTHORIZED,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _too_many_requests(retry_after_seconds: int) -> JSONResponse:
    return JSONResponse(
        {"error": "too_many_requests", "message": "Trop de requêtes, réessayez plus tard"},
        HTTPStatus.TOO_MANY_REQUESTS,
        headers={"Retry-After": str(retry_after_seconds)},
    )


REFUSALS = KeyRefusals(unauthorized=_unauthorized, too_many_requests=_too_many_requests)


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
    router = keyed_api_router(simulator, REFUSALS, prefix=API_PREFIX, tag="Plateforme Agréée (FR)")

    @router.post("/invoices", status_code=HTTPStatus.CREATED)
    async def deposit(request: Request) -> Response:
        content = await read_body(request)
        if content is None:
            return JSONResponse(
                {"error": "too_large", "message": "Fichier trop volumineux"},
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        if scenario_of(request) is SandboxScenario.REJECT:  # Clearway's sandbox scenario
            simulator.received.force_next(SCENARIO_REJECTION, 1)  # this very deposit
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
            for invoice in simulator.received.all()
            if _matches(invoice, invoice_number, seller_siren)
        ]
        return JSONResponse({"invoices": found})

    add_lookup_route(router, "/invoices/{item_id}", simulator, _invoice_json, _unknown)

    @router.get("/invoices/{invoice_id}/statuses")
    async def statuses(invoice_id: str) -> Response:
        found = simulator.received.get(invoice_id)
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


class RejectionRequest(Queued):
    model_config = ConfigDict(populate_by_name=True)
    reason: str = "Rejet simulé"
    reason_code: str = Field(default="REJ_SEMAN", alias="reasonCode")


def build_fr_pa_control_router(simulator: FrPaSimulator) -> APIRouter:
    """`/_sim/fr/...`: what tests use to steer the simulator; no platform has these."""
    router = standard_control_router(
        simulator, prefix=CONTROL_PREFIX, tag="simulator control: PA (FR)"
    )

    @router.post("/invoices/{invoice_id}/statuses", response_model=None)
    async def add_status(invoice_id: str, request: StatusRequest) -> Response | dict[str, Any]:
        """The buyer's or seller's next status (204-212), e.g. 205, 210 with a reason, 212."""
        found = simulator.received.get(invoice_id)
        if found is None:
            return _unknown(invoice_id)
        refusal = simulator.add_status(found, request.code, request.reason)
        if refusal is not None:
            return JSONResponse({"detail": refusal}, HTTPStatus.CONFLICT)
        return _invoice_json(simulator, found)

    @router.post("/next-rejections")
    async def force_rejections(request: RejectionRequest) -> dict[str, int]:
        """The next `count` readable deposits end 213 Rejetée with this reason."""
        simulator.received.force_next(Rejection(request.reason_code, request.reason), request.count)
        return {"queued": request.count}

    @router.get("/invoices")
    async def invoices() -> list[dict[str, Any]]:
        return [_invoice_json(simulator, invoice) for invoice in simulator.received.all()]

    return router

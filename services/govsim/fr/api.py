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

What other platforms route to a company the platform serves is read as the AFNOR XP Z12-013
Flow Service reads incoming flows (incoming.py says what is kept):

    POST /pa/flows/search                 {"where": {"updatedAfter", "flowDirection": ["In"],
                                          "flowType": ["SupplierInvoice"], "siren"}, "limit",
                                          "offset"}: {"limit", "offset", "filters", "results":
                                          [flow, oldest updatedAt first]}; 400 for a bad query
    GET  /pa/flows/{flowId}?docType=      Metadata (the default): the flow and the invoice's
                                          lifecycle (code, label, date, reason) as JSON;
                                          Original: the file as delivered (application/pdf for
                                          Factur-X, application/xml for UBL and CII)
    POST /pa/flows/{flowId}/lifecycle     the buyer's status on it {"code": 204|205|210…,
                                          "reason", "reasonCode"}: 201 with the status, 409
                                          when it cannot follow the last one. The Flow Service
                                          carries it as a CDAR lifecycle flow (SupplierInvoiceLC);
                                          this JSON shape is the simulator's, UNCONFIRMED

After the processing delay the platform has checked the invoice: 213 Rejetée with a reason, or
201 Émise; 202 Reçue and 203 Mise à disposition follow at half-delay steps (the recipient's
platform). The buyer's and the seller's later statuses (204-212) are set through the control, as
they come from people, not from the platform. Calls need `Authorization: Bearer <api key>`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
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
from services.govsim.fr.incoming import (
    DEFAULT_LIMIT,
    INCOMING_DIRECTION,
    INCOMING_TYPE,
    MAX_LIMIT,
    SAMPLE_SELLER_SIREN,
    IncomingFlow,
    sample_purchase_invoice,
)
from services.govsim.fr.lifecycle import STATUS_LABELS, StatusEntry
from services.govsim.fr.state import DepositedInvoice, FrPaSimulator
from services.govsim.guard import read_body
from services.govsim.keyed import KeyRefusals, add_lookup_route, keyed_api_router
from services.govsim.undeliverable import UndeliverableError, not_delivered

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

    _add_flow_routes(router, simulator)
    return router


# --- the Flow Service: incoming flows ----------------------------------------------------------


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "message": message}, HTTPStatus.BAD_REQUEST)


def _flow_json(simulator: FrPaSimulator, flow: IncomingFlow) -> dict[str, Any]:
    return {
        "flowId": flow.flow_id,
        "submittedAt": simulator.stamp(flow.submitted_at),
        "updatedAt": simulator.stamp(flow.updated_at),
        "flowType": INCOMING_TYPE,
        "processingRule": "B2B",
        "flowDirection": INCOMING_DIRECTION,
        "flowSyntax": flow.read.format,
        "acknowledgement": {"status": "Ok"},
        "siren": flow.buyer_siren,
    }


def _stamp_value(raw: Any) -> float | None:
    """An ISO 8601 date-time with its offset as epoch seconds; None when it is not one."""
    if not isinstance(raw, str):
        return None
    try:
        at = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return at.timestamp() if at.tzinfo is not None else None


def _search_query(body: Any) -> tuple[dict[str, Any], int, int, float | None] | str:
    """(filters, limit, offset, updatedAfter) of a search body, or what is wrong with it."""
    if not isinstance(body, dict) or not isinstance(body.get("where"), dict):
        return "where : critères de recherche obligatoires"
    where: dict[str, Any] = body["where"]
    if not where:
        return "where : au moins un critère est obligatoire"
    limit, offset = body.get("limit", DEFAULT_LIMIT), body.get("offset", 0)
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        return f"limit : entier de 1 à {MAX_LIMIT}"
    if not isinstance(offset, int) or offset < 0:
        return "offset : entier positif ou nul"
    after = None
    if where.get("updatedAfter") is not None:
        after = _stamp_value(where["updatedAfter"])
        if after is None:
            return "updatedAfter : date-heure ISO 8601 avec fuseau attendue"
    return where, limit, offset, after


def _listed(where: dict[str, Any], name: str, value: str) -> bool:
    """Whether a list filter (flowType, flowDirection) lets `value` through."""
    wanted = where.get(name)
    return wanted is None or value in wanted


def _add_flow_routes(router: APIRouter, simulator: FrPaSimulator) -> None:
    @router.post("/flows/search")
    async def search_flows(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _bad_request("Corps JSON illisible")
        query = _search_query(body)
        if isinstance(query, str):
            return _bad_request(query)
        where, limit, offset, after = query
        siren = where.get("siren")
        found: list[IncomingFlow] = []
        if _listed(where, "flowDirection", INCOMING_DIRECTION) and _listed(
            where, "flowType", INCOMING_TYPE
        ):
            found = simulator.incoming.search(
                siren=siren if isinstance(siren, str) else None,
                updated_after=after,
                limit=limit,
                offset=offset,
            )
        results = [_flow_json(simulator, flow) for flow in found]
        answer = {"limit": limit, "offset": offset, "filters": where, "results": results}
        return JSONResponse(answer)

    @router.get("/flows/{flow_id}")
    async def get_flow(
        flow_id: str, doc_type: Annotated[str, Query(alias="docType")] = "Metadata"
    ) -> Response:
        flow = simulator.incoming.get(flow_id)
        if flow is None:
            return _unknown_flow(flow_id)
        if doc_type == "Original":
            return Response(flow.content, media_type=flow.media_type)
        if doc_type == "Metadata":
            lifecycle = [_status_json(simulator, entry) for entry in flow.lifecycle]
            return JSONResponse(_flow_json(simulator, flow) | {"lifecycle": lifecycle})
        if doc_type in {"Converted", "ReadableView"}:
            return JSONResponse(
                {"error": "not_found", "message": f"Document {doc_type} indisponible"},
                HTTPStatus.NOT_FOUND,
            )
        return _bad_request("docType : Metadata, Original, Converted ou ReadableView")

    _add_lifecycle_route(router, simulator)


def _status_request(body: Any) -> tuple[int, str | None, str | None] | str:
    """(code, reason, reasonCode) of a buyer's status, or what is wrong with it."""
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, int) or code not in STATUS_LABELS:
        return "code : statut du cycle de vie attendu"
    reason, reason_code = body.get("reason"), body.get("reasonCode")
    return (
        code,
        reason if isinstance(reason, str) else None,
        reason_code if isinstance(reason_code, str) else None,
    )


def _add_lifecycle_route(router: APIRouter, simulator: FrPaSimulator) -> None:
    @router.post("/flows/{flow_id}/lifecycle")
    async def buyer_status(flow_id: str, request: Request) -> Response:
        flow = simulator.incoming.get(flow_id)
        if flow is None:
            return _unknown_flow(flow_id)
        try:
            status_request = _status_request(await request.json())
        except ValueError:
            status_request = "Corps JSON illisible"
        if isinstance(status_request, str):
            return _bad_request(status_request)
        refusal = simulator.add_buyer_status(flow, *status_request)
        if refusal is not None:
            return JSONResponse({"error": "conflict", "message": refusal}, HTTPStatus.CONFLICT)
        status = _status_json(simulator, flow.lifecycle[-1])
        return JSONResponse({"flowId": flow_id, "status": status}, HTTPStatus.CREATED)


def _unknown_flow(flow_id: str) -> JSONResponse:
    return JSONResponse(
        {"error": "not_found", "message": f"Flux {flow_id} inconnu"}, HTTPStatus.NOT_FOUND
    )


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

    @router.post("/incoming-invoices", status_code=HTTPStatus.CREATED, response_model=None)
    async def deliver_incoming(invoice: IncomingInvoice) -> Response | dict[str, Any]:
        """Route a purchase invoice to `buyerSiren` at once, as if its supplier's platform had
        sent it: an incoming flow (In, SupplierInvoice) in the Flow Service's search, its file
        at `GET /pa/flows/{flowId}?docType=Original`. `document`: the file in base64 (Factur-X
        PDF, UBL or CII) as given; else a sample Factur-X from `sellerSiren`, rendered by
        Clearway's French renderer. Answers the flow id; 422 with the reasons when the
        platform would not route the file, or it is for another buyer."""
        if invoice.document is not None:
            try:
                content = base64.b64decode(invoice.document, validate=True)
            except (binascii.Error, ValueError):
                return not_delivered(["document : base64 illisible"])
        else:
            content = sample_purchase_invoice(
                buyer_siren=invoice.buyer_siren,
                seller_siren=invoice.seller_siren,
                issued=dt.datetime.fromtimestamp(simulator.clock(), dt.UTC).date(),
            )
        try:
            flow = simulator.incoming.deliver(
                content, buyer_siren=invoice.buyer_siren, at=simulator.clock()
            )
        except UndeliverableError as refused:
            return not_delivered(refused.errors)
        return {
            "flowId": flow.flow_id,
            "buyerSiren": flow.buyer_siren,
            "flowSyntax": flow.read.format,
            "invoiceNumber": flow.read.document.number,
            "submittedAt": simulator.stamp(flow.submitted_at),
        }

    return router


class IncomingInvoice(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)
    buyer_siren: str = Field(alias="buyerSiren", pattern=r"^\d{9}$")
    seller_siren: str = Field(SAMPLE_SELLER_SIREN, alias="sellerSiren", pattern=r"^\d{9}$")
    document: str | None = None  # the file in base64

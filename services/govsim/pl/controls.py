"""The simulated KSeF's test-only controls (`/_sim/pl/...`): the standard ones, KSeF tokens and
token lifetimes, per-group rate limits, forced invoice outcomes, a purchase invoice delivered to a
buyer's NIP. KSeF has none of these."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.controls import Queued, add_standard_controls
from services.govsim.pl.documents import INVOICE_STATUS_DESCRIPTIONS
from services.govsim.pl.purchases import SAMPLE_SELLER_NIP, sample_purchase_invoice
from services.govsim.pl.sessions import (
    ForcedOutcome,
    KsefSimulator,
    OnlineSession,
    RateGroup,
)
from services.govsim.purchases import given_or_sample
from services.govsim.rate_limits import RateLimit
from services.govsim.undeliverable import UndeliverableError, not_delivered

CONTROL_PREFIX = "/_sim/pl"


class KsefTokenRegistration(BaseModel):
    model_config = ConfigDict(frozen=True)
    nip: str = Field(pattern=r"^\d{10}$")
    token: str | None = None  # default: a fresh token in KSeF's shape


class TokenReference(BaseModel):
    model_config = ConfigDict(frozen=True)
    token: str


class Seconds(BaseModel):
    model_config = ConfigDict(frozen=True)
    seconds: float = Field(ge=0)


class GroupLimit(BaseModel):
    model_config = ConfigDict(frozen=True)
    per_second: int | None = Field(default=None, ge=1)
    per_minute: int | None = Field(default=None, ge=1)
    per_hour: int | None = Field(default=None, ge=1)


class Flag(BaseModel):
    model_config = ConfigDict(frozen=True)
    value: bool


class OutcomeRequest(Queued):
    code: int
    details: list[str] = Field(default_factory=list)


def build_ksef_control_router(simulator: KsefSimulator) -> APIRouter:
    """`/_sim/pl/...`: what tests use to steer the simulator; KSeF has none of these."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["simulator control: KSeF"])
    add_standard_controls(router, simulator)
    _add_token_controls(router, simulator)
    _add_processing_controls(router, simulator)
    _add_session_controls(router, simulator)
    _add_purchase_controls(router, simulator)
    return router


class PurchaseInvoice(BaseModel):
    """A purchase invoice for a buyer's NIP: `xml` as given (its Podmiot2 NIP must be `nip`), or
    else a sample from `seller_nip` rendered by Clearway's FA(3) renderer."""

    model_config = ConfigDict(frozen=True)
    nip: str = Field(pattern=r"^\d{10}$")  # the buyer (Podmiot2): who finds it as Subject2
    seller_nip: str = Field(default=SAMPLE_SELLER_NIP, pattern=r"^\d{10}$")
    xml: str | None = None


def _add_purchase_controls(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.post("/purchase-invoices", status_code=HTTPStatus.CREATED, response_model=None)
    def deliver_purchase_invoice(invoice: PurchaseInvoice) -> dict[str, Any] | Response:
        """Deliver a purchase invoice to `nip` at once, as if its seller had sent it in an
        online session and KSeF had accepted it: numbered and stored for good now, so the
        buyer finds it with POST /v2/invoices/query/metadata (subjectType Subject2) and
        downloads it with GET /v2/invoices/ksef/{ksefNumber}. Answers its KSeF number; 422
        with the reasons when KSeF would not have accepted it or it is not for `nip`."""
        body = given_or_sample(
            invoice.xml,
            lambda: sample_purchase_invoice(
                buyer_nip=invoice.nip,
                seller_nip=invoice.seller_nip,
                issued=simulator.warsaw().date(),
            ),
        )
        try:
            stored = simulator.deliver(body, buyer_nip=invoice.nip)
        except UndeliverableError as refused:
            return not_delivered(refused.errors)
        return {
            "ksefNumber": stored.ksef_number,
            "invoiceNumber": stored.invoice_number,
            "nip": invoice.nip,
            "sellerNip": stored.seller_nip,
            "invoiceHash": stored.invoice_hash,
            "permanentStorageDate": simulator.stamp(stored.stored_at),
        }


def _not_found(detail: str) -> Response:
    return JSONResponse({"detail": detail}, HTTPStatus.NOT_FOUND)


def _add_token_controls(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.post("/ksef-tokens", status_code=HTTPStatus.CREATED)
    async def register_ksef_token(registration: KsefTokenRegistration) -> dict[str, str]:
        """A KSeF token for the NIP, as the portal would generate after a XAdES login."""
        token = simulator.auth.register_ksef_token(registration.nip, registration.token)
        return {"token": token, "nip": registration.nip}

    @router.post("/ksef-tokens/revoke", status_code=HTTPStatus.NO_CONTENT, response_model=None)
    async def revoke_ksef_token(reference: TokenReference) -> Response | None:
        return None if simulator.auth.revoke_ksef_token(reference.token) else _not_found("Unknown")

    @router.post("/tokens/expire", status_code=HTTPStatus.NO_CONTENT, response_model=None)
    async def expire_token(reference: TokenReference) -> Response | None:
        """End an authentication, access or refresh token's life now."""
        return None if simulator.auth.expire_token(reference.token) else _not_found("Unknown")

    @router.put("/auth-delay", status_code=HTTPStatus.NO_CONTENT)
    async def set_auth_delay(delay: Seconds) -> None:
        """How long GET /auth/{ref} answers 100 before the verdict (later logins)."""
        simulator.auth.auth_delay = delay.seconds

    @router.put("/access-token-lifetime", status_code=HTTPStatus.NO_CONTENT)
    async def set_access_token_lifetime(lifetime: Seconds) -> None:
        simulator.auth.access_token_lifetime = lifetime.seconds


def _add_processing_controls(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.get("/config")
    async def config() -> dict[str, Any]:
        return {
            "processing_delay": simulator.processing_delay,
            "auth_delay": simulator.auth.auth_delay,
            "access_token_lifetime": simulator.auth.access_token_lifetime,
            "rate_limits": {
                group.value: vars(limit) for group, limit in simulator.rate_limits.items()
            },
            "pending_faults": simulator.faults.pending,
        }

    @router.put("/rate-limits/{group}", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(group: RateGroup, limit: GroupLimit) -> None:
        """Replace one group's limits; a null threshold is unlimited."""
        simulator.rate_limits[group] = RateLimit(limit.per_second, limit.per_minute, limit.per_hour)

    @router.post("/invoice-outcomes", response_model=None)
    async def force_outcomes(request: OutcomeRequest) -> Response | dict[str, int]:
        """The next `count` invoices end in `code`, a documented error code, whatever they hold."""
        if request.code not in INVOICE_STATUS_DESCRIPTIONS or request.code in {100, 150, 200}:
            allowed = sorted(set(INVOICE_STATUS_DESCRIPTIONS) - {100, 150, 200})
            return JSONResponse(
                {"detail": f"code must be one of {allowed}"}, HTTPStatus.UNPROCESSABLE_ENTITY
            )
        outcome = ForcedOutcome(request.code, tuple(request.details))
        simulator.invoices.force_next(outcome, request.count)
        return {"queued": request.count}

    @router.post("/invoices/{reference}/decide", response_model=None)
    async def decide_invoice(reference: str) -> Response | dict[str, Any]:
        """End one invoice's processing delay now."""
        invoice = simulator.invoices.decide_now(reference)
        if invoice is None:
            return _not_found("Unknown invoice reference")
        return {"referenceNumber": reference, "code": invoice.code}


def _add_session_controls(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.get("/sessions")
    async def sessions() -> list[dict[str, Any]]:
        return [_session_snapshot(session) for session in simulator.all_sessions()]

    @router.post("/sessions/{reference}/expire", response_model=None)
    async def expire_session(reference: str) -> Response | dict[str, Any]:
        """End an online session's 12 hours now: KSeF closes it as at its validUntil, and a
        send into it is refused (21180)."""
        session = _known_session(simulator, reference)
        if session is None:
            return _not_found("Unknown session reference")
        simulator.expire_session(session)
        return _session_snapshot(session)

    @router.put("/sessions/{reference}/unavailable", response_model=None)
    async def set_session_unavailable(reference: str, unavailable: Flag) -> Response:
        """Make an open session refuse sends as KSeF does while it is serviced (21184, "open
        a new session"), or take them again."""
        session = _known_session(simulator, reference)
        if session is None:
            return _not_found("Unknown session reference")
        session.unavailable = unavailable.value
        return Response(status_code=HTTPStatus.NO_CONTENT)


def _known_session(simulator: KsefSimulator, reference: str) -> OnlineSession | None:
    return next((s for s in simulator.all_sessions() if s.reference_number == reference), None)


def _session_snapshot(session: OnlineSession) -> dict[str, Any]:
    return {
        "referenceNumber": session.reference_number,
        "nip": session.context_nip,
        "open": session.closed_at is None,
        "invoices": [
            {
                "referenceNumber": invoice.reference_number,
                "code": invoice.code,
                "ksefNumber": invoice.ksef_number,
                "details": list(invoice.details),
            }
            for invoice in session.invoices
        ],
    }

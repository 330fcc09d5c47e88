"""The simulated ANAF's test-only controls (`/_sim/anaf/...`): what tests use to steer it
(reset, delays, the per-minute limit, tokens and the SPV rights behind them, the user's answer
at the next eSign consent, queued faults, the messages, a purchase invoice delivered to a
company's inbox). No real system has these."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.controls import ProcessingDelay, Queued
from services.govsim.purchases import given_or_sample
from services.govsim.ro.documents import RejectedXmlError
from services.govsim.ro.oauth import Consent
from services.govsim.ro.purchases import SAMPLE_SUPPLIER_CIF, sample_purchase_invoice
from services.govsim.ro.state import (
    CONTROL_PREFIX,
    AnafSimulator,
    MessageKind,
    UploadedMessage,
    UploadFault,
)
from services.govsim.undeliverable import UndeliverableError, not_delivered

CifList = list[Annotated[str, Field(pattern=r"^\d+$")]]


class TokenRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    cifs: CifList | None = None  # None: rights on every CIF


class TokenRestriction(BaseModel):
    model_config = ConfigDict(frozen=True)
    token: str
    cifs: CifList | None


class TokenReference(BaseModel):
    model_config = ConfigDict(frozen=True)
    token: str


class ConsentRequest(BaseModel):
    """The user's answer at the next eSign consent."""

    model_config = ConfigDict(frozen=True)
    refuse: bool = False
    cifs: CifList | None = None  # approved: SPV rights on these CIFs only (None: on every CIF)


class RateLimit(BaseModel):
    model_config = ConfigDict(frozen=True)
    requests_per_minute: int = Field(ge=1)


class FaultRequest(Queued):
    kind: UploadFault


class PurchaseInvoice(BaseModel):
    """A purchase invoice for a company's inbox: `xml` as given (its buyer must be `cif`), or
    else a sample from `supplier_cif` rendered by Clearway's CIUS-RO renderer."""

    model_config = ConfigDict(frozen=True)
    cif: Annotated[str, Field(pattern=r"^\d+$")]  # the buyer: whose inbox it lands in
    environment: Literal["test", "prod"] = "test"
    supplier_cif: Annotated[str, Field(pattern=r"^\d+$")] = SAMPLE_SUPPLIER_CIF
    xml: str | None = None
    damaged: bool = False  # its download is a ZIP broken off halfway


def build_anaf_control_router(simulator: AnafSimulator) -> APIRouter:
    """`/_sim/anaf/...`: what tests use to steer the simulator; no real system has these."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["simulator control: ANAF"])
    _add_settings_controls(router, simulator)
    _add_token_controls(router, simulator)
    _add_fault_controls(router, simulator)
    _add_message_controls(router, simulator)
    _add_inbox_controls(router, simulator)
    return router


def _add_settings_controls(router: APIRouter, simulator: AnafSimulator) -> None:
    @router.post("/reset", status_code=HTTPStatus.NO_CONTENT)
    def reset(*, tokens: bool = False) -> None:
        """Forget messages, quotas, faults and overrides; `?tokens=true` also drops tokens."""
        simulator.reset(tokens=tokens)

    @router.get("/config")
    def config() -> dict[str, Any]:
        return {
            "processing_delay": simulator.processing_delay,
            "requests_per_minute": simulator.requests_per_minute,
            "pending_faults": simulator.pending_faults,
            "client_id": simulator.oauth.client_id,
        }

    @router.put("/processing-delay", status_code=HTTPStatus.NO_CONTENT)
    def set_processing_delay(delay: ProcessingDelay) -> None:
        """Applies to later uploads; earlier ones keep the delay they were given."""
        simulator.processing_delay = delay.seconds

    @router.put("/rate-limit", status_code=HTTPStatus.NO_CONTENT)
    def set_rate_limit(limit: RateLimit) -> None:
        simulator.requests_per_minute = limit.requests_per_minute


def _add_token_controls(router: APIRouter, simulator: AnafSimulator) -> None:
    def unknown_token() -> Response:
        return JSONResponse({"detail": "Unknown token"}, status_code=HTTPStatus.NOT_FOUND)

    @router.post("/tokens")
    def mint_tokens(request: TokenRequest) -> dict[str, Any]:
        """A token pair as the OAuth flow would give, optionally limited to some CIFs."""
        cifs = frozenset(request.cifs) if request.cifs is not None else None
        return simulator.oauth.mint(cifs)

    @router.put("/tokens/cifs", status_code=HTTPStatus.NO_CONTENT, response_model=None)
    def restrict_token(restriction: TokenRestriction) -> Response | None:
        """Limit the user behind a token (every token of its grant) to these CIFs."""
        cifs = frozenset(restriction.cifs) if restriction.cifs is not None else None
        return None if simulator.oauth.restrict(restriction.token, cifs) else unknown_token()

    @router.post("/consents", status_code=HTTPStatus.NO_CONTENT)
    def queue_consent(request: ConsentRequest) -> None:
        """The next /authorize answers as this user would: refused (`error=access_denied`) or
        approved with SPV rights on some CIFs."""
        cifs = frozenset(request.cifs) if request.cifs is not None else None
        simulator.oauth.queue_consent(Consent(refuse=request.refuse, cifs=cifs))

    @router.post("/tokens/expire", status_code=HTTPStatus.NO_CONTENT, response_model=None)
    def expire_token(reference: TokenReference) -> Response | None:
        return None if simulator.oauth.expire(reference.token) else unknown_token()


def _add_fault_controls(router: APIRouter, simulator: AnafSimulator) -> None:
    @router.get("/faults")
    def faults() -> dict[str, list[UploadFault]]:
        return {"pending": simulator.pending_faults}

    @router.post("/faults")
    def queue_faults(request: FaultRequest) -> dict[str, list[UploadFault]]:
        """The next `count` uploads fail as `kind` describes (see UploadFault)."""
        simulator.queue_faults(request.kind, request.count)
        return {"pending": simulator.pending_faults}

    @router.delete("/faults", status_code=HTTPStatus.NO_CONTENT)
    def clear_faults() -> None:
        simulator.clear_faults()


def _add_message_controls(router: APIRouter, simulator: AnafSimulator) -> None:
    @router.get("/messages")
    def messages() -> list[dict[str, Any]]:
        simulator.settle()
        return [_message_json(simulator, message) for message in simulator.all_messages()]

    @router.get("/buyer-messages")
    def buyer_messages() -> list[dict[str, Any]]:
        """The RASP messages ANAF took: the buyer's CUI, the invoice answered, the text."""
        return [
            {
                "index_incarcare": message.index,
                "environment": message.environment,
                "cif": message.cif,
                "invoice_index": said.invoice_index,
                "message": said.message,
            }
            for message, said in simulator.buyer_messages()
        ]

    @router.post("/messages/{index}/decide")
    def decide_message(index: int) -> Response:
        """End the processing delay of one message now."""
        message = simulator.decide_now(index)
        if message is None:
            return JSONResponse({"detail": "Unknown index"}, status_code=HTTPStatus.NOT_FOUND)
        return JSONResponse(_message_json(simulator, message))


def _add_inbox_controls(router: APIRouter, simulator: AnafSimulator) -> None:
    @router.post("/purchase-invoices", status_code=HTTPStatus.CREATED, response_model=None)
    def deliver_purchase_invoice(invoice: PurchaseInvoice) -> dict[str, Any] | Response:
        """Deliver a purchase invoice to `cif`'s inbox at once, as if its supplier had
        uploaded it and ANAF had accepted it: a `FACTURA PRIMITA` row in the buyer's message
        list, its ZIP (invoice and ANAF's seal) at `descarcare?id=`. Answers the message id
        (`id`, what descarcare takes) and the upload index (`id_solicitare`); 422 with the
        reasons when ANAF would not have accepted the document or it is not for `cif`."""
        body = given_or_sample(
            invoice.xml,
            lambda: sample_purchase_invoice(
                buyer_cif=invoice.cif,
                supplier_cif=invoice.supplier_cif,
                issued=simulator.local_time().date(),
            ),
        )
        try:
            message = simulator.deliver(
                body,
                buyer_cif=invoice.cif,
                environment=invoice.environment,
                damaged=invoice.damaged,
            )
        except RejectedXmlError as rejected:
            return not_delivered([rejected.message])
        except UndeliverableError as refused:
            return not_delivered(refused.errors)
        return {
            "id": str(message.download_id),
            "id_solicitare": str(message.index),
            "cif": invoice.cif,
            "tip": MessageKind.RECEIVED.value,
            "environment": invoice.environment,
        }


def _message_json(simulator: AnafSimulator, message: UploadedMessage) -> dict[str, Any]:
    return {
        "index_incarcare": message.index,
        "environment": message.environment,
        "cif": message.cif,
        "standard": message.standard.value,
        "b2c": message.submission.b2c,
        "stare": message.state.value,
        "id_descarcare": message.download_id,
        "errors": list(message.errors),
        "seller_cif": message.parties.seller_cif,
        "buyer_cif": message.parties.buyer_cif,
        "ready_in_seconds": max(0.0, message.ready_at - simulator.clock()),
    }

"""The simulated access point's test-only controls (`/_sim/peppol/...`): the standard ones, the
participants its SMP lists, and the outcome of the next deliveries. No real AP has these."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.controls import Queued, standard_control_router
from services.govsim.peppol.incoming import add_incoming_routes
from services.govsim.peppol.participants import (
    DEFAULT_DOCUMENT_TYPES,
    DOCUMENT_SCHEME,
    DOCUMENT_TYPE_ID,
    normalize_participant,
    participant_problem,
)
from services.govsim.peppol.state import (
    DeliveryStatus,
    ForcedDelivery,
    Participant,
    PeppolSimulator,
)

CONTROL_PREFIX = "/_sim/peppol"


class ParticipantRegistration(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)
    participant_id: str = Field(alias="participantId")
    name: str = "Sandbox participant"
    document_types: list[str] | None = Field(default=None, alias="documentTypes")


class DeliveryOutcome(Queued):
    status: DeliveryStatus
    reason: str = "Simulated"


def build_peppol_control_router(simulator: PeppolSimulator) -> APIRouter:
    """`/_sim/peppol/...`: what tests use to steer the simulator; no real AP has these."""
    router = standard_control_router(
        simulator, prefix=CONTROL_PREFIX, tag="simulator control: Peppol"
    )

    @router.post("/participants", status_code=HTTPStatus.CREATED, response_model=None)
    async def register(registration: ParticipantRegistration) -> Response | dict[str, Any]:
        """Publish a participant in the SMP, for the given document types (default: all)."""
        participant_id = normalize_participant(registration.participant_id)
        problem = participant_problem(participant_id)
        if problem is not None:
            return JSONResponse({"detail": problem}, HTTPStatus.UNPROCESSABLE_ENTITY)
        document_types = tuple(
            item.strip().removeprefix(f"{DOCUMENT_SCHEME}::")
            for item in (registration.document_types or DEFAULT_DOCUMENT_TYPES)
        )
        malformed = [item for item in document_types if not DOCUMENT_TYPE_ID.fullmatch(item)]
        if malformed:
            detail = f"not a Peppol document type identifier: {', '.join(malformed)}"
            return JSONResponse({"detail": detail}, HTTPStatus.UNPROCESSABLE_ENTITY)
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
        simulator.received.force_next(ForcedDelivery(outcome.status, outcome.reason), outcome.count)
        return {"queued": outcome.count}

    @router.get("/invoice-responses")
    async def invoice_responses(
        receiver: str | None = None, invoice_id: str | None = Query(None, alias="invoiceId")
    ) -> dict[str, Any]:
        """The Invoice Responses the access point took (to `receiver`, about `invoiceId`), with
        what each tells the supplier: what a supplier's platform would show of a buyer's answer."""
        wanted = normalize_participant(receiver).lower() if receiver else None
        return {
            "invoiceResponses": [
                {
                    "documentId": document.document_id,
                    "instanceIdentifier": document.instance_identifier,
                    "sender": document.sender,
                    "receiver": document.receiver,
                    "status": document.status.value,
                    "invoiceId": said.invoice_id,
                    "responseCode": said.response_code,
                    "reasonCodes": list(said.reason_codes),
                    "reason": said.reason,
                }
                for document in simulator.received.all()
                if (said := document.response) is not None
                and wanted in {None, document.receiver.lower()}
                and invoice_id in {None, said.invoice_id}
            ]
        }

    add_incoming_routes(router, simulator)
    return router

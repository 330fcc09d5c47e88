"""POST /v1/received-invoices/:id/response: the buyer's response to a received invoice, accept
or reject with a reason, recorded here and sent back through the network by the receiver
(clearway.pipeline.responding): FR the PA lifecycle status, BE and DE a Peppol Invoice
Response, IT SDI's esito committente, RO a RASP message in ANAF's SPV. Where the network has no
such message (PL) the request is refused (`400 invalid_request_error`, code
`response_not_available`), changing nothing.

One response per received invoice: a second is `409 conflict_error` naming the first. The
request is recorded with its `invoice.response_requested` event (and its message on
`invoices.received`) in one transaction; `X-Idempotency-Key` is honoured as POST /v1/invoices
honours it (the same key and body answer the first answer again, another body is a 409).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from clearway.accounts import ApiKeyOwner
from clearway.db import Connection
from clearway.domain.ids import iso_millis
from clearway.domain.responses import BuyerResponse
from clearway.governments import GOVERNMENTS
from clearway.store import idempotency
from clearway.store.received_invoices import received_row
from clearway.store.received_responses import request_response, response_row
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from services.intake.auth import Owner
from services.intake.errors import ApiError, parse_body, parsed_body_openapi
from services.intake.received_invoices import owned
from services.intake.resources import (
    Data,
    ErrorEnvelope,
    ReceivedInvoice,
    received_invoice_resource,
)

MAX_BODY_BYTES = 16 * 1024
NOT_AVAILABLE = "response_not_available"
REQUEST_BODY = parsed_body_openapi(
    BuyerResponse, {"decision": "reject", "reason": "Quantities differ from the order."}
)

router = APIRouter(
    prefix="/v1/received-invoices",
    tags=["received_invoices"],
    responses={code: {"model": ErrorEnvelope} for code in (400, 401, 404, 409, 429)},
)


def _not_available(row: Any) -> ApiError:
    government = GOVERNMENTS.get(row["country"])
    network = government.system_display if government else row["country"]
    message = (
        f"{network} has no buyer's response to a received invoice: the supplier cannot be "
        f"answered through it, so nothing was recorded for {row['id']}."
    )
    return ApiError(
        "invalid_request_error",
        message,
        errors=[{"param": None, "message": message, "code": NOT_AVAILABLE}],
    )


def _already_answered(received_id: str, first: Any) -> ApiError:
    return ApiError(
        "conflict_error",
        f"Received invoice {received_id} already has a response: {first['decision']}, "
        f"requested at {iso_millis(first['created_at'])} (event {first['requested_event_id']}), "
        f"{first['status']}. A received invoice takes one response.",
        param="/id",
    )


def _answer(row: Any, response: Any) -> bytes:
    resource = received_invoice_resource(row, response).model_dump(mode="json")
    return json.dumps({"data": resource}, ensure_ascii=False, separators=(",", ":")).encode()


async def _replay(
    conn: Connection, owner: ApiKeyOwner, key: str, request_hash: str
) -> Response | None:
    await idempotency.lock_key(conn, owner.account_id, key)
    previous = await idempotency.first_answer(conn, owner.account_id, key, livemode=owner.livemode)
    if previous is None:
        return None
    if previous.request_hash != request_hash or previous.response_body is None:
        raise ApiError(
            "conflict_error",
            "This idempotency key was used with a different request.",
            param="/X-Idempotency-Key",
        )
    return Response(
        previous.response_body,
        status_code=previous.response_status or 202,
        headers={"Idempotent-Replayed": "true"},
        media_type="application/json",
    )


async def record_response(
    conn: Connection, owner: ApiKeyOwner, received_id: str, response: BuyerResponse
) -> bytes:
    """Record the response and its event (inside the caller's transaction); the answer's body.
    Raises ApiError, writing nothing."""
    row = await owned(conn, received_id, owner)
    government = GOVERNMENTS.get(row["country"])
    how = None if government is None else government.buyer_response(row)
    if how is None:
        raise _not_available(row)
    if await request_response(conn, received_id, response, via=how) is None:
        raise _already_answered(received_id, await response_row(conn, received_id))
    return _answer(await received_row(conn, received_id), await response_row(conn, received_id))


@router.post(
    "/{received_id}/response",
    status_code=202,
    response_model=Data[ReceivedInvoice],
    openapi_extra=REQUEST_BODY,
)
async def respond_to_received_invoice(
    request: Request,
    received_id: str,
    owner: Owner,
    x_idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> Response:
    """The buyer's response (accept, or reject with a reason), sent back to the supplier
    through the network that delivered the invoice; 202: recorded, the receiver sends it
    (`response.status` goes from requested to sent or failed; GET …/events has each step)."""
    raw = await request.body()
    response = parse_body(BuyerResponse, raw, max_bytes=MAX_BODY_BYTES)
    # The path is part of the request: the same body for another invoice is another request.
    request_hash = hashlib.sha256(received_id.encode() + b"\n" + raw).hexdigest()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if x_idempotency_key is not None:
            replay = await _replay(conn, owner, x_idempotency_key, request_hash)
            if replay is not None:
                return replay
        body = await record_response(conn, owner, received_id, response)
        if x_idempotency_key is not None:
            await idempotency.record_answer(
                conn,
                owner.account_id,
                x_idempotency_key,
                idempotency.IdempotentAnswer(
                    request_hash=request_hash,
                    invoice_id=received_id,
                    response_status=202,
                    response_body=body.decode(),
                ),
                livemode=owner.livemode,
            )
    request.app.state.relay.wake()
    return Response(body, status_code=202, media_type="application/json")

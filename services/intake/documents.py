"""GET /v1/invoices/:id/document: the legal document Clearway generated and the gates passed
(UBL/CII/FatturaPA/FA(3) XML, or the Factur-X PDF), exactly as it is submitted."""

from __future__ import annotations

from typing import Any

from clearway.store.documents import owned_document
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.intake.auth import Owner
from services.intake.errors import ApiError
from services.intake.resources import ErrorEnvelope

MEDIA_TYPES = {"FACTUR-X": "application/pdf"}

router = APIRouter(
    prefix="/v1/invoices",
    tags=["invoices"],
    responses={code: {"model": ErrorEnvelope} for code in (401, 404, 429)},
)


@router.get(
    "/{invoice_id}/document",
    response_class=Response,
    responses={
        200: {
            "description": "The generated document; the X-Clearway-Format header names it",
            "content": {
                "application/xml": {"schema": {"type": "string", "format": "binary"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def get_document(request: Request, invoice_id: str, owner: Owner) -> Response:
    async with request.app.state.pool.acquire() as conn:
        row: Any = await owned_document(conn, invoice_id, owner.account_id, livemode=owner.livemode)
    if row is None:
        # Not yet converted, rejected before conversion, another account's or the other
        # mode's: all look alike.
        raise ApiError("not_found", f"No document for invoice {invoice_id} (yet).", param="/id")
    return Response(
        content=bytes(row["xml"]),
        media_type=MEDIA_TYPES.get(row["format"], "application/xml"),
        headers={"X-Clearway-Format": row["format"]},
    )

"""The received-invoice endpoints: the purchase invoices governments delivered to the account's
companies (clearway.pipeline.receiving records them), listed and fetched as invoices are, with
the original document and the government's evidence byte for byte; the platform's own
metadata on each (PATCH), which the listing filters on as GET /v1/invoices does; and the buyer's
response (services/intake/responses.py records it)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from clearway.accounts import ApiKeyOwner
from clearway.db import Connection
from clearway.domain.invoice import NO_NUL
from clearway.domain.metadata import MetadataPatch, TooManyPairsError, patched
from clearway.domain.wire import WireBody
from clearway.store.received_events import read_received_stream
from clearway.store.received_invoices import (
    ReceivedFilter,
    list_received,
    owned_received_row,
    set_metadata,
)
from clearway.store.received_responses import response_row, response_rows
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from services.intake.auth import Owner
from services.intake.errors import ApiError
from services.intake.pagination import Cursor, Limit, metadata_filter, owners_page
from services.intake.resources import (
    Data,
    ErrorEnvelope,
    Event,
    Page,
    ReceivedInvoice,
    received_invoice_resource,
)

router = APIRouter(
    prefix="/v1/received-invoices",
    tags=["received_invoices"],
    responses={code: {"model": ErrorEnvelope} for code in (400, 401, 404, 429)},
)


@router.get("", response_model=Page[ReceivedInvoice])
async def list_received_invoices(  # noqa: PLR0913, PLR0917 - each filter is a query parameter
    request: Request,
    owner: Owner,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    companyId: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,  # noqa: N803
    supplierVat: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,  # noqa: N803
    search: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    dateFrom: dt.datetime | None = None,  # noqa: N803
    dateTo: dt.datetime | None = None,  # noqa: N803
    cursor: Cursor = None,
    limit: Limit = 20,
) -> dict[str, Any]:
    """Newest received first. Keyset pagination on (createdAt, id), as GET /v1/invoices pages:
    a page never repeats or skips an invoice received before the first page was read.
    `search` is a substring of the supplier's or customer's VAT number or the government's id;
    `dateFrom`/`dateTo` bound when Clearway received it; `metadata[key]=value` as on
    GET /v1/invoices."""
    filters = ReceivedFilter(
        country=country.upper() if country else None,
        company_id=companyId,
        supplier_vat=supplierVat,
        search=search,
        created_from=dateFrom,
        created_to=dateTo,
        metadata=metadata_filter(request),
    )
    async with request.app.state.pool.acquire() as conn:
        page, has_more, next_cursor = await owners_page(
            conn, list_received, owner, filters, cursor=cursor, limit=limit
        )
        responses = await response_rows(conn, [row["id"] for row in page])
    return {
        "data": [received_invoice_resource(row, responses.get(row["id"])) for row in page],
        "hasMore": has_more,
        "nextCursor": next_cursor,
    }


class ReceivedInvoiceUpdate(WireBody):
    metadata: MetadataPatch = Field(
        description="Merged into the metadata: a string sets its key, null removes it, a key "
        "left out is kept. Up to 50 pairs, keys up to 40 characters, values up to 500.",
        examples=[{"bookingId": "BK-2025-0042"}],
    )


async def owned(
    conn: Connection, received_id: str, owner: ApiKeyOwner, *, for_update: bool = False
) -> Any:
    row = await owned_received_row(
        conn, received_id, owner.account_id, livemode=owner.livemode, for_update=for_update
    )
    if row is None:
        # Another account's, or one of the other mode, answers like a missing one.
        raise ApiError("not_found", f"No received invoice {received_id}.", param="/id")
    return row


@router.get("/{received_id}", response_model=Data[ReceivedInvoice])
async def get_received_invoice(request: Request, received_id: str, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        row = await owned(conn, received_id, owner)
        response = await response_row(conn, received_id)
    return {"data": received_invoice_resource(row, response)}


@router.patch("/{received_id}", response_model=Data[ReceivedInvoice])
async def update_received_invoice(
    request: Request, received_id: str, body: ReceivedInvoiceUpdate, owner: Owner
) -> dict[str, Any]:
    """Tag what was received with the platform's own data (its booking id, say): `metadata`
    merged in, under the same limits as an invoice's. Nothing else of it changes, and no event
    is sent: the metadata is the platform's, not the government's."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await owned(conn, received_id, owner, for_update=True)
        try:
            metadata = patched(row["metadata"], body.metadata)
        except TooManyPairsError as exc:
            raise ApiError("validation_error", str(exc), param="/metadata") from None
        if metadata != row["metadata"]:
            row = await set_metadata(conn, received_id, metadata)
        response = await response_row(conn, received_id)
    return {"data": received_invoice_resource(row, response)}


@router.get("/{received_id}/events", response_model=Data[list[Event]])
async def get_received_invoice_events(
    request: Request, received_id: str, owner: Owner
) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        await owned(conn, received_id, owner)
        events = await read_received_stream(conn, received_id)
    return {"data": [event.public() for event in events]}


def _bytes_answer(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in (
                    "application/xml",
                    "application/pdf",
                    "application/zip",
                    "application/pkcs7-mime",  # a signed FatturaPA (.xml.p7m), as signed
                )
            },
        }
    }


@router.get(
    "/{received_id}/document",
    response_class=Response,
    responses=_bytes_answer("The document as the government delivered it, byte for byte"),
)
async def get_received_document(request: Request, received_id: str, owner: Owner) -> Response:
    async with request.app.state.pool.acquire() as conn:
        row = await owned(conn, received_id, owner)
    return Response(bytes(row["document"]), media_type=row["media_type"])


@router.get(
    "/{received_id}/evidence",
    response_class=Response,
    responses=_bytes_answer(
        "The government's evidence as it gave it (RO: ANAF's signature); 404 when it gave none"
    ),
)
async def get_received_evidence(request: Request, received_id: str, owner: Owner) -> Response:
    async with request.app.state.pool.acquire() as conn:
        row = await owned(conn, received_id, owner)
    if row["evidence"] is None:
        raise ApiError(
            "not_found", f"The government gave no evidence with {received_id}.", param="/id"
        )
    return Response(bytes(row["evidence"]), media_type=row["evidence_media_type"])

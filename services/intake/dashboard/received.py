"""Received invoices: the inbox of the account's companies, each with its page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.intake.dashboard.invoices import COUNTRIES, file_of
from services.intake.dashboard.pages import User, render

router = APIRouter()

FILTERS = ("country", "companyId", "supplierVat", "search")


@router.get("/received")
async def received_list(request: Request, user: User, cursor: str | None = None) -> Response:
    filters = {name: request.query_params.get(name, "") for name in FILTERS}
    page, error = await user.api.filtered_page("/v1/received-invoices", **filters, cursor=cursor)
    return render(
        request,
        "received.html",
        user.session,
        page=page,
        filters=filters,
        error=error,
        countries=COUNTRIES,
        companies=await user.api.data("/v1/companies"),
    )


@router.get("/received/{received_id}")
async def received_page(request: Request, received_id: str, user: User) -> Response:
    received = await user.api.data(f"/v1/received-invoices/{received_id}")
    events = await user.api.data(f"/v1/received-invoices/{received_id}/events")
    return render(request, "received_invoice.html", user.session, received=received, events=events)


@router.get("/received/{received_id}/document")
async def received_document(received_id: str, user: User) -> Response:
    return await file_of(user, f"/v1/received-invoices/{received_id}/document")


@router.get("/received/{received_id}/evidence")
async def received_evidence(received_id: str, user: User) -> Response:
    return await file_of(user, f"/v1/received-invoices/{received_id}/evidence")

"""/v1/companies: the companies an account files for. A deleted company is hidden from the API
and from supplier matching, but kept for the invoices that name it."""

from __future__ import annotations

from typing import Any

from clearway.accounts import create_company, normalize_vat
from clearway.accounts.connections import delete_company_connections
from clearway.db import Connection
from clearway.domain.company import CompanyRequest
from clearway.domain.wire import parse_wire_json
from clearway.store.accounts import (
    account_companies,
    lock_company_vat,
    mark_company_deleted,
    owned_company_row,
)
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from services.intake.auth import Owner
from services.intake.errors import ApiError, validation_error_from
from services.intake.invoices import ERRORS
from services.intake.resources import Company, Data, Deleted, company_resource

router = APIRouter(prefix="/v1/companies", tags=["companies"], responses=ERRORS)


async def _owned_company(conn: Connection, company_id: str, account_id: str) -> Any:
    row = await owned_company_row(conn, company_id, account_id)
    if row is None:
        raise ApiError("not_found", f"No company {company_id}.", param="/id")
    return row


async def _existing_company(conn: Connection, account_id: str, company: CompanyRequest) -> Any:
    """The account's company with this VAT number in this country, if there is one. Companies
    serve both modes (a sandbox and a live key see the same ones)."""
    wanted = normalize_vat(company.vat_number)
    # One creator at a time per VAT number and country: two concurrent POSTs make one company.
    await lock_company_vat(conn, account_id, company.country, wanted)
    rows = await account_companies(conn, account_id, country=company.country)
    return next((row for row in rows if normalize_vat(row["vat_number"]) == wanted), None)


@router.post(
    "",
    status_code=201,
    response_model=Data[Company],
    responses={
        200: {
            "model": Data[Company],
            "description": "A company with this VAT number and country already exists in the "
            "account: it is returned as it is, nothing is created or changed",
        }
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CompanyRequest"}}
            },
        }
    },
)
async def create(request: Request, owner: Owner, response: Response) -> dict[str, Any]:
    """A new company (201); one with the same VAT number and country already in the account is
    answered as it is (200), so a retried or repeated setup never makes a second one."""
    try:
        company = parse_wire_json(CompanyRequest, await request.body())
    except ValidationError as exc:
        raise validation_error_from(exc) from None
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _existing_company(conn, owner.account_id, company)
        if row is not None:
            response.status_code = 200
            return {"data": company_resource(row)}
        company_id = await create_company(conn, owner.account_id, company)
        row = await _owned_company(conn, company_id, owner.account_id)
    return {"data": company_resource(row)}


@router.get("", response_model=Data[list[Company]])
async def list_companies(request: Request, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        rows = await account_companies(conn, owner.account_id)
    # Newest first, as every listing.
    return {"data": [company_resource(row) for row in reversed(rows)]}


@router.get("/{company_id}", response_model=Data[Company])
async def get(request: Request, company_id: str, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        return {"data": company_resource(await _owned_company(conn, company_id, owner.account_id))}


@router.delete("/{company_id}", response_model=Data[Deleted])
async def delete(request: Request, company_id: str, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await _owned_company(conn, company_id, owner.account_id)
        await mark_company_deleted(conn, company_id)
        # Its government connections go with it: tokens are deleted, not just hidden.
        await delete_company_connections(conn, company_id)
    return {"data": {"id": company_id, "deleted": True}}

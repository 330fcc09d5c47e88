"""Invoices: the list with the API's filters and paging, each invoice's page with its timeline,
and the sandbox's "validate a JSON" and "send a test invoice" forms."""

from __future__ import annotations

import json
from typing import Annotated, Any

from clearway.domain.lifecycle import Status
from clearway.domain.sandbox import SANDBOX_SCENARIO_HEADER, SandboxScenario
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from services.intake.dashboard.api import ApiRefusalError
from services.intake.dashboard.pages import SignedIn, User, field, form_of, render, see_other
from services.intake.examples import SEED_INVOICE_REQUEST

router = APIRouter()

COUNTRIES = ("RO", "IT", "BE", "PL", "FR", "DE")
FINAL_STATUSES = ("accepted", "rejected", "error")
FILTERS = ("status", "country", "companyId", "dateFrom", "dateTo", "search")
TEST_INVOICE = json.dumps(SEED_INVOICE_REQUEST, indent=2, ensure_ascii=False)


def _list_context(request: Request) -> dict[str, Any]:
    """The filters as given, for the form and the next page's link."""
    return {name: request.query_params.get(name, "") for name in FILTERS}


def _as_datetime(day: str, *, end_of_day: bool) -> str:
    """A date input's day as the API's datetime; anything else as it is (the API says why)."""
    if len(day) == len("2025-01-15"):
        return f"{day}T23:59:59.999Z" if end_of_day else f"{day}T00:00:00Z"
    return day


@router.get("/invoices")
async def invoice_list(request: Request, user: User, cursor: str | None = None) -> Response:
    filters = _list_context(request)
    page, error = await user.api.filtered_page(
        "/v1/invoices",
        **{
            **filters,
            "dateFrom": _as_datetime(filters["dateFrom"], end_of_day=False),
            "dateTo": _as_datetime(filters["dateTo"], end_of_day=True),
        },
        cursor=cursor,
    )
    companies = await user.api.data("/v1/companies")
    return render(
        request,
        "invoices.html",
        user.session,
        page=page,
        filters=filters,
        error=error,
        statuses=[status.value for status in Status],
        countries=COUNTRIES,
        companies=companies,
        final_statuses=FINAL_STATUSES,
    )


@router.get("/invoices/statuses")
async def invoice_statuses(
    user: User, invoice_id: Annotated[list[str] | None, Query(alias="id", max_length=50)] = None
) -> JSONResponse:
    """What the list's script polls: each invoice's status now (its own account's only)."""
    statuses = {}
    for one in invoice_id or []:
        try:
            statuses[one] = (await user.api.data(f"/v1/invoices/{one}"))["status"]
        except ApiRefusalError as refusal:
            if refusal.status_code != 404:
                raise
    return JSONResponse(statuses)


@router.get("/invoices/{invoice_id}")
async def invoice_page(request: Request, invoice_id: str, user: User) -> Response:
    invoice = await user.api.data(f"/v1/invoices/{invoice_id}", expand="company")
    events = await user.api.data(f"/v1/invoices/{invoice_id}/events")
    return render(
        request,
        "invoice.html",
        user.session,
        invoice=invoice,
        events=events,
        final_statuses=FINAL_STATUSES,
    )


async def file_of(user: SignedIn, path: str) -> Response:
    """A document the API serves, handed on as it is (the browser has no key to ask)."""
    answer = await user.api.call("GET", path)
    passed = {
        name: answer.headers[name]
        for name in ("content-type", "x-clearway-format", "content-disposition")
        if name in answer.headers
    }
    return Response(answer.content, headers=passed)


@router.get("/invoices/{invoice_id}/document")
async def invoice_document(invoice_id: str, user: User) -> Response:
    return await file_of(user, f"/v1/invoices/{invoice_id}/document")


@router.get("/invoices/{invoice_id}/receipt")
async def invoice_receipt(invoice_id: str, user: User) -> Response:
    return await file_of(user, f"/v1/invoices/{invoice_id}/receipt")


# --- the sandbox's forms --------------------------------------------------------------------


def _sandbox_page(request: Request, user: User, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("invoice_json", TEST_INVOICE)
    return render(
        request,
        "sandbox.html",
        user.session,
        status_code,
        scenarios=[scenario.value for scenario in SandboxScenario],
        **context,
    )


@router.get("/sandbox")
async def sandbox(request: Request, user: User) -> Response:
    return _sandbox_page(request, user)


@router.post("/sandbox/validate")
async def validate_json(request: Request, user: User) -> Response:
    form = await form_of(request, user)
    text = field(form, "invoice_json")
    try:
        answer = await user.api.call(
            "POST",
            "/v1/invoices/validate",
            content=text.encode(),
            headers={"Content-Type": "application/json"},
        )
    except ApiRefusalError as refusal:
        return _sandbox_page(request, user, 400, invoice_json=text, refusal=refusal.error)
    return _sandbox_page(request, user, invoice_json=text, validation=answer.json())


@router.post("/sandbox/send")
async def send_test_invoice(request: Request, user: User) -> Response:
    form = await form_of(request, user)
    text = field(form, "invoice_json")
    if user.session.livemode:  # the live mode files for real: never from a test form
        return _sandbox_page(
            request, user, 403, invoice_json=text, refusal={"message": "Sandbox keys only."}
        )
    headers = {"Content-Type": "application/json"}
    if scenario := field(form, "scenario"):
        headers[SANDBOX_SCENARIO_HEADER] = scenario
    try:
        await user.api.call("POST", "/v1/invoices", content=text.encode(), headers=headers)
    except ApiRefusalError as refusal:
        return _sandbox_page(request, user, 400, invoice_json=text, refusal=refusal.error)
    return see_other("/dashboard/invoices?notice=sent")

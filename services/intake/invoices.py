"""The invoice endpoints, and `accept_invoice`: the one way an invoice enters Clearway, used by
REST and by the `invoices.intake` topic alike (same checks, same idempotency, same quota)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import asyncpg
from clearway.accounts import AmbiguousCompanyError, ApiKeyOwner, active_connection, match_company
from clearway.db import Connection
from clearway.domain.ids import new_id, utcnow
from clearway.domain.invoice import NO_NUL, InvoiceRequest, compute_totals
from clearway.domain.lifecycle import Status
from clearway.domain.sandbox import SANDBOX_SCENARIO_HEADER, SandboxScenario, parse_scenario
from clearway.store import idempotency
from clearway.store.accounts import company_row, owned_company_row
from clearway.store.connections import connection_row
from clearway.store.events import read_stream, start_stream
from clearway.store.invoices import (
    InvoiceFilter,
    InvoiceRef,
    NewInvoice,
    created_since,
    invoice_row,
    lock_quota,
    owned_invoice_row,
)
from clearway.store.invoices import list_invoices as list_invoices_of
from clearway.validation import Severity
from clearway.validation.verdict import validate_for_filing, warm_up
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from services.intake.auth import Owner
from services.intake.errors import ApiError, parse_body, parsed_body_openapi
from services.intake.examples import SEED_INVOICE_REQUEST
from services.intake.fileable import fileable_company
from services.intake.pagination import Cursor, Limit, metadata_filter, owners_page
from services.intake.resources import (
    Data,
    ErrorEnvelope,
    Event,
    Invoice,
    Page,
    ValidationFinding,
    ValidationResult,
    company_resource,
    connection_resource,
    invoice_resource,
)

MAX_BODY_BYTES = 8 * 1024 * 1024  # attachments included (each at most 2 MiB decoded)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope} for code in (400, 401, 403, 404, 409, 429)
}
REQUEST_BODY = parsed_body_openapi(InvoiceRequest, SEED_INVOICE_REQUEST)

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], responses=ERRORS)


class AcceptedInvoice(BaseModel):
    """What POST /v1/invoices answers: on a replay, the first answer, byte for byte."""

    model_config = ConfigDict(frozen=True)

    status_code: int
    body: bytes  # JSON
    replayed: bool


def _created_answer(row: Any) -> bytes:
    resource = {"data": invoice_resource(row).model_dump(mode="json", exclude_none=False)}
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()


def parse_invoice(raw: bytes) -> InvoiceRequest:
    return parse_body(InvoiceRequest, raw, max_bytes=MAX_BODY_BYTES)


async def _replay_idempotent(
    conn: Connection, owner: ApiKeyOwner, key: str, request_hash: str
) -> AcceptedInvoice | None:
    """The first answer for this key and body, as it was sent; 409 for another body; None when
    the key is new."""
    # Serialise requests with the same key, so two concurrent retries create one invoice.
    await idempotency.lock_key(conn, owner.account_id, key)
    previous = await idempotency.first_answer(conn, owner.account_id, key, livemode=owner.livemode)
    if previous is None:
        return None
    if previous.request_hash != request_hash:
        raise ApiError(
            "conflict_error",
            "This idempotency key was used with a different request body.",
            param="/X-Idempotency-Key",
        )
    if previous.response_body is not None and previous.response_status is not None:
        return AcceptedInvoice(
            status_code=previous.response_status,
            body=previous.response_body.encode(),
            replayed=True,
        )
    # A key kept before first answers were stored: the invoice as it is now is all there is.
    row = await invoice_row(conn, previous.invoice_id)
    return AcceptedInvoice(status_code=201, body=_created_answer(row), replayed=True)


async def _enforce_monthly_quota(conn: Connection, owner: ApiKeyOwner) -> None:
    limit = owner.monthly_invoice_limit
    if limit is None:
        return
    # One writer at a time per limited account, so concurrent requests cannot overshoot.
    await lock_quota(conn, owner.account_id)
    month_start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = await created_since(conn, owner.account_id, month_start)
    if used >= limit:
        raise ApiError(
            "usage_limit_exceeded",
            f"This account's monthly limit of {limit} invoices is reached; "
            "it resets on the first day of next month.",
        )


async def _company_for(conn: Connection, owner: ApiKeyOwner, invoice: InvoiceRequest) -> str | None:
    if invoice.company_id is None:
        try:
            return await match_company(
                conn, owner.account_id, invoice.country, invoice.supplier.vat_number
            )
        except AmbiguousCompanyError as exc:
            raise ApiError(
                "validation_error",
                f"{exc}; say which one with companyId.",
                param="/companyId",
            ) from None
    if await owned_company_row(conn, invoice.company_id, owner.account_id) is None:
        raise ApiError("not_found", f"No company {invoice.company_id}.", param="/companyId")
    return invoice.company_id


def sandbox_scenario_of(owner: ApiKeyOwner, value: str | None) -> SandboxScenario | None:
    """The X-Clearway-Sandbox-Scenario asked for; 400 for an unknown one, and for a live key:
    a live invoice goes to the real government, which no header can make misbehave."""
    try:
        scenario = parse_scenario(value)
    except ValueError as exc:
        raise ApiError("validation_error", str(exc), param=f"/{SANDBOX_SCENARIO_HEADER}") from None
    if scenario is not None and owner.livemode:
        raise ApiError(
            "validation_error",
            "Sandbox scenarios are for sk_test_ keys only: live invoices go to the real "
            "government.",
            param=f"/{SANDBOX_SCENARIO_HEADER}",
        )
    return scenario


async def accept_invoice(
    pool: asyncpg.Pool[Any],
    owner: ApiKeyOwner,
    raw: bytes,
    idempotency_key: str | None,
    *,
    sandbox_scenario: str | None = None,
) -> AcceptedInvoice:
    """Check and record a new invoice (`invoice.created`); raises ApiError, writing nothing."""
    scenario = sandbox_scenario_of(owner, sandbox_scenario)
    invoice = parse_invoice(raw)
    request_hash = hashlib.sha256(raw).hexdigest()
    async with pool.acquire() as conn, conn.transaction():
        if idempotency_key is not None:
            replay = await _replay_idempotent(conn, owner, idempotency_key, request_hash)
            if replay is not None:
                return replay
        await _enforce_monthly_quota(conn, owner)
        totals = compute_totals(list(invoice.lines))
        ref = InvoiceRef(
            invoice_id=new_id("inv"),
            account_id=owner.account_id,
            country=invoice.country,
            livemode=owner.livemode,
            external_id=invoice.external_id,
        )
        await start_stream(
            conn,
            ref,
            NewInvoice(
                company_id=await fileable_company(
                    conn, owner, invoice, await _company_for(conn, owner, invoice)
                ),
                supplier_vat=invoice.supplier.vat_number,
                customer_vat=invoice.customer.vat_number,
                net_amount=totals.net_amount,
                vat_amount=totals.vat_amount,
                gross_amount=totals.gross_amount,
                currency=invoice.currency,
                invoice_type=invoice.invoice_type.value,
                metadata=invoice.metadata,
                request=invoice.model_dump(mode="json"),
                sandbox_scenario=scenario.value if scenario else None,
            ),
        )
        row = await invoice_row(conn, ref.invoice_id)
        answer = AcceptedInvoice(status_code=201, body=_created_answer(row), replayed=False)
        if idempotency_key is not None:
            await idempotency.record_answer(
                conn,
                owner.account_id,
                idempotency_key,
                idempotency.IdempotentAnswer(
                    request_hash=request_hash,
                    invoice_id=ref.invoice_id,
                    response_status=answer.status_code,
                    response_body=answer.body.decode(),
                ),
                livemode=owner.livemode,
            )
    return answer


def _scenario_values_only(schema: dict[str, Any]) -> None:
    # An absent header is no header: the document lists the values, not a `null` alternative
    # (which a client would send as the text "null").
    schema.pop("anyOf", None)
    schema.update({"type": "string", "enum": [s.value for s in SandboxScenario]})


@router.post("", status_code=201, response_model=Data[Invoice], openapi_extra=REQUEST_BODY)
async def create_invoice(
    request: Request,
    owner: Owner,
    x_idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
    x_clearway_sandbox_scenario: Annotated[
        SandboxScenario | None,
        Header(
            description="sk_test_ keys only: make the government simulator misbehave",
            json_schema_extra=_scenario_values_only,
        ),
    ] = None,
) -> Response:
    accepted = await accept_invoice(
        request.app.state.pool,
        owner,
        await request.body(),
        x_idempotency_key,
        sandbox_scenario=x_clearway_sandbox_scenario,
    )
    if not accepted.replayed:
        request.app.state.relay.wake()
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else {}
    return Response(
        accepted.body,
        status_code=accepted.status_code,
        headers=headers,
        media_type="application/json",
    )


_gate_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate-gate")


def warm_validation() -> None:
    """Compile the gates on their thread at start-up, not on the first /validate."""
    _gate_thread.submit(warm_up)


@router.post("/validate", response_model=ValidationResult, openapi_extra=REQUEST_BODY)
async def validate_invoice_now(request: Request, owner: Owner) -> ValidationResult:
    """The full rule set, synchronously, without creating anything (the validator's engine)."""
    try:
        invoice = parse_invoice(await request.body())
    except ApiError as exc:
        details = [
            ValidationFinding(
                rule="schema",
                severity=Severity.ERROR,
                pointer=item.get("param") or "/",
                message=item["message"],
                fix="Correct the field to match the request schema.",
            )
            for item in (exc.errors or [{"message": exc.message}])
        ]
        return ValidationResult(
            valid=False,
            errors=[f"{d.pointer}: {d.message}" for d in details],
            details=details,
        )
    # The rules and then the converter's own gate, so "valid" means the gate will pass it; on the
    # gate's one thread, as in the converter (compiled stylesheets stay on one thread).
    report = await asyncio.get_running_loop().run_in_executor(
        _gate_thread, functools.partial(validate_for_filing, invoice, livemode=owner.livemode)
    )
    return ValidationResult(
        valid=not report.errors,
        errors=[f"{f.rule}: {f.message}" for f in report.errors],
        details=[ValidationFinding.model_validate(f.model_dump()) for f in report.findings],
    )


# The pattern is the whole contract, so a generated value outside it is not "valid data".
_EXPANDABLE = r" *(company|connection) *"
Expand = Annotated[
    str | None,
    Query(
        description="Comma-separated: company, connection",
        max_length=100,
        pattern=rf"^({_EXPANDABLE}(,{_EXPANDABLE})*)?$",
    ),
]


async def _expanded(conn: Connection, invoice_row: Any, expand: str | None) -> Invoice:
    invoice = invoice_resource(invoice_row)
    # Expand's pattern admits only known names: anything else was refused before this point.
    wanted = {part.strip() for part in (expand or "").split(",") if part.strip()}
    if not wanted or invoice.company_id is None:
        return invoice
    updates: dict[str, Any] = {}
    if "company" in wanted:
        row = await company_row(conn, invoice.company_id)
        updates["company"] = company_resource(row) if row else None
    if "connection" in wanted:
        connection = await active_connection(
            conn, invoice.company_id, invoice.country, livemode=invoice_row["livemode"]
        )
        if connection is not None:
            row = await connection_row(conn, connection.id)
            updates["connection"] = connection_resource(row)
    return invoice.model_copy(update=updates)


@router.get("", response_model=Page[Invoice])
async def list_invoices(  # noqa: PLR0913, PLR0917 - each filter is a query parameter
    request: Request,
    owner: Owner,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    status: Status | None = None,
    companyId: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,  # noqa: N803
    search: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    dateFrom: dt.datetime | None = None,  # noqa: N803
    dateTo: dt.datetime | None = None,  # noqa: N803
    cursor: Cursor = None,
    limit: Limit = 20,
    expand: Expand = None,
) -> dict[str, Any]:
    """Newest first. Keyset pagination on (createdAt, id): a page never repeats or skips an
    invoice that existed when the first page was read, however many are created meanwhile."""
    filters = InvoiceFilter(
        country=country.upper() if country else None,
        status=status,
        company_id=companyId,
        search=search,
        created_from=dateFrom,
        created_to=dateTo,
        metadata=metadata_filter(request),
    )
    async with request.app.state.pool.acquire() as conn:
        page, has_more, next_cursor = await owners_page(
            conn, list_invoices_of, owner, filters, cursor=cursor, limit=limit
        )
        data = [await _expanded(conn, row, expand) for row in page]
    return {"data": data, "hasMore": has_more, "nextCursor": next_cursor}


async def _owned_invoice(conn: Connection, invoice_id: str, owner: ApiKeyOwner) -> Any:
    row = await owned_invoice_row(conn, invoice_id, owner.account_id, livemode=owner.livemode)
    if row is None:
        # Another account's invoice, or one of the other mode, answers like a missing one.
        raise ApiError("not_found", f"No invoice {invoice_id}.", param="/id")
    return row


@router.get("/{invoice_id}", response_model=Data[Invoice])
async def get_invoice(
    request: Request, invoice_id: str, owner: Owner, expand: Expand = None
) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        row = await _owned_invoice(conn, invoice_id, owner)
        return {"data": await _expanded(conn, row, expand)}


@router.get("/{invoice_id}/events", response_model=Data[list[Event]])
async def get_invoice_events(request: Request, invoice_id: str, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        await _owned_invoice(conn, invoice_id, owner)
        events = await read_stream(conn, invoice_id)
    return {"data": [event.public() for event in events]}


RECEIPT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The government's receipt as it gave it: RO a ZIP with the invoice and "
        "ANAF's seal; IT and PL the XML notice; BE, DE and FR the network's JSON status",
        "headers": {
            "Content-Disposition": {
                "description": "attachment, with the receipt's file name",
                "schema": {"type": "string"},
            }
        },
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in ("application/zip", "application/xml", "application/json")
        },
    }
}


@router.get("/{invoice_id}/receipt", response_class=Response, responses=RECEIPT_RESPONSES)
async def get_invoice_receipt(request: Request, invoice_id: str, owner: Owner) -> Response:
    """The government's proof of acceptance, as it gave it; 404 until the invoice is accepted."""
    async with request.app.state.pool.acquire() as conn:
        row = await _owned_invoice(conn, invoice_id, owner)
        receipt = (
            await conn.fetchrow(
                "SELECT content, content_type, file_name FROM gov_receipts WHERE invoice_id = $1",
                invoice_id,
            )
            if row["status"] == Status.ACCEPTED.value
            else None
        )
    if receipt is None:
        raise ApiError(
            "not_found",
            f"Invoice {invoice_id} has no receipt: it is {row['status']}, and the government's "
            "receipt exists once it is accepted.",
            param="/id",
        )
    file_name = receipt["file_name"] or f"{invoice_id}-receipt"
    return Response(
        bytes(receipt["content"]),
        media_type=receipt["content_type"],
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )

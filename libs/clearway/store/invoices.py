"""The `invoices` table: the read model of each invoice's event stream (GET /v1/invoices).

Only the event store (clearway.store.events) moves an invoice: it inserts the row with the
stream's first event and advances it with every later one, in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.domain.lifecycle import Status
from clearway.store.rows import (
    Changes,
    ListingFilter,
    assignments,
    newest_first,
    one_row,
    owned,
)


class InvoiceRef(BaseModel):
    """What every message about an invoice carries besides the event itself."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    account_id: str
    country: str
    livemode: bool
    external_id: str | None = None


def invoice_ref(row: Mapping[str, Any], *, id_column: str = "invoice_id") -> InvoiceRef:
    """The reference out of a row that carries the invoice's columns; `id_column` names the
    invoice id's column (`id` on the invoices table itself, `stream_id` on an event)."""
    return InvoiceRef(
        invoice_id=row[id_column],
        account_id=row["account_id"],
        country=row["country"],
        livemode=row["livemode"],
        external_id=row["external_id"],
    )


class NewInvoice(BaseModel):
    """What intake records of an accepted request besides its reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company_id: str | None = None
    supplier_vat: str
    customer_vat: str
    net_amount: Decimal
    vat_amount: Decimal
    gross_amount: Decimal
    currency: str
    invoice_type: str = "invoice"
    metadata: dict[str, Any] = {}
    request: dict[str, Any]  # the validated request body: the pipeline's input
    sandbox_scenario: str | None = None


class InvoiceChanges(Changes):
    """Columns a lifecycle event may set besides the status; only the fields given are written
    (None given clears a column)."""

    gov_id: str | None = None
    error_message: str | None = None
    error_translated: str | None = None
    error_fix: str | None = None


class InvoicePosition(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    version: int


async def insert_invoice(
    conn: Connection, ref: InvoiceRef, invoice: NewInvoice, *, status: Status, at: dt.datetime
) -> None:
    """The row of a stream that starts now, at version 1."""
    columns: dict[str, Any] = {
        **invoice.model_dump(),
        "id": ref.invoice_id,
        "account_id": ref.account_id,
        "external_id": ref.external_id,
        "country": ref.country,
        "livemode": ref.livemode,
        "status": status.value,
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }
    names = ", ".join(columns)
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await conn.execute(
        f"INSERT INTO invoices ({names}) VALUES ({params})",  # noqa: S608 - names are ours
        *columns.values(),
    )


async def advance_invoice(  # noqa: PLR0913 - the parts of one step of the read model
    conn: Connection,
    invoice_id: str,
    *,
    version: int,
    status: Status,
    allowed_from: frozenset[Status],
    at: dt.datetime,
    changes: InvoiceChanges,
) -> dt.datetime | None:
    """Move the row to `version` and `status` if it is at `version - 1` in one of
    `allowed_from`; returns the invoice's created_at, or None when it was not moved."""
    fields: dict[str, Any] = {**changes.columns(), "status": status.value}
    created_at: dt.datetime | None = await conn.fetchval(
        f"UPDATE invoices SET {assignments(fields, 5)}version = $2, updated_at = $3 "  # noqa: S608
        "WHERE id = $1 AND version = $2 - 1 AND status = ANY($4::text[]) RETURNING created_at",
        invoice_id,
        version,
        at,
        sorted(s.value for s in allowed_from),
        *fields.values(),
    )
    return created_at


async def invoice_position(conn: Connection, invoice_id: str) -> InvoicePosition | None:
    row = await conn.fetchrow("SELECT status, version FROM invoices WHERE id = $1", invoice_id)
    return None if row is None else InvoicePosition(status=row["status"], version=row["version"])


async def invoice_row(conn: Connection, invoice_id: str) -> Any:
    """The whole row (None when there is none), as the API's resources read it."""
    return await conn.fetchrow("SELECT * FROM invoices WHERE id = $1", invoice_id)


async def owned_invoice_row(
    conn: Connection, invoice_id: str, account_id: str, *, livemode: bool
) -> Any:
    """The row when it is the account's and of that mode, else None."""
    return await one_row(conn, "invoices", owned(invoice_id, account_id, livemode=livemode))


async def created_since(conn: Connection, account_id: str, since: dt.datetime) -> int:
    """How many invoices the account created since `since` (its monthly quota)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM invoices WHERE account_id = $1 AND created_at >= $2",
        account_id,
        since,
    )
    return count


async def invoice_request(conn: Connection, invoice_id: str, account_id: str) -> Any:
    """(company_id, request) of the account's invoice, as a pipeline stage reads it; or None."""
    return await conn.fetchrow(
        "SELECT company_id, request FROM invoices WHERE id = $1 AND account_id = $2",
        invoice_id,
        account_id,
    )


async def invoice_metadata(conn: Connection, invoice_id: str) -> dict[str, str] | None:
    """The metadata the API was given with the invoice; None when there is no such invoice."""
    metadata: dict[str, str] | None = await conn.fetchval(
        "SELECT metadata FROM invoices WHERE id = $1", invoice_id
    )
    return metadata


async def lock_quota(conn: Connection, account_id: str) -> None:
    """One writer at a time per account until the transaction ends (its monthly quota)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('quota:' || $1))", account_id)


class InvoiceFilter(ListingFilter):
    """What GET /v1/invoices narrows a listing to (`search`: a substring of the supplier's or
    customer's VAT or externalId); every field given must match."""

    status: Status | None = None


async def list_invoices(  # noqa: PLR0913 - the listing's parts
    conn: Connection,
    account_id: str,
    *,
    livemode: bool,
    filters: InvoiceFilter,
    before: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Any]:
    """The account's invoices of the mode, newest first, after the keyset position `before`
    (created_at, id) when given."""
    where = filters.where(
        account_id, livemode=livemode, searched=("supplier_vat", "customer_vat", "external_id")
    )
    where.add_if("status = ?", filters.status.value if filters.status else None)
    return await newest_first(conn, "invoices", where, before=before, limit=limit)

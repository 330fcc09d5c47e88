"""The `invoices` table: the read model of each invoice's event stream (GET /v1/invoices).

Only the event store (clearway.store.events) moves an invoice: it inserts the row with the
stream's first event and advances it with every later one, in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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


class InvoiceStep(BaseModel):
    """One row's move for advance_invoices: what advance_invoice takes, for one invoice."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    version: int
    status: Status
    allowed_from: frozenset[Status]
    at: dt.datetime
    changes: InvoiceChanges


async def advance_invoices(
    conn: Connection, steps: Sequence[InvoiceStep]
) -> dict[str, dt.datetime]:
    """advance_invoice for many rows (one invoice each), one UPDATE per kind of step (the same
    status, allowed statuses and changed columns); returns the created_at of each invoice that
    moved, by id: one missing was not at `version - 1` in one of its `allowed_from`."""
    kinds: dict[tuple[Status, frozenset[Status], tuple[str, ...]], list[InvoiceStep]] = {}
    for step in steps:
        kind = (step.status, step.allowed_from, tuple(step.changes.columns()))
        kinds.setdefault(kind, []).append(step)
    moved: dict[str, dt.datetime] = {}
    for (status, allowed_from, names), alike in kinds.items():
        # Every column a step may change is text (InvoiceChanges).
        sets = "".join(f"{name} = u.{name}, " for name in names)
        columns = "".join(f", ${i}::text[]" for i in range(6, 6 + len(names)))
        rows = await conn.fetch(
            f"UPDATE invoices AS i SET {sets}status = $4, version = u.version, "  # noqa: S608
            "updated_at = u.at FROM unnest($1::text[], $2::int[], $3::timestamptz[]"
            f"{columns}) AS u(id, version, at{''.join(f', {name}' for name in names)}) "
            "WHERE i.id = u.id AND i.version = u.version - 1 AND i.status = ANY($5::text[]) "
            "RETURNING i.id, i.created_at",
            [s.invoice_id for s in alike],
            [s.version for s in alike],
            [s.at for s in alike],
            status.value,
            sorted(s.value for s in allowed_from),
            *([s.changes.columns()[name] for s in alike] for name in names),
        )
        moved.update((row["id"], row["created_at"]) for row in rows)
    return moved


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


async def invoice_requests(conn: Connection, invoice_ids: Sequence[str]) -> dict[str, Any]:
    """invoice_request for many invoices at once: their rows (id, account_id, company_id,
    request) by id; an id with no invoice is missing."""
    rows = await conn.fetch(
        "SELECT id, account_id, company_id, request FROM invoices WHERE id = ANY($1::text[])",
        list(invoice_ids),
    )
    return {row["id"]: row for row in rows}


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

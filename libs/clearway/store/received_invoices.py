"""The `received_invoices` table: the read model of each received invoice's stream
(GET /v1/received-invoices), with the original document and the government's evidence.

The event store (clearway.store.events) inserts the row with the stream's first event,
`invoice.received`, in the same transaction. The government's own id is the key (per company,
country and mode): a delivery already recorded inserts nothing. Besides, the account's platform
may tag it (`metadata`, PATCH /v1/received-invoices/{id}): the platform's own notes, not an
event of the invoice, so no event is written for them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.store.rows import ListingFilter, Where, newest_first, one_row, owned

# What a listing reads: every column but the document and the evidence, which can be large.
LISTED_COLUMNS = (
    "id, account_id, livemode, company_id, connection_id, country, government_id, status, "
    "version, supplier_vat, customer_vat, currency, net_amount, vat_amount, gross_amount, "
    "request, findings, media_type, evidence_media_type, delivered_at, created_at, updated_at, "
    "metadata"
)


class ReceivedRef(BaseModel):
    """What every message about a received invoice carries besides the event itself."""

    model_config = ConfigDict(frozen=True)

    received_id: str
    account_id: str
    company_id: str
    connection_id: str
    country: str
    livemode: bool


class NewReceived(BaseModel):
    """One delivery as it is recorded: the bytes as delivered and what reading them gave."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    government_id: str
    document: bytes
    media_type: str
    evidence: bytes | None = None
    evidence_media_type: str | None = None
    delivered_at: dt.datetime | None = None
    request: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = []
    supplier_vat: str | None = None
    customer_vat: str | None = None
    currency: str | None = None
    net_amount: Decimal | None = None
    vat_amount: Decimal | None = None
    gross_amount: Decimal | None = None


async def insert_received(
    conn: Connection, ref: ReceivedRef, new: NewReceived, *, status: str, at: dt.datetime
) -> bool:
    """The row of a stream that starts now, at version 1; False (nothing written) when the
    government's id is already recorded for the company."""
    columns: dict[str, Any] = {
        **new.model_dump(),
        "id": ref.received_id,
        "account_id": ref.account_id,
        "company_id": ref.company_id,
        "connection_id": ref.connection_id,
        "country": ref.country,
        "livemode": ref.livemode,
        "status": status,
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }
    names = ", ".join(columns)
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    inserted = await conn.fetchval(
        f"INSERT INTO received_invoices ({names}) VALUES ({params}) "  # noqa: S608 - ours
        "ON CONFLICT (company_id, country, livemode, government_id) DO NOTHING RETURNING id",
        *columns.values(),
    )
    return inserted is not None


async def owned_received_row(
    conn: Connection, received_id: str, account_id: str, *, livemode: bool, for_update: bool = False
) -> Any:
    """The row when it is the account's and of that mode, else None; locked until the
    transaction ends when asked (two changes of its metadata then apply one after the other)."""
    return await one_row(
        conn,
        "received_invoices",
        owned(received_id, account_id, livemode=livemode),
        for_update=for_update,
    )


async def received_by_government_id(
    conn: Connection, company_id: str, country: str, government_id: str, *, livemode: bool
) -> Any:
    """The row of that government message for the company (None when not received)."""
    where = Where("company_id = ?", company_id).add("country = ?", country)
    where.add("livemode = ?", livemode).add("government_id = ?", government_id)
    return await one_row(conn, "received_invoices", where)


async def set_metadata(conn: Connection, received_id: str, metadata: dict[str, str]) -> Any:
    """The received invoice's metadata replaced; its row as a listing reads it."""
    sql = "UPDATE received_invoices SET metadata = $2, updated_at = now() WHERE id = $1 "
    return await conn.fetchrow(
        f"{sql}RETURNING {LISTED_COLUMNS}",
        received_id,
        metadata,
    )


class ReceivedFilter(ListingFilter):
    """What GET /v1/received-invoices narrows a listing to (`search`: a substring of the
    supplier's or customer's VAT or the government's id); every field given must match."""

    supplier_vat: str | None = None  # the supplier's VAT number, whole (any case)


async def list_received(  # noqa: PLR0913 - the listing's parts
    conn: Connection,
    account_id: str,
    *,
    livemode: bool,
    filters: ReceivedFilter,
    before: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Any]:
    """The account's received invoices of the mode, newest first, after the keyset position
    `before` (created_at, id) when given; without their document and evidence."""
    where = filters.where(
        account_id, livemode=livemode, searched=("supplier_vat", "customer_vat", "government_id")
    )
    where.add_if("upper(supplier_vat) = upper(?)", filters.supplier_vat)
    return await newest_first(
        conn, "received_invoices", where, before=before, limit=limit, columns=LISTED_COLUMNS
    )


async def received_row(conn: Connection, received_id: str, *, for_update: bool = False) -> Any:
    """The row with its document (None when there is none); locked until the transaction ends
    when asked, so the next event of its stream is appended by one writer at a time."""
    return await one_row(
        conn, "received_invoices", Where("id = ?", received_id), for_update=for_update
    )


async def advance_received(
    conn: Connection, received_id: str, *, version: int, at: dt.datetime
) -> None:
    """The stream's next event was appended at `version`."""
    await conn.execute(
        "UPDATE received_invoices SET version = $2, updated_at = $3 WHERE id = $1",
        received_id,
        version,
        at,
    )

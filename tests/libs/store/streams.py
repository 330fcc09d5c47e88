"""A fresh invoice stream in a fresh account: what event-store level tests start from."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from clearway.accounts import create_account
from clearway.domain.ids import new_id
from clearway.store.events import start_stream
from clearway.store.invoices import InvoiceRef, NewInvoice


def ron_invoice(
    supplier_vat: str = "RO1",
    customer_vat: str = "RO2",
    net: Decimal = Decimal("1.00"),
    vat: Decimal = Decimal("0.19"),
) -> NewInvoice:
    """The invoice row a test stream starts with: a RON invoice with no request body."""
    return NewInvoice(
        supplier_vat=supplier_vat,
        customer_vat=customer_vat,
        net_amount=net,
        vat_amount=vat,
        gross_amount=net + vat,
        currency="RON",
        request={},
    )


async def new_stream(conn: Any, account_name: str) -> tuple[InvoiceRef, str]:
    """A Romanian test-mode invoice at version 1; returns its ref and the created event's id."""
    account_id = await create_account(conn, account_name)
    ref = InvoiceRef(invoice_id=new_id("inv"), account_id=account_id, country="RO", livemode=False)
    created = await start_stream(conn, ref, ron_invoice())
    return ref, created.id


async def outbox_count(conn: Any, ref: InvoiceRef) -> int:
    """How many messages the outbox holds for this invoice."""
    count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE key = $1", ref.invoice_id)
    return count

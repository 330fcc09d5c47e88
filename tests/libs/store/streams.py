"""A fresh invoice stream in a fresh account: what event-store level tests start from."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from clearway.accounts import create_account
from clearway.domain.ids import new_id
from clearway.store.events import start_stream
from clearway.store.invoices import InvoiceRef, NewInvoice


async def new_stream(conn: Any, account_name: str) -> tuple[InvoiceRef, str]:
    """A Romanian test-mode invoice at version 1; returns its ref and the created event's id."""
    account_id = await create_account(conn, account_name)
    ref = InvoiceRef(invoice_id=new_id("inv"), account_id=account_id, country="RO", livemode=False)
    created = await start_stream(
        conn,
        ref,
        NewInvoice(
            supplier_vat="RO1",
            customer_vat="RO2",
            net_amount=Decimal("1.00"),
            vat_amount=Decimal("0.19"),
            gross_amount=Decimal("1.19"),
            currency="RON",
            request={},
        ),
    )
    return ref, created.id

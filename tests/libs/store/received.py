"""A company with an active receiving connection in a fresh account, and deliveries to it: what
receiving tests start from."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clearway.accounts import create_account, create_company
from clearway.accounts.connections import open_connection
from clearway.domain.company import CompanyRequest
from clearway.domain.ids import new_id
from clearway.governments.inbox import Delivery, InboxPage
from clearway.store.connections import ConnectionChanges, update_connection
from clearway.store.received_invoices import NewReceived, ReceivedRef


@dataclass(frozen=True)
class Receiving:
    account_id: str
    company_id: str
    connection_id: str
    country: str

    def ref(self) -> ReceivedRef:
        """A fresh received invoice of this connection."""
        return ReceivedRef(
            received_id=new_id("rinv"),
            account_id=self.account_id,
            company_id=self.company_id,
            connection_id=self.connection_id,
            country=self.country,
            livemode=False,
        )


def own_country() -> str:
    """A country code no other test's connection has (the table does not check it), so a
    machine given only it claims only this test's connections."""
    return "Z" + secrets.token_hex(2).upper()


async def receiving_connection(conn: Any, country: str = "RO") -> Receiving:
    """An active sandbox connection that receives, of a new company in a new account."""
    account_id = await create_account(conn, "receiving test")
    company_id = await create_company(
        conn, account_id, CompanyRequest(legal_name="Buyer SRL", vat_number="RO987", country="RO")
    )
    connection, _ = await open_connection(conn, account_id, company_id, country)
    await update_connection(conn, connection["id"], ConnectionChanges(status="active"))
    return Receiving(account_id, company_id, connection["id"], country)


def delivery(government_id: str | None = None, document: bytes = b"<Invoice/>") -> Delivery:
    return Delivery(
        government_id=government_id or secrets.token_hex(6),
        document=document,
        media_type="application/xml",
        evidence=b"<Signature/>",
        evidence_media_type="application/xml",
        delivered_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
    )


def new_received(government_id: str, document: bytes = b"<Invoice/>") -> NewReceived:
    return NewReceived(
        government_id=government_id,
        document=document,
        media_type="application/xml",
        evidence=b"<Signature/>",
        evidence_media_type="application/xml",
        supplier_vat="RO123",
    )


class MemoryInbox:
    """A government's inbox as pages keyed by the cursor they are read from; a page may be an
    exception, raised instead. Remembers each cursor it was read from."""

    def __init__(self, pages: Mapping[str | None, InboxPage | Exception]) -> None:
        self.pages = dict(pages)
        self.read_from: list[str | None] = []

    async def fetch(self, cursor: str | None) -> InboxPage:
        self.read_from.append(cursor)
        page = self.pages[cursor]
        if isinstance(page, Exception):
            raise page
        return page

"""The receiver's wiring without the stack: its machine asks each connection's government for the
connection's inbox (Government.inbox, with the service's context, its HTTP client and the
connection row), records what it delivers through the outbox and wakes the relay; its timings are
the deployment's settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import asyncpg
import httpx
import pytest
from clearway.governments.inbox import Inbox, InboxPage
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.runtime import ServiceContext

from services.receiver import handlers
from tests.libs.store.received import MemoryInbox, delivery, own_country, receiving_connection
from tests.services.handlers_support import handler_context, wakes


class InboxGovernment:
    """A government whose inbox is `inbox`; remembers what it was asked to build it with."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self.asked: list[tuple[ServiceContext, httpx.AsyncClient, Mapping[str, Any]]] = []

    def inbox(
        self, context: ServiceContext, http: httpx.AsyncClient, connection: Mapping[str, Any]
    ) -> Inbox | None:
        self.asked.append((context, http, connection))
        return self._inbox


def test_the_timings_are_the_deployments() -> None:
    context = handler_context("receiver", pool=None)  # type: ignore[arg-type] - not used
    timings = handlers.timings(context)
    settings = context.settings
    assert timings.interval == dt.timedelta(seconds=settings.receive_interval)
    assert timings.lease == dt.timedelta(seconds=settings.work_lease_seconds)
    assert (timings.backoff.base, timings.backoff.cap) == (
        settings.receive_retry_base,
        settings.receive_retry_cap,
    )


@pytest.mark.postgres
async def test_each_connections_government_builds_its_inbox_and_deliveries_are_published(
    store_db: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    country = own_country()
    async with store_db.acquire() as conn:
        receiving = await receiving_connection(conn, country)
    government = InboxGovernment(MemoryInbox({None: InboxPage((delivery("M1"),), cursor="p2")}))
    monkeypatch.setattr(handlers, "GOVERNMENTS", {country: government})
    context = handler_context("receiver", store_db)
    async with httpx.AsyncClient() as http:
        machine = handlers.receiving_machine(context, http)
        assert await machine.receive_due() == 1
    [(asked_context, asked_http, row)] = government.asked
    assert (asked_context, asked_http, row["id"]) == (context, http, receiving.connection_id)
    received_id = await store_db.fetchval(
        "SELECT id FROM received_invoices WHERE connection_id = $1", receiving.connection_id
    )
    topics = await store_db.fetch("SELECT topic FROM outbox WHERE key = $1", received_id)
    assert [t["topic"] for t in topics] == [INVOICES_RECEIVED]
    assert wakes(context) == 1

"""receiver: receives the purchase invoices every government delivers to a connected company.

Consumes  no topic: the work is the receiver's schedule in PostgreSQL, a row per receiving
          connection (active, `isReceiver`), with where its next look starts.
Decides   the receiving machine (clearway.pipeline.receiving) claims the due inboxes and reads
          each at its government (its Inbox, from the registry clearway.governments), from the
          connection's cursor; each delivery is read back into the invoice JSON and validated
          (clearway.pipeline.reading: findings kept, never refused) and recorded
          once, keyed by the government's id; a failing government is looked at again after
          a backoff.
Emits     `invoice.received` on each received invoice's own stream, published on
          `invoices.received` (keyed by received-invoice ID) through the outbox, where the
          webhook-dispatcher takes it to the account's endpoints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx
from clearway.governments import GOVERNMENTS
from clearway.governments.inbox import Inbox
from clearway.pipeline.reading import Reader, read_received
from clearway.pipeline.receiving import ReceivingMachine, ReceivingTimings
from clearway.resilience.backoff import Backoff
from clearway.runtime import ServiceContext


def register_handlers(_: ServiceContext) -> None:
    """No topic to consume: the work comes from the inbox_cursors table (see receive_invoices)."""


def timings(context: ServiceContext) -> ReceivingTimings:
    settings = context.settings
    return ReceivingTimings(
        interval=dt.timedelta(seconds=settings.receive_interval),
        # A claimed inbox not recorded within the lease is taken up again (its receiver died).
        lease=dt.timedelta(seconds=settings.work_lease_seconds),
        # Looks are never given up: the attempts only size the doubling.
        backoff=Backoff(
            base=settings.receive_retry_base, cap=settings.receive_retry_cap, max_attempts=0
        ),
    )


def receiving_machine(
    context: ServiceContext, http: httpx.AsyncClient, *, read: Reader = read_received
) -> ReceivingMachine:
    """The machine over every government, each inbox read with `http`."""

    def inbox_for(connection: Mapping[str, Any]) -> Inbox | None:
        government = GOVERNMENTS.get(connection["country"])
        return None if government is None else government.inbox(context, http, connection)

    return ReceivingMachine(
        context.pool,
        countries=sorted(GOVERNMENTS),
        inbox_for=inbox_for,
        read=read,
        timings=timings(context),
        recorded=context.relay.wake,
    )


async def receive_invoices(context: ServiceContext) -> None:
    """The receiving loop: claim due inboxes, read each at its government, record deliveries."""
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        await receiving_machine(context, http).run()

"""receiver: receives the purchase invoices every government delivers to a connected company,
and sends back the buyer's responses to them.

Consumes  no topic: the work is the receiver's schedules in PostgreSQL, a row per receiving
          connection (active, `isReceiver`), with where its next look starts, and a row per
          buyer's response (POST /v1/received-invoices/:id/response) not sent yet.
Decides   the receiving machine (clearway.pipeline.receiving) claims the due inboxes and reads
          each at its government (its Inbox, from the registry clearway.governments), from the
          connection's cursor; each delivery is read back into the invoice JSON and validated
          (clearway.pipeline.reading: findings kept, never refused) and recorded
          once, keyed by the government's id; a failing government is looked at again after
          a backoff. The responding machine (clearway.pipeline.responding) sends each response
          through its government's Responder, once, again after a backoff while the network
          fails.
Emits     `invoice.received`, then `invoice.response_sent` or `invoice.response_failed`, on each
          received invoice's own stream, published on `invoices.received` (keyed by
          received-invoice ID) through the outbox, where the webhook-dispatcher takes
          `invoice.received` to the account's endpoints.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx
from clearway.governments import GOVERNMENTS
from clearway.governments.inbox import Inbox
from clearway.governments.responding import Responder
from clearway.pipeline.reading import Reader, read_received
from clearway.pipeline.receiving import ReceivingMachine, ReceivingTimings
from clearway.pipeline.responding import RespondingMachine, RespondingTimings
from clearway.resilience.backoff import Backoff
from clearway.runtime import ServiceContext


def register_handlers(_: ServiceContext) -> None:
    """No topic to consume: the work comes from the inbox_cursors and received_responses
    tables (see receive_invoices)."""


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


def responding_machine(context: ServiceContext, http: httpx.AsyncClient) -> RespondingMachine:
    """The machine over every government, each response sent with `http`."""
    settings = context.settings

    def responder_for(received: Mapping[str, Any]) -> Responder | None:
        government = GOVERNMENTS.get(received["country"])
        return None if government is None else government.responder(context, http, received)

    return RespondingMachine(
        context.pool,
        countries=sorted(GOVERNMENTS),
        responder_for=responder_for,
        timings=RespondingTimings(
            lease=dt.timedelta(seconds=settings.work_lease_seconds),
            backoff=Backoff(
                base=settings.receive_retry_base,
                cap=settings.receive_retry_cap,
                max_attempts=settings.respond_max_attempts,
            ),
        ),
        recorded=context.relay.wake,
    )


async def receive_invoices(context: ServiceContext) -> None:
    """The receiver's loops: claim due inboxes, read each at its government, record deliveries;
    and claim due responses, send each through its network, record how it ended."""
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        await asyncio.gather(
            receiving_machine(context, http).run(), responding_machine(context, http).run()
        )

"""Receiving what a network pushes (SDI to the recipient's channel, a Peppol access point): one
request at the receiver's network endpoint is one delivery, recorded as a pulled inbox's are.

    request --the government's PushChannel--> a delivery for a recipient, or refused
            --the recipient's receiving connections--> none: refused (no company here)
            --read (clearway.pipeline.reading), findings kept--> recorded for each, in one
              transaction (clearway.pipeline.receiving.record_delivery) --> the network's receipt

The receipt is given only after the commit: a receiver that dies before it leaves the network
to retry, and a retried delivery (the same government id) is answered with the same receipt and
adds nothing. Refusals record nothing; the network keeps the delivery and says so to its sender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from clearway.governments.pushed import DeliveryRefusedError, NetworkAnswer, PushChannel
from clearway.observability.logs import log_context
from clearway.observability.metrics import INVOICES_RECEIVED
from clearway.pipeline.reading import Reader
from clearway.pipeline.receiving import read_safely, record_delivery
from clearway.store.connections import receiving_connections

log = logging.getLogger(__name__)


class PushedReceiving:
    """Takes the deliveries networks push, for every government with a PushChannel.
    `recorded` is called after each new delivery recorded (the outbox relay's wake-up)."""

    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        *,
        read: Reader,
        recorded: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._read = read
        self._recorded = recorded

    async def take(
        self,
        country: str,
        channel: PushChannel,
        body: bytes,
        media_type: str,
        *,
        livemode: bool,
    ) -> NetworkAnswer:
        """The answer to one request `country`'s network pushed through its `channel`, of the
        mode its credentials are for."""
        try:
            pushed = channel.take(body, media_type)
        except DeliveryRefusedError as exc:
            log.warning("a %s delivery was refused: %s", country, exc)
            return channel.refused(str(exc))
        async with self._pool.acquire() as conn:
            connections = await receiving_connections(
                conn,
                country=country,
                livemode=livemode,
                recipient_field=pushed.recipient_field,
                recipient=pushed.recipient,
            )
        if not connections:
            reason = f"no company receives for {pushed.recipient} here"
            log.warning("a %s delivery refused: %s", country, reason)
            return channel.refused(reason)
        delivery = pushed.delivery
        # Reading is CPU work, the same for every connection (it depends on country and mode).
        reading = await asyncio.to_thread(read_safely, self._read, delivery, connections[0])
        received_ids: list[str] = []
        new = 0
        with log_context(invoice_id=None, account_id=connections[0]["account_id"]):
            async with self._pool.acquire() as conn, conn.transaction():
                for connection in connections:
                    received_id, is_new = await record_delivery(conn, connection, delivery, reading)
                    received_ids.append(received_id)
                    new += is_new
            if new:
                INVOICES_RECEIVED.labels(country).inc(new)
                log.info("%d invoices received (%s, pushed)", new, country)
                self._recorded()
        return channel.received(pushed, received_ids[0])

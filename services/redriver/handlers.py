"""redriver: the store, not the broker, is the source of truth. It consumes nothing; every few
seconds it looks in PostgreSQL for invoices that have not moved for a while in a non-final
status and sends the message of their last event again to the stage that must see it (a lost
message, a broker that lost its log). Every consumer is idempotent, so a message sent again to
a stage that already handled it changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from clearway.domain.ids import iso_millis
from clearway.domain.lifecycle import Status
from clearway.observability.lag import track_dlq_depth
from clearway.redrive import next_redrive_after, redrive_topic
from clearway.runtime import ServiceContext
from clearway.store.events import StoredEvent, event_message
from clearway.store.invoices import invoice_ref
from clearway.store.outbox import OutboxMessage, enqueue
from clearway.store.redrives import record_redrive, stalled_invoices

log = logging.getLogger(__name__)

BATCH = 500


def stalled_after(context: ServiceContext) -> dt.timedelta:
    """An invoice untouched for this long in created/validated/submitted is sent on again."""
    return dt.timedelta(seconds=context.settings.redrive_stalled_after)


def register_handlers(_: ServiceContext) -> None:
    """The redriver has no topic of its own: its work is the loop below."""


async def watch_stalled_invoices(context: ServiceContext) -> None:
    """The service's loops: re-drive stalled invoices, and report what the DLQs hold."""
    await asyncio.gather(
        redrive_stalled_invoices(context), track_dlq_depth(context.settings.kafka_bootstrap)
    )


async def redrive_stalled_invoices(context: ServiceContext) -> None:
    scan_every_seconds = min(context.settings.redrive_stalled_after / 2, 5.0)
    while True:
        try:
            sent = await redrive_once(context)
            if sent:
                log.warning("sent %d stalled invoice(s) on again", sent)
                context.relay.wake()
        except Exception:
            log.exception("redrive scan failed; retrying")
        await asyncio.sleep(scan_every_seconds)


async def redrive_once(context: ServiceContext) -> int:
    async with context.pool.acquire() as conn, conn.transaction():
        rows = await stalled_invoices(conn, stalled_after=stalled_after(context), limit=BATCH)
        messages: list[OutboxMessage] = []
        for row in rows:
            topic = redrive_topic(
                Status(row["status"]),
                row["country"],
                has_document=row["has_document"],
                has_status_poll=row["has_status_poll"],
            )
            attempts = row["attempts"] or 0
            await record_redrive(
                conn,
                row["id"],
                row["version"],
                attempts=attempts + 1,
                next_after=next_redrive_after(attempts),
            )
            if topic is not None:
                event = _event(row)
                messages.append(
                    OutboxMessage(
                        topic=topic,
                        key=row["id"],
                        payload=_message(row, event),
                        # Sent again as part of the invoice's own trace.
                        traceparent=event.traceparent,
                    )
                )
        await enqueue(conn, messages)
    return len(messages)


def _event(row: Any) -> StoredEvent:
    """The invoice's last event out of a stalled-invoice row, where `id` is the invoice's and
    `event_id` the event's."""
    return StoredEvent.model_validate({**dict(row), "stream_id": row["id"], "id": row["event_id"]})


def _message(row: Any, event: StoredEvent) -> dict[str, Any]:
    payload = event_message(invoice_ref(row, id_column="id"), event).model_dump(mode="json")
    payload["redrivenAt"] = iso_millis(dt.datetime.now(dt.UTC))
    return payload

"""Each message of a batch is recorded in its own trace: a real broker delivers one batch that
mixes invoices of two traces and one that came without a trace, to a validator-like handler
writing to real PostgreSQL (store_db) as the batched stages do (each append prepared in its
message's block, all written together after). The consumer runs in a context of a third trace,
as a batch's span is: no event or outbox row may name it, nor another message's trace."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest
from clearway.domain.lifecycle import EventType
from clearway.invoices import ref_of
from clearway.messaging import build_broker
from clearway.messaging.batches import Delivered, subscribe_event_batches
from clearway.messaging.envelope import EventMessage
from clearway.observability.tracing import continued
from clearway.store.events import (
    NewEvent,
    PendingAppend,
    append_events,
    event_message,
    prepare_append,
    read_stream,
)

from tests.libs.store.streams import new_stream
from tests.services.kafka_support import create_topic_with_dlq, produce

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

TRACE_A = "0af7651916cd43dd8448eb211c80319c"
TRACE_B = "4bf92f3577b34da6a3ce929d0e0e4736"
BATCH_TRACE = "5c3f8e1a2b4d6f708192a3b4c5d6e7f8"


def _traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


class Validating:
    """Appends `invoice.validated` for each message, prepared in the message's block and
    written for the batch at once (as the validator does)."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self.pool = pool
        self.batch_sizes: list[int] = []

    async def handle(self, batch: Sequence[Delivered[EventMessage]]) -> None:
        self.batch_sizes.append(len(batch))
        pending: list[PendingAppend] = []
        for delivered in batch:
            message = delivered.message
            with delivered.handling():
                new = NewEvent(
                    type=EventType.VALIDATED,
                    expected_version=message.version,
                    causation_id=message.event_id,
                )
                pending.append(prepare_append(ref_of(message), new))
        async with self.pool.acquire() as conn:
            await append_events(conn, pending)


async def _validated_traces(
    pool: asyncpg.Pool[Any], invoice_ids: list[str]
) -> dict[str, tuple[str | None, list[str | None]]]:
    """Each validated invoice's event trace id and its outbox rows' traceparents."""
    events = await pool.fetch(
        "SELECT stream_id, trace_id FROM events WHERE stream_id = ANY($1) AND type = $2",
        invoice_ids,
        EventType.VALIDATED.value,
    )
    outbox = await pool.fetch(
        "SELECT key, traceparent FROM outbox WHERE key = ANY($1) AND payload->>'event' = $2",
        invoice_ids,
        EventType.VALIDATED.value,
    )
    return {
        e["stream_id"]: (
            e["trace_id"],
            [o["traceparent"] for o in outbox if o["key"] == e["stream_id"]],
        )
        for e in events
    }


async def test_each_message_of_a_batch_is_recorded_in_its_own_trace(
    store_db: asyncpg.Pool[Any], kafka_bootstrap: str
) -> None:
    topic = f"batch-trace-test-{secrets.token_hex(4)}"
    await create_topic_with_dlq(kafka_bootstrap, topic, 1)
    traces: list[str | None] = [TRACE_A, TRACE_B, None, TRACE_A]
    messages: list[EventMessage] = []
    async with store_db.acquire() as conn:
        for n in range(len(traces)):
            ref, _ = await new_stream(conn, f"batch trace test {n}")
            (created,) = await read_stream(conn, ref.invoice_id)
            messages.append(event_message(ref, created))
    # All waiting before the group starts (one partition): they come as one batch.
    await produce(
        kafka_bootstrap,
        topic,
        [
            (
                m.invoice_id,
                m.model_dump_json(by_alias=True).encode(),
                [("traceparent", _traceparent(t).encode())] if t else [],
            )
            for m, t in zip(messages, traces, strict=True)
        ],
    )
    handler = Validating(store_db)
    broker = build_broker(kafka_bootstrap, client_id="batch-trace-test")
    subscribe_event_batches(broker, topic, group_id=f"{topic}-group", handle=handler.handle)
    ids = [m.invoice_id for m in messages]
    # The consumer's own context is another trace's, as a batch's span is.
    with continued(_traceparent(BATCH_TRACE)):
        await broker.start()
    try:
        deadline = time.monotonic() + 60
        while len(recorded := await _validated_traces(store_db, ids)) < len(ids):
            assert time.monotonic() < deadline, f"only {len(recorded)} validated"
            await asyncio.sleep(0.2)
    finally:
        await broker.stop()

    assert handler.batch_sizes == [len(ids)]
    for message, trace_id in zip(messages, traces, strict=True):
        event_trace, outbox_parents = recorded[message.invoice_id]
        assert outbox_parents, message.invoice_id
        if trace_id is not None:
            assert event_trace == trace_id
            assert all(p and p.split("-")[1] == trace_id for p in outbox_parents)
        else:
            # Its own trace (none here: this process makes no spans), never the batch's or
            # another message's.
            assert event_trace not in {TRACE_A, TRACE_B, BATCH_TRACE}
            assert not any(
                p and p.split("-")[1] in {TRACE_A, TRACE_B, BATCH_TRACE} for p in outbox_parents
            )

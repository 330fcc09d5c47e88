"""Batched consumers: a stage takes what is waiting on its topic (up to BATCH_MAX_RECORDS, or
what came within BATCH_WAIT_MS when nothing was buffered), decides for the whole batch and
writes it in one transaction; the offsets are committed after the handler returned.

Delivery stays as subscribe_messages has it: at least once (a failure seeks every partition of
the batch back to its first record, so the batch comes again), and a poison message is
dead-lettered alone. When a batch fails, its messages are handled again one by one, in their
order, each as a batch of one: the one that is poison goes to `<topic>.dlq`, the others are
recorded (a handler's effect is idempotent, so what a failed batch rolled back, or what a
redelivery brings again, is written once). Per-invoice order holds: one consumer takes a
partition's records in order, and the handler keeps the order of the batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from pydantic import ValidationError

from clearway.domain.ids import utcnow
from clearway.domain.wire import parse_wire_json
from clearway.messaging import (
    GROUP_OPTIONS,
    RETRY_PAUSE_SECONDS,
    MessageT,
    PoisonMessageError,
    _About,
    dead_letter_record,
)
from clearway.messaging.envelope import EventMessage
from clearway.observability.logs import log_context
from clearway.observability.metrics import (
    STAGE_DURATION,
    STAGE_MESSAGES,
    STAGE_QUEUE_DELAY,
)
from clearway.observability.tracing import continued, tracer

log = logging.getLogger(__name__)

# A few hundred records bound a batch's transaction and the time a partition waits on it.
BATCH_MAX_RECORDS = 300
# How long the consumer waits for a first record when none is buffered. A record that comes
# meanwhile is taken at once (so a batch is what piled up while the previous one was handled);
# after a wait that brought nothing, FastStream pauses as long again, so an idle consumer
# wakes a few times a second, not a hundred.
BATCH_WAIT_MS = 100

TRACEPARENT_HEADER = "traceparent"


@dataclass(frozen=True)
class Delivered(Generic[MessageT]):
    """One message of a batch, with the trace it was published in."""

    message: MessageT
    topic: str
    traceparent: str | None

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Run the block as this message's own work: a span in the message's trace (so what
        the block records, an event say, names the invoice's trace; a message that came
        without a trace starts its own, never the batch's), log lines naming its invoice and
        account."""
        about = _About.of(self.message)
        with (
            continued(self.traceparent),
            tracer().start_as_current_span(
                f"{self.topic} handle",
                kind=trace.SpanKind.CONSUMER,
                attributes=about.span_attributes(),
            ),
            log_context(invoice_id=about.invoice_id, account_id=about.account_id),
        ):
            yield


BatchHandler = Callable[[Sequence[Delivered[MessageT]]], Awaitable[None]]


def subscribe_event_batches(
    broker: KafkaBroker,
    topic: str,
    *,
    group_id: str,
    handle: BatchHandler[EventMessage],
    max_records: int = BATCH_MAX_RECORDS,
) -> None:
    """subscribe_events, a batch at a time: `handle` gets the batch's messages in order and
    records all of them, or none (raising)."""
    subscribe_message_batches(
        broker, topic, group_id=group_id, model=EventMessage, handle=handle, max_records=max_records
    )


def subscribe_message_batches(  # noqa: PLR0913 - the subscription's parts, all named
    broker: KafkaBroker,
    topic: str,
    *,
    group_id: str,
    model: type[MessageT],
    handle: BatchHandler[MessageT],
    max_records: int = BATCH_MAX_RECORDS,
) -> None:
    """subscribe_event_batches for any message shape: a body that is not a `model` is
    dead-lettered, the rest of its batch handled."""
    memory = _Memory()

    @broker.subscriber(
        topic,
        group_id=group_id,
        **GROUP_OPTIONS,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=BATCH_WAIT_MS,
    )
    async def consume(message: KafkaMessage) -> None:
        raw: Any = message.raw_message
        # A tuple from the broker; a list from FastStream's TestKafkaBroker.
        records = list(raw) if isinstance(raw, tuple | list) else [raw]
        batch = _Batch(broker, topic, group_id, handle, memory)
        for record in records:
            await batch.take(record, model)
        await batch.run()


Place = tuple[int, int]  # a record's partition and offset


class _Memory:
    """What one subscriber remembers of its records across the redeliveries of a failed batch:
    the record whose handling failed (its batch comes again one by one at once, not whole
    first: a fault that lasts would otherwise redo hundreds of messages every second) and the
    records already dead-lettered (a redelivered batch does not copy them to the DLQ again).
    Bounded: past REMEMBERED places it starts afresh, which costs a whole-batch try or a
    second DLQ copy, never a lost message."""

    REMEMBERED = 10_000

    def __init__(self) -> None:
        self.failing: set[Place] = set()
        self.dead_lettered: set[Place] = set()

    @staticmethod
    def place(record: ConsumerRecord[Any, Any]) -> Place:
        return record.partition, record.offset

    def remember(self, places: set[Place], record: ConsumerRecord[Any, Any]) -> None:
        if len(places) >= self.REMEMBERED:
            places.clear()
        places.add(self.place(record))


class _Batch(Generic[MessageT]):
    """The records of one poll, parsed, and how they are handled."""

    def __init__(
        self,
        broker: KafkaBroker,
        topic: str,
        group_id: str,
        handle: BatchHandler[MessageT],
        memory: _Memory,
    ) -> None:
        self.broker = broker
        self.topic = topic
        self.group_id = group_id
        self.handle = handle
        self.memory = memory
        self.taken: list[tuple[ConsumerRecord[Any, Any], Delivered[MessageT], _About]] = []

    async def take(self, record: ConsumerRecord[Any, Any], model: type[MessageT]) -> None:
        body: bytes = record.value or b""
        try:
            parsed = parse_wire_json(model, body)
        except ValidationError as exc:
            if self.memory.place(record) in self.memory.dead_lettered:
                return  # copied to the DLQ when this batch first came
            STAGE_MESSAGES.labels(self.group_id, self.topic, "", "dead_lettered").inc()
            reason = f"not a valid {model.__name__}: {exc}"
            # In the record's own trace, as its handling would have been; not the batch's.
            with continued(_traceparent_of(record)):
                await dead_letter_record(self.broker, self.topic, record, body, reason)
            self.memory.remember(self.memory.dead_lettered, record)
            return
        about = _About.of(parsed)
        if about.recorded_at is not None:
            delay = (utcnow() - about.recorded_at).total_seconds()
            STAGE_QUEUE_DELAY.labels(self.group_id, about.country).observe(max(delay, 0.0))
        delivered = Delivered(parsed, self.topic, _traceparent_of(record))
        self.taken.append((record, delivered, about))

    async def run(self) -> None:
        if not self.taken:
            return
        if len(self.taken) == 1:
            await self._one_by_one()  # a batch of one is handled as one, its faults as one's
            return
        if any(self.memory.place(record) in self.memory.failing for record, _, _ in self.taken):
            await self._one_by_one()  # it failed before: whole, it would fail again
            return
        started = time.monotonic()
        try:
            await self.handle([delivered for _, delivered, _ in self.taken])
        except Exception:  # noqa: BLE001 - any fault: the messages are tried one by one
            # Which message failed is not known: each again on its own, in order, so only a
            # poison one is dead-lettered (what the batch wrote, the handler's idempotence
            # finds again).
            log.info("a batch of %d from %s failed; one by one", len(self.taken), self.topic)
            await self._one_by_one()
            return
        self._count(self.taken, "processed", started)

    async def _one_by_one(self) -> None:
        for record, delivered, about in self.taken:
            started = time.monotonic()
            try:
                await self.handle([delivered])
            except PoisonMessageError as exc:
                if self.memory.place(record) in self.memory.dead_lettered:
                    continue  # copied to the DLQ when this batch first came
                self._count([(record, delivered, about)], "dead_lettered", started)
                body: bytes = record.value or b""
                with continued(delivered.traceparent):
                    await dead_letter_record(self.broker, self.topic, record, body, str(exc))
                self.memory.remember(self.memory.dead_lettered, record)
                continue
            except Exception:
                self._count([(record, delivered, about)], "failed", started)
                with delivered.handling():
                    log.exception("handling a message from %s failed; will retry", self.topic)
                self.memory.remember(self.memory.failing, record)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
                raise  # not acknowledged: the batch comes again from its first record
            self.memory.failing.discard(self.memory.place(record))
            self._count([(record, delivered, about)], "processed", started)

    def _count(
        self,
        handled: Sequence[tuple[ConsumerRecord[Any, Any], Delivered[MessageT], _About]],
        outcome: str,
        started: float,
    ) -> None:
        # Each message of a batch took the batch's time.
        took = time.monotonic() - started
        for _, _, about in handled:
            STAGE_MESSAGES.labels(self.group_id, self.topic, about.country, outcome).inc()
            STAGE_DURATION.labels(self.group_id, about.country).observe(took)


def _traceparent_of(record: ConsumerRecord[Any, Any]) -> str | None:
    for name, value in record.headers or ():
        if name == TRACEPARENT_HEADER and value:
            text: str = value.decode("ascii", "replace")
            return text
    return None

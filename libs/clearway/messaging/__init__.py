"""Kafka plumbing shared by every service: the broker, at-least-once consumers, the outbox relay.

FastStream's default ack policy commits the offset before the handler runs (at most once); here
every consumer commits only after its handler succeeded (NACK_ON_ERROR: a failure seeks back and
the message comes again), and a message that can never succeed goes to `<topic>.dlq`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypedDict, TypeVar

import asyncpg
from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.subscriber.usecase import ConcurrentBetweenPartitionsSubscriber
from opentelemetry import trace
from pydantic import BaseModel, ValidationError

from clearway.domain.ids import iso_millis, utcnow
from clearway.domain.wire import parse_wire_json
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import ALL_TOPICS, TOPIC_PARTITIONS, dlq_topic
from clearway.observability.logs import log_context
from clearway.observability.metrics import (
    DEAD_LETTERED,
    OUTBOX_PUBLISHED,
    STAGE_DURATION,
    STAGE_MESSAGES,
    STAGE_QUEUE_DELAY,
    registry,
)
from clearway.observability.tracing import continued
from clearway.store.outbox import take_batch

log = logging.getLogger(__name__)

MessageT = TypeVar("MessageT", bound=BaseModel)

# A failing handler (database down, government unreachable) is retried after this pause, so a
# transient fault does not spin the partition.
RETRY_PAUSE_SECONDS = 1.0


class PoisonMessageError(Exception):
    """The message can never be handled (it names no known invoice, say): dead-letter it."""


def build_broker(bootstrap: str, *, client_id: str) -> KafkaBroker:
    # No idempotent producer: the embedded broker (Tansu) lacks InitProducerId. Duplicates
    # that a retry may cause are absorbed by the consumers, which are idempotent.
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        enable_idempotence=False,
        acks="all",
        linger_ms=2,
        # FastStream logs every message at this level: keep it below what services print.
        log_level=logging.DEBUG,
        # Not under "faststream", which has its own plain-text handler: JSON lines like the rest.
        logger=logging.getLogger("clearway.broker"),
        # Trace context travels in the message headers; message figures go to /metrics.
        middlewares=(
            KafkaTelemetryMiddleware(),
            KafkaPrometheusMiddleware(registry=registry(), app_name=client_id),
        ),
    )


async def dead_letter(broker: KafkaBroker, topic: str, message: KafkaMessage, reason: str) -> None:
    raw = message.raw_message
    record = raw[0] if isinstance(raw, tuple) else raw
    await dead_letter_record(broker, topic, record, message.body, reason)


async def dead_letter_record(
    broker: KafkaBroker, topic: str, record: ConsumerRecord[Any, Any], body: bytes, reason: str
) -> None:
    """Copy one record (of a batch, say) to `<topic>.dlq` with the reason."""
    payload = {
        "reason": reason,
        "topic": topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode("utf-8", "replace") if record.key else None,
        "body": body.decode("utf-8", "replace"),
        "deadLetteredAt": iso_millis(utcnow()),
    }
    await broker.publish(json.dumps(payload).encode(), dlq_topic(topic), key=record.key)
    DEAD_LETTERED.labels(topic).inc()
    log.warning("dead-lettered a message from %s: %s", topic, reason)


def subscribe_events(
    broker: KafkaBroker,
    topic: str,
    *,
    group_id: str,
    handle: Callable[[EventMessage], Awaitable[None]],
    concurrency: int = 4,
) -> None:
    """Consume EventMessages from `topic` in consumer group `group_id`, at least once.

    `concurrency` consumers share the group inside this process: partitions are handled in
    parallel, each partition (and so each invoice) still strictly in order.
    """
    subscribe_messages(
        broker,
        topic,
        group_id=group_id,
        model=EventMessage,
        handle=handle,
        concurrency=concurrency,
    )


# How every consumer group reads: from the earliest offset when the group is new, a message
# whose handler fails not acknowledged (so it comes again).
class _GroupOptions(TypedDict):
    auto_offset_reset: Literal["earliest"]
    ack_policy: AckPolicy
    heartbeat_interval_ms: int
    session_timeout_ms: int


GROUP_OPTIONS: _GroupOptions = {
    "auto_offset_reset": "earliest",
    "ack_policy": AckPolicy.NACK_ON_ERROR,
    # Short heartbeats: a group (re)joins in a couple of seconds, not the default ten.
    "heartbeat_interval_ms": 500,
    "session_timeout_ms": 10_000,
}


def group_subscriber(
    broker: KafkaBroker, topic: str, *, group_id: str, concurrency: int
) -> ConcurrentBetweenPartitionsSubscriber:
    """How every consumer group subscribes: from the earliest offset when the group is new, a
    message whose handler fails is not acknowledged (so it comes again), `concurrency`
    consumers in this process."""
    return broker.subscriber(topic, group_id=group_id, max_workers=concurrency, **GROUP_OPTIONS)


def subscribe_messages(  # noqa: PLR0913 - the subscription's parts, all named
    broker: KafkaBroker,
    topic: str,
    *,
    group_id: str,
    model: type[MessageT],
    handle: Callable[[MessageT], Awaitable[None]],
    concurrency: int = 4,
) -> None:
    """subscribe_events for any message shape: a body that is not a `model` is dead-lettered."""

    @group_subscriber(broker, topic, group_id=group_id, concurrency=concurrency)
    async def consume(message: KafkaMessage) -> None:
        try:
            parsed = parse_wire_json(model, message.body)
        except ValidationError as exc:
            STAGE_MESSAGES.labels(group_id, topic, "", "dead_lettered").inc()
            await dead_letter(broker, topic, message, f"not a valid {model.__name__}: {exc}")
            return
        about = _About.of(parsed)
        if about.recorded_at is not None:
            delay = (utcnow() - about.recorded_at).total_seconds()
            STAGE_QUEUE_DELAY.labels(group_id, about.country).observe(max(delay, 0.0))
        trace.get_current_span().set_attributes(about.span_attributes())
        started = time.monotonic()
        outcome = "processed"
        with log_context(invoice_id=about.invoice_id, account_id=about.account_id):
            try:
                await handle(parsed)
            except PoisonMessageError as exc:
                outcome = "dead_lettered"
                await dead_letter(broker, topic, message, str(exc))
            except Exception:
                outcome = "failed"
                log.exception("handling a message from %s failed; will retry", topic)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
                raise
            finally:
                STAGE_MESSAGES.labels(group_id, topic, about.country, outcome).inc()
                STAGE_DURATION.labels(group_id, about.country).observe(time.monotonic() - started)


class _About:
    """What a message says about itself for logs, spans and figures; any field may be absent
    (connection events name no invoice, intake messages no event time)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.invoice_id: str | None = _text(fields.get("invoiceId"))
        self.account_id: str | None = _text(fields.get("accountId"))
        self.country: str = _text(fields.get("country") or fields.get("countryCode")) or ""
        created = _text(fields.get("createdAt"))
        try:
            self.recorded_at = dt.datetime.fromisoformat(created) if created else None
        except ValueError:
            self.recorded_at = None

    @classmethod
    def of(cls, message: BaseModel) -> _About:
        return cls(message.model_dump())  # by the wire names, whichever the model

    def span_attributes(self) -> dict[str, str]:
        named = {
            "clearway.invoice_id": self.invoice_id,
            "clearway.account_id": self.account_id,
            "clearway.country": self.country,
        }
        return {key: value for key, value in named.items() if value}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class OutboxRelay:
    """Publishes committed outbox rows to Kafka, then deletes them.

    Rows are claimed with SKIP LOCKED, so every process can run a relay; each wakes its own
    relay right after committing, and all of them sweep periodically for rows a crashed
    process left behind. A crash after publishing but before deleting re-publishes the rows:
    at least once, which the idempotent consumers turn into exactly-once effect.
    """

    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        broker: KafkaBroker,
        *,
        batch_size: int = 500,
        sweep_interval: float = 0.5,
    ) -> None:
        self._pool = pool
        self._broker = broker
        self._batch_size = batch_size
        self._sweep_interval = sweep_interval
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                while await self.drain_once() == self._batch_size:
                    pass
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._sweep_interval)
            self._wakeup.clear()

    async def drain_once(self) -> int:
        """Publish one batch; returns how many rows it published."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await take_batch(conn, self._batch_size)
            if not rows:
                return 0
            pending = []
            for row in rows:
                # Published as part of the trace of the span that recorded it.
                with continued(row.traceparent):
                    pending.append(
                        await self._broker.publish(
                            json.dumps(row.payload).encode(),
                            row.topic,
                            key=row.key.encode(),
                            no_confirm=True,
                        )
                    )
            # The rows are deleted only if every message was acknowledged by the broker.
            await asyncio.gather(*pending)
            OUTBOX_PUBLISHED.inc(len(rows))
            return len(rows)


async def create_topics(bootstrap: str) -> None:
    """Every topic Clearway uses, created where missing (existing ones are left as they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, TOPIC_PARTITIONS, 1) for t in ALL_TOPICS if t not in existing]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()

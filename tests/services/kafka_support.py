"""What the tests do on Kafka directly: put messages on a topic, and read a topic from its start
until the messages a test waits for have all come."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from clearway.messaging.topics import dlq_topic

Headers = list[tuple[str, bytes]]
# Which group a message belongs to, from its key and its JSON body; None: not one of ours.
GroupOf = Callable[[bytes | None, dict[str, Any]], str | None]


async def create_topic_with_dlq(bootstrap: str, name: str, partitions: int) -> None:
    """A test's own topic and its dead-letter topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, partitions, 1), NewTopic(dlq_topic(name), partitions, 1)]
        )
    finally:
        await admin.close()


async def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[str, bytes, Headers]],
    *,
    partition: int | None = None,
) -> None:
    """Sends each (key, value, headers) in turn, each acknowledged before the next."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for key, value, headers in messages:
            await producer.send_and_wait(
                topic, value, key=key.encode(), headers=headers, partition=partition
            )
    finally:
        await producer.stop()


async def read_from_start(
    bootstrap: str,
    topic: str,
    *,
    keep: Callable[[ConsumerRecord[Any, Any]], bool],
    enough: Callable[[list[ConsumerRecord[Any, Any]]], bool],
    timeout: float,
) -> list[ConsumerRecord[Any, Any]]:
    """The records of `topic` that `keep` takes, in order, once `enough` says they are (or the
    timeout passed)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[ConsumerRecord[Any, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while not enough(found) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                found += [record for record in records if keep(record)]
    finally:
        await consumer.stop()
    return found


async def read_json_from_start(
    bootstrap: str,
    topic: str,
    count: int,
    *,
    keep: Callable[[ConsumerRecord[Any, Any]], bool] = lambda _: True,
    timeout: float = 20,
) -> list[Any]:
    """The JSON bodies of `topic` that `keep` takes, in order, once `count` have come (and
    whatever else came with them), or what came by the timeout."""
    records = await read_from_start(
        bootstrap, topic, keep=keep, enough=lambda found: len(found) >= count, timeout=timeout
    )
    return [json.loads(record.value) for record in records]


async def read_grouped(
    bootstrap: str, topic: str, wanted: set[str], group_of: GroupOf, *, timeout: float
) -> dict[str, list[dict[str, Any]]]:
    """The JSON messages of `topic` by group, once every wanted group was seen (or the timeout
    passed)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + timeout
    try:
        while not wanted <= set(found) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    body = json.loads(record.value)
                    group = group_of(record.key, body)
                    if group is not None:
                        found.setdefault(group, []).append(body)
    finally:
        await consumer.stop()
    return found


async def read_until(
    bootstrap: str, topic: str, wanted: set[str], field: str, timeout: float = 60
) -> dict[str, list[dict[str, Any]]]:
    """Messages of `topic` whose `field` is in `wanted`, grouped by it."""

    def by_field(_: bytes | None, body: dict[str, Any]) -> str | None:
        value: str | None = body.get(field)
        return value if value in wanted else None

    return await read_grouped(bootstrap, topic, wanted, by_field, timeout=timeout)

"""Where messages pile up: consumer lag per partition, and what the dead-letter topics hold.

Lag is read as each process's own consumers see it.

aiokafka tracks, per assigned partition, the high watermark from the last fetch and the
consumer's position; their difference is what the group has yet to handle there. Read from
the consumers this process already runs: no extra requests to the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from clearway.messaging.topics import DLQ_TOPICS
from clearway.observability.metrics import CONSUMER_LAG, DLQ_DEPTH

log = logging.getLogger(__name__)

LAG_EVERY_SECONDS = 5.0
DLQ_EVERY_SECONDS = 15.0


def _consumers(subscriber: Any) -> list[Any]:
    group = getattr(subscriber, "consumer_subgroup", None) or []
    single = getattr(subscriber, "consumer", None)
    return [*group, *([single] if single is not None and single not in group else [])]


async def record_consumer_lag(broker: KafkaBroker) -> None:
    """Set the lag gauge for every partition assigned to this process now."""
    for subscriber in broker.subscribers:
        group = getattr(subscriber, "group_id", None) or ""
        for consumer in _consumers(subscriber):
            for partition in consumer.assignment():
                highwater = consumer.highwater(partition)
                if highwater is None:  # nothing fetched yet
                    continue
                # A partition moved to another member meanwhile: skip it this round.
                with contextlib.suppress(Exception):
                    position = await asyncio.wait_for(consumer.position(partition), 1.0)
                    CONSUMER_LAG.labels(group, partition.topic, str(partition.partition)).set(
                        max(highwater - position, 0)
                    )


async def track_consumer_lag(broker: KafkaBroker) -> None:
    while True:
        try:
            await record_consumer_lag(broker)
        except Exception:
            log.exception("reading consumer lag failed")
        await asyncio.sleep(LAG_EVERY_SECONDS)


async def record_dlq_depth(consumer: AIOKafkaConsumer) -> None:
    """Messages each dead-letter topic holds: end minus beginning offsets, all partitions."""
    for topic in DLQ_TOPICS:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            DLQ_DEPTH.labels(topic).set(0)
            continue
        beginnings = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        DLQ_DEPTH.labels(topic).set(sum(ends[p] - beginnings[p] for p in partitions))


async def track_dlq_depth(bootstrap: str) -> None:
    """One process (the redriver) watches the dead-letter topics for the whole fleet."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        while True:
            try:
                await consumer.topics()  # refresh metadata: a broker restart made them anew
                await record_dlq_depth(consumer)
            except Exception:
                log.exception("reading dead-letter topic depth failed")
            await asyncio.sleep(DLQ_EVERY_SECONDS)
    finally:
        await consumer.stop()

"""A message delivered twice to a running service adds no second event."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from clearway.messaging.topics import INVOICE_CREATED

from services.stack.stack import Stack
from tests.conftest import WaitFinal

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _committed(bootstrap: str, group: str, partition: TopicPartition) -> int:
    # A consumer in the group that never subscribes: it reads the group's committed offsets
    # without joining (and so without disturbing) the group.
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        offset = await reader.committed(partition)
    finally:
        await reader.stop()
    return -1 if offset is None else offset


async def test_invoice_created_delivered_again_adds_no_event(
    stack: Stack,
    api: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    seed_invoice: dict[str, Any],
    wait_final: WaitFinal,
) -> None:
    created = (await api.post("/v1/invoices", json=seed_invoice)).json()["data"]
    await wait_final(created["id"])
    events_before = (await api.get(f"/v1/invoices/{created['id']}/events")).json()["data"]

    # Re-publish the original invoice.created message, as a broker redelivery would.
    async with db.acquire() as conn:
        first = await conn.fetchrow(
            "SELECT id, created_at FROM events WHERE stream_id = $1 AND version = 1", created["id"]
        )
    message = {
        "invoiceId": created["id"],
        "accountId": stack.account_id,
        "country": "RO",
        "livemode": False,
        "eventId": first["id"],
        "version": 1,
        "event": "invoice.created",
        "status": "created",
        "metadata": None,
        "createdAt": events_before[0]["createdAt"],
    }
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        record = await producer.send_and_wait(
            INVOICE_CREATED, json.dumps(message).encode(), key=created["id"].encode()
        )
    finally:
        await producer.stop()

    # The validator commits past the duplicate only after handling it.
    partition = TopicPartition(INVOICE_CREATED, record.partition)
    deadline = time.monotonic() + 30
    while await _committed(stack.kafka_bootstrap, "validator", partition) <= record.offset:
        assert time.monotonic() < deadline, "the validator did not handle the redelivered message"
        await asyncio.sleep(0.2)

    events_after = (await api.get(f"/v1/invoices/{created['id']}/events")).json()["data"]
    assert events_after == events_before
    assert (await api.get(f"/v1/invoices/{created['id']}")).json()["data"]["status"] == "accepted"

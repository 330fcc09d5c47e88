"""Hostile input gets a clear 4xx or a recorded error; nothing crashes, nothing is half-written;
a malformed message on any work topic goes to that topic's DLQ and does not block it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from clearway.governments.ro.client import (
    AnafProtocolError,
    parse_status_response,
    parse_upload_response,
)
from clearway.messaging.topics import (
    INVOICE_CREATED,
    INVOICE_SUBMITTED,
    INVOICE_VALIDATED,
    dlq_topic,
    submit_topic,
)

from services.stack.stack import Stack
from tests.conftest import MakeAccount, WaitFinal

# `stack` comes with the `stack` fixture (tests/conftest.py): the tests here that start no
# stack run beside the whole-stack ones in `make test`.
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

XXE = (
    b'<?xml version="1.0"?><!DOCTYPE h [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" ExecutionStatus="0" '
    b'index_incarcare="&x;"/>'
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    b'<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="&d;"/>'
)


def test_government_answers_with_entities_are_refused_not_expanded() -> None:
    with pytest.raises(AnafProtocolError, match="entity"):
        parse_upload_response(XXE)
    with pytest.raises(AnafProtocolError):
        parse_status_response(LAUGHS)


async def _invoice_count(db: asyncpg.Pool[Any]) -> int:
    return int(await db.fetchval("SELECT count(*) FROM invoices"))


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("oversized", b'{"note": "' + b"x" * (9 * 1024 * 1024) + b'"}'),
        ("deeply nested", b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("invalid UTF-8", b'{"country": "RO", "externalId": "\xff\xfe"}'),
        (
            "huge number",
            b'{"lines": [{"description": "x", "unitPrice": 1e400, "vatRate": 19}]}',
        ),
        (
            "NaN",
            b'{"country": "RO", "lines": [{"description": "x", "unitPrice": NaN, "vatRate": 19}]}',
        ),
    ],
)
async def test_hostile_bodies_are_a_400_and_write_nothing(
    make_api_account: MakeAccount, api_db: asyncpg.Pool[Any], name: str, body: bytes
) -> None:
    # Only intake answers: the API-only stack, and the count is of its own database (not the
    # chaos stack's, which tests/chaos/conftest.py names `db`).
    _, api = await make_api_account()
    before = await _invoice_count(api_db)
    response = await api.post(
        "/v1/invoices", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, (name, response.status_code, response.text[:300])
    assert response.json()["error"]["type"] == "validation_error"
    assert await _invoice_count(api_db) == before


async def _dlq_reasons(stack: Stack, topic: str, marker: str, timeout: float = 30) -> list[str]:
    consumer = AIOKafkaConsumer(
        dlq_topic(topic),
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            reasons = [
                json.loads(r.value)["reason"]
                for records in batch.values()
                for r in records
                if marker in json.loads(r.value).get("body", "")
            ]
            if reasons:
                return reasons
    finally:
        await consumer.stop()
    return []


@pytest.mark.parametrize(
    "topic", [INVOICE_CREATED, INVOICE_VALIDATED, submit_topic("RO"), INVOICE_SUBMITTED]
)
async def test_a_malformed_message_goes_to_the_dlq_and_the_partition_moves_on(
    stack: Stack,
    api: httpx.AsyncClient,
    seed_invoice: dict[str, Any],
    wait_final: WaitFinal,
    topic: str,
) -> None:
    marker = f"poison-{topic}-{time.monotonic_ns()}"
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for partition in range(4):  # every partition gets one, so every consumer meets one
            await producer.send_and_wait(
                topic,
                f'{{"not": "an event", "marker": "{marker}"}}'.encode(),
                key=b"x",
                partition=partition,
            )
    finally:
        await producer.stop()
    reasons = await _dlq_reasons(stack, topic, marker)
    assert reasons, f"nothing reached {dlq_topic(topic)}"
    assert all("not a valid EventMessage" in r for r in reasons)
    # The partitions are not blocked: a new invoice still goes all the way.
    created = (await api.post("/v1/invoices", json=seed_invoice)).json()["data"]
    assert (await wait_final(created["id"]))["status"] == "accepted"


async def test_a_message_for_an_unknown_invoice_is_dead_lettered(stack: Stack) -> None:
    marker = f"inv_{time.monotonic_ns():024x}"[:28]
    message = {
        "invoiceId": marker,
        "accountId": "acct_nobody",
        "country": "RO",
        "livemode": False,
        "eventId": "evt_x",
        "version": 1,
        "event": "invoice.created",
        "status": "created",
        "metadata": None,
        "createdAt": "2026-01-01T00:00:00.000Z",
    }
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(
            INVOICE_CREATED, json.dumps(message).encode(), key=marker.encode()
        )
    finally:
        await producer.stop()
    reasons = await _dlq_reasons(stack, INVOICE_CREATED, marker)
    assert reasons
    assert "no invoice" in reasons[0]
    await asyncio.sleep(0)

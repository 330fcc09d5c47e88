"""The Kafka intake's consumer (services/intake/kafka_intake.py) without the stack: a message on
`invoices.intake`, through FastStream's in-memory broker, becomes an invoice and its
`invoice.created` in the outbox (real PostgreSQL, store_db); one idempotency key (a keyless
record: its place in the log) makes one invoice however often it comes; a message that cannot
be taken is answered on `invoice.events` with the reason and copied to the DLQ, and writes
nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import ConsumerRecord
from clearway.accounts import create_api_key
from clearway.accounts.connections import open_connection
from clearway.domain.lifecycle import EventType
from clearway.messaging.topics import INVOICE_EVENTS, INVOICES_INTAKE, dlq_topic, topics_for_event
from clearway.runtime import ServiceContext
from faststream.kafka import TestKafkaBroker

from services.intake.kafka_intake import idempotency_key_of, register_intake_topic
from tests.libs.validation.bodies import clean_body
from tests.services.handlers_support import (
    Sent,
    events_of,
    handler_context,
    new_supplier,
    outbox_of,
    record_published,
    wakes,
)

pytestmark = [pytest.mark.postgres]

DLQ = dlq_topic(INVOICES_INTAKE)


@dataclass
class Intake:
    context: ServiceContext
    account_id: str
    api_key: str
    published: dict[str, list[Sent]]  # invoice.events and the DLQ, as the consumer sent them

    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}

    async def send(
        self, key: str | None, body: bytes, headers: dict[str, str], timestamp_ms: int | None = None
    ) -> None:
        async with TestKafkaBroker(self.context.broker) as broker:
            await broker.publish(
                body,
                INVOICES_INTAKE,
                key=key.encode() if key else None,
                headers=headers,
                timestamp_ms=timestamp_ms,
            )

    async def invoices(self) -> list[asyncpg.Record]:
        return list(
            await self.context.pool.fetch(
                "SELECT id, external_id, status, company_id, sandbox_scenario FROM invoices "
                "WHERE account_id = $1 ORDER BY created_at",
                self.account_id,
            )
        )


@pytest_asyncio.fixture
async def intake(store_db: asyncpg.Pool[Any], seed_invoice: dict[str, Any]) -> Intake:
    """The intake's consumer for a new account whose company (the seed's supplier) has an RO
    connection, as the service registers it; its sandbox key."""
    supplier = await new_supplier(store_db, seed_invoice, "kafka intake")
    async with store_db.acquire() as conn:
        await open_connection(conn, supplier.account_id, supplier.company_id, "RO")
        api_key = await create_api_key(conn, supplier.account_id, "test")
    context = handler_context("intake", store_db)
    register_intake_topic(context.broker, context.pool, context.relay)
    published = record_published(context.broker, INVOICE_EVENTS, DLQ)
    return Intake(context, supplier.account_id, api_key, published)


def _invoice(seed_invoice: dict[str, Any], external_id: str) -> bytes:
    return json.dumps({**seed_invoice, "externalId": external_id}).encode()


async def test_a_message_becomes_an_invoice_and_its_created_event_once(
    intake: Intake, seed_invoice: dict[str, Any]
) -> None:
    body = _invoice(seed_invoice, "k-good")
    await intake.send("k-good", body, intake.bearer())
    # Redelivered: without an idempotency-key header the message key is the idempotency key.
    await intake.send("k-good", body, intake.bearer())

    [invoice] = await intake.invoices()
    assert (invoice["external_id"], invoice["status"]) == ("k-good", "created")
    assert invoice["company_id"] is not None  # filed under the supplier's company
    [created] = await events_of(intake.context.pool, invoice["id"])
    assert (created.type, created.version) == (EventType.CREATED, 1)
    outbox = await outbox_of(intake.context.pool, invoice["id"])
    assert [topic for topic, _ in outbox] == topics_for_event(EventType.CREATED)
    assert all(payload["eventId"] == created.id for _, payload in outbox)
    assert wakes(intake.context) >= 1  # the relay publishes the outbox at once
    assert intake.published == {INVOICE_EVENTS: [], DLQ: []}


async def test_a_keyless_record_delivered_again_makes_one_invoice(
    intake: Intake, seed_invoice: dict[str, Any]
) -> None:
    # The in-memory broker gives every record partition 0, offset 0; with the same timestamp
    # the second delivery is the same record again, as after a crash before its offset was
    # committed.
    body = _invoice(seed_invoice, "k-keyless")
    await intake.send(None, body, intake.bearer(), timestamp_ms=1_764_806_400_000)
    await intake.send(None, body, intake.bearer(), timestamp_ms=1_764_806_400_000)

    [invoice] = await intake.invoices()
    assert invoice["external_id"] == "k-keyless"
    assert [e.type for e in await events_of(intake.context.pool, invoice["id"])] == [
        EventType.CREATED
    ]
    assert intake.published == {INVOICE_EVENTS: [], DLQ: []}


Record = ConsumerRecord[bytes, bytes]


def _record(key: bytes | None, offset: int, timestamp: int = 1_764_806_400_000) -> Record:
    return ConsumerRecord(
        topic=INVOICES_INTAKE,
        partition=2,
        offset=offset,
        timestamp=timestamp,
        timestamp_type=0,
        key=key,
        value=b"{}",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=2,
        headers=(),
    )


def test_the_idempotency_key_is_the_header_else_the_message_key_else_the_record() -> None:
    header = {"idempotency-key": "order-1"}
    assert idempotency_key_of(header, _record(b"ext-1", 7)) == "order-1"
    assert idempotency_key_of({}, _record(b"ext-1", 7)) == "kafka-key:ext-1"
    keyless = idempotency_key_of({}, _record(None, 7))
    assert keyless == f"kafka-record:{INVOICES_INTAKE}:2:7:1764806400000"
    # Another record (another offset) is another invoice; the same record again is the same.
    assert idempotency_key_of({}, _record(None, 8)) != keyless
    assert idempotency_key_of({}, _record(None, 7)) == keyless
    # A topic made again numbers its offsets from 0: a later record at an old place is new.
    assert idempotency_key_of({}, _record(None, 7, timestamp=1_767_225_600_000)) != keyless


async def test_one_idempotency_key_in_any_casing_makes_one_invoice(
    intake: Intake, seed_invoice: dict[str, Any]
) -> None:
    body = _invoice(seed_invoice, "k-twice")
    # Three message keys (the fallback idempotency key), one Idempotency-Key in three casings,
    # the sandbox scenario header in another casing still.
    for n, name in enumerate(("Idempotency-Key", "IDEMPOTENCY-KEY", "idempotency-key")):
        headers = {
            "Authorization": f"Bearer {intake.api_key}",
            name: "order-1",
            "X-CLEARWAY-SANDBOX-SCENARIO": "transient_error",
        }
        await intake.send(f"k-twice-message-{n}", body, headers)

    [invoice] = await intake.invoices()
    assert (invoice["external_id"], invoice["sandbox_scenario"]) == ("k-twice", "transient_error")
    assert intake.published == {INVOICE_EVENTS: [], DLQ: []}


@pytest.mark.parametrize(
    ("authorization", "scenario"),
    [
        ("authorization", "x-clearway-sandbox-scenario"),
        ("Authorization", "X-Clearway-Sandbox-Scenario"),
        ("AUTHORIZATION", "X-CLEARWAY-SANDBOX-SCENARIO"),
    ],
)
async def test_the_documented_headers_are_read_in_any_case(
    intake: Intake, seed_invoice: dict[str, Any], authorization: str, scenario: str
) -> None:
    headers = {authorization: f"Bearer {intake.api_key}", scenario: "transient_error"}
    await intake.send("k-cased", _invoice(seed_invoice, "k-cased"), headers)

    [invoice] = await intake.invoices()
    assert (invoice["external_id"], invoice["sandbox_scenario"]) == ("k-cased", "transient_error")


REFUSALS: dict[str, tuple[bytes | None, dict[str, str] | None, str]] = {
    # message key: (body, None for the seed's; headers, None for the account's key; error type)
    "k-notjson": (b"{this is not json", None, "validation_error"),
    "k-badkey": (None, {"authorization": "Bearer sk_test_nope"}, "authentication_error"),
    "k-nokey": (None, {}, "authentication_error"),
    "k-schema": (
        json.dumps({"country": "XX", "externalId": "k-schema"}).encode(),
        None,
        "validation_error",
    ),
    # Nothing could file it: the account has no French company.
    "k-nocompany": (
        json.dumps({**clean_body("FR"), "externalId": "k-nocompany"}).encode(),
        None,
        "validation_error",
    ),
}


async def _refused(intake: Intake, message_key: str, sent: bytes) -> dict[str, Any]:
    """The one answer on invoice.events and the one DLQ entry for a message that was refused,
    and nothing written; the error they carry."""
    [answer] = intake.published[INVOICE_EVENTS]
    assert answer.key == message_key
    assert answer.body["externalId"] == message_key  # the body's, else the message key
    assert (answer.body["invoiceId"], answer.body["event"], answer.body["status"]) == (
        None,
        "invoice.error",
        "error",
    )
    assert answer.body["metadata"]["stage"] == "intake"
    error: dict[str, Any] = answer.body["metadata"]["error"]
    [dead] = intake.published[DLQ]
    assert dead.key == message_key
    assert (dead.body["topic"], dead.body["key"]) == (INVOICES_INTAKE, message_key)
    assert dead.body["body"] == sent.decode("utf-8", "replace")
    assert dead.body["reason"] == f"{error['type']}: {error['message']}"
    assert await intake.invoices() == []
    assert wakes(intake.context) == 0
    return error


@pytest.mark.parametrize("message_key", list(REFUSALS))
async def test_a_message_that_cannot_be_taken_is_answered_and_dead_lettered(
    intake: Intake, seed_invoice: dict[str, Any], message_key: str
) -> None:
    body, headers, error_type = REFUSALS[message_key]
    sent = body if body is not None else _invoice(seed_invoice, message_key)
    await intake.send(message_key, sent, intake.bearer() if headers is None else headers)

    error = await _refused(intake, message_key, sent)
    assert error["type"] == error_type
    if message_key == "k-schema":
        params = {e["param"] for e in error["errors"]}
        assert {"/country", "/supplier", "/customer", "/lines"} <= params
    if message_key == "k-nocompany":
        assert error["param"] == "/companyId"


@pytest.mark.parametrize(
    ("sent", "accepted"),
    [
        ("idempotency_key", "idempotency-key"),
        ("Idempotency Key", "idempotency-key"),
        ("idempotencykey", "idempotency-key"),
        ("X_Clearway_Sandbox_Scenario", "X-Clearway-Sandbox-Scenario"),
    ],
)
async def test_a_lookalike_header_is_refused_naming_the_accepted_spelling(
    intake: Intake, seed_invoice: dict[str, Any], sent: str, accepted: str
) -> None:
    # Ignored, a misspelt idempotency key would be lost and a redelivery filed twice.
    body = _invoice(seed_invoice, "k-lookalike")
    await intake.send("k-lookalike", body, {**intake.bearer(), sent: "reject"})

    error = await _refused(intake, "k-lookalike", body)
    assert error["type"] == "validation_error"
    assert f"'{sent}'" in error["message"]
    assert f"'{accepted}'" in error["message"]
    [dead] = intake.published[DLQ]
    assert sent in dead.body["reason"]

"""The Kafka ingress for high-volume platforms: `invoices.intake`.

A message is the POST /v1/invoices body; headers `authorization` (the API key, as in REST),
`idempotency-key` and `X-Clearway-Sandbox-Scenario` (sk_test_ keys); key = the platform's
externalId. It gets the same checks, idempotency and
quota as REST. Without an idempotency-key header, the message key is the idempotency key, so
a redelivered message never creates a second invoice.

A message that cannot be accepted is answered on `invoice.events` (keyed by the message key,
carrying the externalId and the reasons) and copied to `invoices.intake.dlq`; the partition
moves on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.sandbox import SANDBOX_SCENARIO_HEADER
from clearway.messaging import OutboxRelay, dead_letter
from clearway.messaging.topics import INVOICE_EVENTS, INVOICES_INTAKE
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.intake.auth import api_key_from, key_owner_from_pool
from services.intake.errors import ApiError
from services.intake.invoices import accept_invoice

GROUP_ID = "intake"
log = logging.getLogger(__name__)


def _header(message: KafkaMessage, name: str) -> str | None:
    value = message.headers.get(name)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _external_id_of(raw: bytes) -> str | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    value = body.get("externalId") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def register_intake_topic(broker: KafkaBroker, pool: Any, relay: OutboxRelay) -> None:
    @broker.subscriber(
        INVOICES_INTAKE,
        group_id=GROUP_ID,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        heartbeat_interval_ms=500,
        session_timeout_ms=10_000,
        max_workers=4,
    )
    async def take_invoice_from_topic(message: KafkaMessage) -> None:
        raw_key = message.raw_message
        record = raw_key[0] if isinstance(raw_key, tuple) else raw_key
        message_key = record.key.decode("utf-8", "replace") if record.key else None
        try:
            owner = await key_owner_from_pool(pool, api_key_from(_header(message, "authorization")))
            idempotency_key = _header(message, "idempotency-key") or (
                f"kafka-key:{message_key}" if message_key else None
            )
            scenario = _header(message, SANDBOX_SCENARIO_HEADER) or _header(
                message, SANDBOX_SCENARIO_HEADER.lower()
            )
            await accept_invoice(
                pool, owner, message.body, idempotency_key, sandbox_scenario=scenario
            )
        except ApiError as error:
            await _answer_refusal(broker, message, message_key, error)
            return
        relay.wake()


async def _answer_refusal(
    broker: KafkaBroker, message: KafkaMessage, message_key: str | None, error: ApiError
) -> None:
    external_id = _external_id_of(message.body) or message_key
    refusal = {
        "invoiceId": None,
        "externalId": external_id,
        "eventId": new_id("evt"),
        "event": "invoice.error",
        "status": "error",
        "metadata": {"stage": "intake", **error.body()},
        "createdAt": iso_millis(utcnow()),
    }
    await broker.publish(
        json.dumps(refusal).encode(),
        INVOICE_EVENTS,
        key=(message_key or external_id or "").encode() or None,
    )
    await dead_letter(broker, INVOICES_INTAKE, message, f"{error.error_type}: {error.message}")

"""The Kafka ingress for high-volume platforms: `invoices.intake`.

A message is the POST /v1/invoices body; headers `authorization` (the API key, as in REST),
`idempotency-key` and `X-Clearway-Sandbox-Scenario` (sk_test_ keys), their names matched
case-insensitively as HTTP does; key = the platform's externalId. It gets the same checks,
idempotency and quota as REST. Without an idempotency-key header, the message key is the
idempotency key, and without a key the record's place in the log (topic, partition, offset,
and its timestamp), so
a redelivered message never creates a second invoice.

A message that cannot be accepted is answered on `invoice.events` (keyed by the message key,
carrying the externalId and the reasons) and copied to `invoices.intake.dlq`; the partition
moves on.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.sandbox import SANDBOX_SCENARIO_HEADER
from clearway.messaging import OutboxRelay, dead_letter, group_subscriber
from clearway.messaging.topics import INVOICE_EVENTS, INVOICES_INTAKE
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.intake.auth import api_key_from, key_owner_from_pool
from services.intake.errors import ApiError
from services.intake.invoices import accept_invoice

GROUP_ID = "intake"
log = logging.getLogger(__name__)


AUTHORIZATION_HEADER = "authorization"
IDEMPOTENCY_KEY_HEADER = "idempotency-key"
# Every header this topic reads, as documented; a name is matched case-insensitively.
INTAKE_HEADERS = (AUTHORIZATION_HEADER, IDEMPOTENCY_KEY_HEADER, SANDBOX_SCENARIO_HEADER)


def _letters_of(name: str) -> str:
    """A header name without case, separators or an `X-` prefix: what a misspelling keeps."""
    letters = re.sub(r"[^a-z0-9]", "", name.lower())
    return letters.removeprefix("x")


_LOOKALIKES = {_letters_of(name): name for name in INTAKE_HEADERS}


def intake_headers(raw: Sequence[tuple[str, bytes | None]]) -> dict[str, str]:
    """Our headers of a message, by their documented name (case-insensitive, as HTTP's).

    A header spelled like one of ours in another way (`idempotency_key`, `Idempotency Key`,
    `X-Idempotency-Key`) is refused rather than ignored: ignored, an idempotency key would be
    lost and a redelivered message filed twice. So is one of ours given twice."""
    found: dict[str, str] = {}
    for name, value in raw:
        known = next((h for h in INTAKE_HEADERS if h.lower() == name.lower()), None)
        if known is None:
            lookalike = _LOOKALIKES.get(_letters_of(name))
            if lookalike is not None:
                raise ApiError(
                    "validation_error",
                    f"Unknown header '{name}': the header is spelled '{lookalike}' (any case); "
                    "the message was not taken.",
                    param=f"/{name}",
                )
            continue  # another system's header (tracing, the platform's own): not ours to read
        if known in found:
            raise ApiError(
                "validation_error",
                f"The header '{known}' is given more than once (as '{name}' too); send it once.",
                param=f"/{known}",
            )
        found[known] = (value or b"").decode("utf-8", "replace")
    return found


def idempotency_key_of(headers: dict[str, str], record: ConsumerRecord[Any, Any]) -> str:
    """The header's idempotency key, else the message key's, else the record's place in the log:
    each the same every time the record is delivered again (after a crash or a rebalance, before
    its offset was committed), so the redelivery answers the invoice made the first time."""
    if key := headers.get(IDEMPOTENCY_KEY_HEADER):
        return key
    if record.key:
        return f"kafka-key:{record.key.decode('utf-8', 'replace')}"
    # The timestamp too: a topic made again (or another cluster) numbers its offsets from 0.
    return f"kafka-record:{record.topic}:{record.partition}:{record.offset}:{record.timestamp}"


def _external_id_of(raw: bytes) -> str | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    value = body.get("externalId") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def register_intake_topic(broker: KafkaBroker, pool: Any, relay: OutboxRelay) -> None:
    @group_subscriber(broker, INVOICES_INTAKE, group_id=GROUP_ID, concurrency=4)
    async def take_invoice_from_topic(message: KafkaMessage) -> None:
        raw_key = message.raw_message
        record = raw_key[0] if isinstance(raw_key, tuple) else raw_key
        message_key = record.key.decode("utf-8", "replace") if record.key else None
        try:
            headers = intake_headers(record.headers or ())
            owner = await key_owner_from_pool(pool, api_key_from(headers.get(AUTHORIZATION_HEADER)))
            idempotency_key = idempotency_key_of(headers, record)
            scenario = headers.get(SANDBOX_SCENARIO_HEADER)
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

"""The streaming path (docs/api.md#streaming-invoices-over-kafka): invoices produced to
`invoices.intake`, their outcomes read from `invoice.events`. Needs aiokafka
(`pip install 'clearway-client[kafka]'`); `intake_message` alone does not.

A message is the POST /v1/invoices body; its key is the invoice's externalId (so one
platform's invoice always lands on one partition, in order); headers `authorization`,
`idempotency-key` (without it the API takes the message key as the idempotency key) and
`X-Clearway-Sandbox-Scenario`. Every lifecycle event on `invoice.events` carries the externalId.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel

from clearway_client._core import json_default, to_body
from clearway_client.models import ApiModel

INTAKE_TOPIC = "invoices.intake"
EVENTS_TOPIC = "invoice.events"
FINAL_EVENTS = frozenset({"invoice.accepted", "invoice.rejected", "invoice.error"})


@dataclass(frozen=True)
class IntakeMessage:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


class StreamEvent(ApiModel):
    """One message of `invoice.events`."""

    event: str
    status: str | None = None
    invoice_id: str | None = None
    external_id: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: str | None = None


def intake_message(
    invoice: BaseModel | dict[str, Any],
    *,
    api_key: str,
    idempotency_key: str | None = None,
    sandbox_scenario: str | None = None,
) -> IntakeMessage:
    """The `invoices.intake` message for an invoice, as intake reads it."""
    body = to_body(invoice)
    if not isinstance(body, dict):
        raise TypeError("an invoice is a JSON object: a dict or an InvoiceRequest")
    external_id = body.get("externalId")
    headers = [("authorization", f"Bearer {api_key}".encode())]
    if idempotency_key:
        headers.append(("idempotency-key", idempotency_key.encode()))
    if sandbox_scenario:
        headers.append(("X-Clearway-Sandbox-Scenario", sandbox_scenario.encode()))
    return IntakeMessage(
        key=str(external_id).encode() if external_id else None,
        value=json.dumps(body, separators=(",", ":"), default=json_default).encode(),
        headers=headers,
    )


class InvoiceStream:
    """Produce invoices and read their outcomes: `async with InvoiceStream(bootstrap, key) as s:
    await s.send(invoice)`, then `async for event in s.events(external_ids=…)`. Outcomes are
    read from the moment the stream opened."""

    def __init__(self, bootstrap: str, api_key: str) -> None:
        try:
            from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - the extra not installed
            raise ImportError(
                "the streaming helper needs aiokafka: pip install 'clearway-client[kafka]'"
            ) from exc
        self.api_key = api_key
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        self._consumer = AIOKafkaConsumer(
            EVENTS_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="latest"
        )

    async def __aenter__(self) -> Self:
        # Reading starts first, from the end: the answers to what is sent from now on.
        await self._consumer.start()
        await self._consumer.seek_to_end()
        await self._producer.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._producer.stop()
        await self._consumer.stop()

    async def send(
        self,
        invoice: BaseModel | dict[str, Any],
        *,
        idempotency_key: str | None = None,
        sandbox_scenario: str | None = None,
    ) -> IntakeMessage:
        message = intake_message(
            invoice,
            api_key=self.api_key,
            idempotency_key=idempotency_key,
            sandbox_scenario=sandbox_scenario,
        )
        await self._producer.send_and_wait(
            INTAKE_TOPIC, message.value, key=message.key, headers=message.headers
        )
        return message

    async def events(
        self,
        *,
        external_ids: Collection[str] | None = None,
        until: Collection[str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Events of `invoice.events` (of `external_ids` when given), until each of those has
        had an event in `until` (when given), or `timeout` seconds passed."""
        waiting = set(external_ids or ())
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            batch = await self._consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = StreamEvent.model_validate(json.loads(record.value))
                    if external_ids is not None and event.external_id not in external_ids:
                        continue
                    yield event
                    if until is not None and event.event in until:
                        waiting.discard(event.external_id or "")
            if until is not None and external_ids is not None and not waiting:
                return
            await asyncio.sleep(0)

"""The events an endpoint can subscribe to, and the JSON body each one is sent as.

Every body has the Standard Webhooks shape `{"id", "type", "timestamp", "data"}`:

    {"id": "evt_…", "type": "invoice.accepted", "timestamp": "2025-01-15T10:00:15.000Z",
     "livemode": false,
     "data": {"invoiceId": "inv_…", "externalId": "order-12345", "country": "RO",
              "status": "accepted", "version": 4, "govId": "4523789012", "errors": [],
              "timestamp": "2025-01-15T10:00:15.000Z", "metadata": {"orderId": "12345"},
              "eventMetadata": {"govId": "4523789012", "govMessage": "…"}}}

`id` is the event's id (the same for every endpoint); the `webhook-id` header is per endpoint and
the receiver's idempotency key. `data.metadata` is the invoice's own metadata (the pairs the
client sent); `data.eventMetadata` is the event's, exactly as GET /v1/invoices/:id/events shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from clearway.domain.lifecycle import RECEIVED_EVENT, EventType
from clearway.messaging.envelope import EventMessage, ReceivedInvoiceMessage

WILDCARD = "*"
TEST_EVENT = "webhook.test"
ENDPOINT_DISABLED_EVENT = "webhook_endpoint.disabled"
CONNECTION_EVENTS = ("connection.active", "connection.expired")
# What `enabledEvents` may name; "*" is all of them. Internal steps are never sent.
SUBSCRIBABLE_EVENTS: tuple[str, ...] = (
    *(event.value for event in EventType),
    RECEIVED_EVENT,
    *CONNECTION_EVENTS,
    ENDPOINT_DISABLED_EVENT,
)


def subscribes_to(enabled_events: Iterable[str], event_type: str) -> bool:
    if event_type not in SUBSCRIBABLE_EVENTS:
        return False
    enabled = set(enabled_events)
    return WILDCARD in enabled or event_type in enabled


def encode_body(body: Mapping[str, Any]) -> str:
    """The exact text that is signed and sent (and kept, so every retry sends the same)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _body(
    event_id: str,
    event_type: str,
    timestamp: str,
    data: Mapping[str, Any],
    *,
    livemode: bool | None = None,
) -> dict[str, Any]:
    """The Standard Webhooks shape every body has: the event's id, type and time, its mode
    (None for a connection's events, which both modes hear of), and its data, which carries
    the time too (in its own place where `data` names it)."""
    body: dict[str, Any] = {"id": event_id, "type": event_type, "timestamp": timestamp}
    if livemode is not None:
        body["livemode"] = livemode
    body["data"] = {**data, "timestamp": timestamp}
    return body


def _errors(metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each error as an object with at least `message`: validation findings keep their rule,
    pointer and fix; a government's messages (plain strings) become `{"message": …}`."""
    found = metadata.get("errors") or []
    if not isinstance(found, list):
        return []
    return [dict(error) if isinstance(error, dict) else {"message": str(error)} for error in found]


def invoice_event_body(event: EventMessage, invoice_metadata: Mapping[str, str]) -> dict[str, Any]:
    metadata = event.metadata or {}
    return _body(
        event.event_id,
        event.event,
        event.created_at,
        {
            "invoiceId": event.invoice_id,
            "externalId": event.external_id,
            "country": event.country,
            "status": event.status.value,
            "version": event.version,
            "govId": metadata.get("govId"),
            "errors": _errors(metadata),
            "timestamp": event.created_at,
            "metadata": dict(invoice_metadata),
            "eventMetadata": event.metadata,
        },
        livemode=event.livemode,
    )


def received_invoice_body(event: ReceivedInvoiceMessage) -> dict[str, Any]:
    """`invoice.received`: a purchase invoice delivered to one of the account's companies; the
    invoice itself is GET /v1/received-invoices/:id (its document at /document)."""
    return _body(
        event.event_id,
        event.event,
        event.created_at,
        {
            "receivedInvoiceId": event.received_invoice_id,
            "companyId": event.company_id,
            "connectionId": event.connection_id,
            "country": event.country,
            "governmentId": event.government_id,
            "status": event.status,
            "supplierVat": event.supplier_vat,
            "customerVat": event.customer_vat,
            "currency": event.currency,
            "netAmount": event.net_amount,
            "vatAmount": event.vat_amount,
            "grossAmount": event.gross_amount,
            "findings": event.findings,
            "deliveredAt": event.delivered_at,
        },
        livemode=event.livemode,
    )


def connection_event_body(
    *, event_id: str, event_type: str, timestamp: str, connection: Mapping[str, Any]
) -> dict[str, Any]:
    return _body(event_id, event_type, timestamp, connection)


def webhook_test_body(
    *, event_id: str, endpoint_id: str, livemode: bool, timestamp: str
) -> dict[str, Any]:
    return _body(
        event_id,
        TEST_EVENT,
        timestamp,
        {
            "endpointId": endpoint_id,
            "message": "A test event from Clearway: your endpoint receives and verifies webhooks.",
        },
        livemode=livemode,
    )


def endpoint_disabled_body(  # noqa: PLR0913 - the fields of one notice
    *,
    event_id: str,
    endpoint_id: str,
    url: str,
    livemode: bool,
    reason: str,
    failing_since: str | None,
    timestamp: str,
) -> dict[str, Any]:
    return _body(
        event_id,
        ENDPOINT_DISABLED_EVENT,
        timestamp,
        {"endpointId": endpoint_id, "url": url, "reason": reason, "failingSince": failing_since},
        livemode=livemode,
    )

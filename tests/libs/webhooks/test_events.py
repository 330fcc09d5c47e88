"""The bodies webhooks carry, and the events an endpoint can subscribe to."""

from __future__ import annotations

import json
import typing

from clearway.domain.lifecycle import Status
from clearway.messaging.envelope import EventMessage, ReceivedInvoiceMessage
from clearway.webhooks.events import (
    SUBSCRIBABLE_EVENTS,
    WILDCARD,
    encode_body,
    invoice_event_body,
    received_invoice_body,
    subscribes_to,
)

from services.intake.webhooks import EnabledEvent


def _event(event: str, status: Status, metadata: dict[str, typing.Any] | None) -> EventMessage:
    return EventMessage(
        invoice_id="inv_1",
        account_id="acct_1",
        external_id="order-12345",
        country="RO",
        livemode=False,
        event_id="evt_1",
        version=4,
        event=event,
        status=status,
        metadata=metadata,
        created_at="2025-01-15T10:00:15.000Z",
    )


def test_the_api_names_exactly_the_subscribable_events() -> None:
    assert set(typing.get_args(EnabledEvent)) == {WILDCARD, *SUBSCRIBABLE_EVENTS}


def test_subscriptions() -> None:
    assert subscribes_to(["*"], "invoice.accepted")
    assert subscribes_to(["invoice.accepted"], "invoice.accepted")
    assert not subscribes_to(["invoice.rejected"], "invoice.accepted")
    # Internal steps are never sent, not even to "*".
    assert not subscribes_to(["*"], "invoice.converting")


def test_an_accepted_invoice_reads_as_the_seed_reads_it() -> None:
    body = invoice_event_body(
        _event("invoice.accepted", Status.ACCEPTED, {"govId": "4523789012", "govMessage": "ok"}),
        {"orderId": "12345"},
    )
    assert body["type"] == "invoice.accepted"
    assert body["id"] == "evt_1"
    assert body["timestamp"] == "2025-01-15T10:00:15.000Z"
    data = body["data"]
    assert data["externalId"] == "order-12345"
    assert data["govId"] == "4523789012"
    assert data["timestamp"] == "2025-01-15T10:00:15.000Z"
    assert data["errors"] == []
    assert data["status"] == "accepted"
    assert data["version"] == 4
    assert data["metadata"] == {"orderId": "12345"}
    assert data["eventMetadata"] == {"govId": "4523789012", "govMessage": "ok"}


def test_rejection_errors_are_objects_with_a_message() -> None:
    finding = {
        "rule": "BR-08",
        "severity": "error",
        "pointer": "/supplier/address",
        "message": "The supplier's postal address is required.",
        "fix": "Add supplier.address.",
    }
    validation = invoice_event_body(
        _event("invoice.rejected", Status.REJECTED, {"stage": "validation", "errors": [finding]}),
        {},
    )
    assert validation["data"]["errors"] == [finding]
    government = invoice_event_body(
        _event("invoice.rejected", Status.REJECTED, {"errors": ["E: CIF invalid"]}), {}
    )
    assert government["data"]["errors"] == [{"message": "E: CIF invalid"}]


def test_the_body_is_compact_utf8_json() -> None:
    text = encode_body({"a": "Bucureşti", "b": [1, 2]})
    assert text == '{"a":"Bucureşti","b":[1,2]}'
    assert json.loads(text) == {"a": "Bucureşti", "b": [1, 2]}


def test_a_received_invoice_names_itself_its_company_and_the_governments_id() -> None:
    event = ReceivedInvoiceMessage(
        event_id="evt_9",
        event="invoice.received",
        version=1,
        status="received",
        received_invoice_id="rinv_1",
        account_id="acct_1",
        company_id="comp_1",
        connection_id="conn_1",
        country="RO",
        livemode=False,
        government_id="3001474425",
        media_type="application/xml",
        supplier_vat=None,
        customer_vat=None,
        currency=None,
        net_amount=None,
        vat_amount=None,
        gross_amount=None,
        findings=[],
        delivered_at=None,
        created_at="2026-12-03T10:00:00.000Z",
    )
    body = received_invoice_body(event)
    assert (body["id"], body["type"], body["livemode"]) == ("evt_9", "invoice.received", False)
    assert subscribes_to(["*"], "invoice.received")
    data = body["data"]
    assert (data["receivedInvoiceId"], data["companyId"], data["governmentId"]) == (
        "rinv_1",
        "comp_1",
        "3001474425",
    )
    assert data["timestamp"] == "2026-12-03T10:00:00.000Z"

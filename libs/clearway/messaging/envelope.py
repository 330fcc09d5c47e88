"""The message every invoice topic carries: one lifecycle event and the invoice it belongs to."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from clearway.domain.lifecycle import Status
from clearway.domain.wire import WireModel


class EventMessage(WireModel):
    """Published on the stage topics and on `invoice.events` (the public stream).

    Consumers append their own transition at `version + 1` with `eventId` as its cause, which
    is what makes handling the same message twice harmless.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    invoice_id: str
    account_id: str
    external_id: str | None = None  # the platform's own reference, to correlate
    country: str
    livemode: bool
    event_id: str
    version: int
    event: str
    status: Status
    metadata: dict[str, Any] | None
    created_at: str


class ConnectionEventMessage(WireModel):
    """Published on `connection.events`, keyed by connection ID: `connection.active` (setup or
    re-authorization done), `connection.refreshed` (new tokens; the token-refresher),
    `connection.expired` (a refresh failed: the user must authorize again). Never a secret."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    event: str
    connection_id: str
    account_id: str
    company_id: str
    country_code: str
    status: str
    token_expires_at: str | None
    last_error_message: str | None
    created_at: str


class ReceivedInvoiceMessage(WireModel):
    """Published on `invoices.received`, keyed by received-invoice ID: `invoice.received`, a
    purchase invoice a government delivered to one of the account's companies, and the later
    events of its stream (the buyer's response: `invoice.response_requested`, `_sent`,
    `_failed`). The document itself is not carried: GET /v1/received-invoices/:id/document
    serves it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    event: str
    version: int
    status: str
    received_invoice_id: str
    account_id: str
    company_id: str
    connection_id: str
    country: str
    livemode: bool
    government_id: str
    media_type: str
    supplier_vat: str | None
    customer_vat: str | None
    currency: str | None
    net_amount: str | None
    vat_amount: str | None
    gross_amount: str | None
    findings: list[dict[str, Any]]
    delivered_at: str | None
    created_at: str
    # What the event says besides (the buyer's response events: decision, reason, the
    # network's receipt or reason); None for `invoice.received`.
    metadata: dict[str, Any] | None = None

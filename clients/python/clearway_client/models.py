"""The API's objects, as its OpenAPI document names them: snake_case attributes, camelCase on the
wire (the alias generator), money as Decimal, timestamps as the strings the API sends.

Answers keep fields this version does not know yet (extra="allow"), so a newer server does not
break an older client; tests/clients/python/test_contract.py holds the fields to the document.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

Country = Literal["RO", "IT", "BE", "PL", "FR", "DE"]
InvoiceStatus = Literal[
    "created", "validated", "converting", "submitting", "submitted", "accepted", "rejected", "error"
]
FINAL_STATUSES: frozenset[str] = frozenset({"accepted", "rejected", "error"})
InvoiceType = Literal["invoice", "credit_note", "debit_note"]
VatCategory = Literal["S", "Z", "E", "AE", "K", "G", "O", "L", "M"]
Decision = Literal["accept", "reject"]
ResponseStatus = Literal["requested", "sent", "failed"]
EndpointStatus = Literal["enabled", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "dead"]
CertificateFormat = Literal["pem", "pkcs12"]
SandboxScenario = Literal[
    "reject",
    "transient_error",
    "timeout",
    "rate_limited",
    "token_expired",
    "slow",
    "download_throttled",
    "rejected_inline",
    "receiver_unknown",
]
EventType = Literal[
    "*",
    "invoice.created",
    "invoice.validated",
    "invoice.submitted",
    "invoice.accepted",
    "invoice.rejected",
    "invoice.error",
    "invoice.received",
    "connection.active",
    "connection.expired",
    "webhook_endpoint.disabled",
]
AttachmentMimeType = Literal[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
]


FLOAT_REFUSED = (
    "pass amounts as Decimal or str, not float: floats cannot hold most decimal amounts "
    "exactly (1234567890123.4567 becomes 1234567890123.4568)"
)


def refuse_float(value: object) -> object:
    """A money field's input as given, unless it is a float: its digits are already lost."""
    if isinstance(value, float):
        raise PydanticCustomError("float_amount", FLOAT_REFUSED)
    return value


# An amount in a request: Decimal, int or str, never float; written as fixed-point digits
# (format "f": Decimal("1E+3") is "1000", which the API's decimal pattern accepts).
Money = Annotated[
    Decimal,
    BeforeValidator(refuse_float),
    PlainSerializer(lambda amount: format(amount, "f"), return_type=str, when_used="json"),
]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def to_json(self) -> dict[str, Any]:
        """The object as the API writes it (camelCase, decimals as strings)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RequestModel(ApiModel):
    """A request body: unknown fields are a mistake of the caller's, said before it is sent."""

    model_config = ConfigDict(extra="forbid")  # merged with ApiModel's


# Requests ---------------------------------------------------------------------------------------


class Address(ApiModel):
    country: str
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state_or_province: str | None = None


class Party(RequestModel):
    vat_number: str
    name: str
    trade_register: str | None = None
    fiscal_code: str | None = None
    pec: str | None = None
    address: Address | None = None
    email: str | None = None
    phone: str | None = None
    sdi_code: str | None = None
    peppol_id: str | None = None
    siret: str | None = None
    leitweg_id: str | None = None


class Line(RequestModel):
    description: str
    unit_price: Money
    vat_rate: Money
    quantity: Money = Decimal(1)
    unit_code: str = "C62"
    discount: Money | None = None
    item_code: str | None = None
    vat_category: VatCategory | None = None
    vat_exemption_reason: str | None = None
    vat_exemption_reason_code: str | None = None
    natura: str | None = None


class PaymentMeans(RequestModel):
    bank_account: str | None = None
    bic: str | None = None
    payment_terms: str | None = None
    due_date: dt.date | None = None


class Attachment(RequestModel):
    filename: str
    content: str  # base64
    mime_type: AttachmentMimeType


class PrecedingInvoice(RequestModel):
    number: str
    issue_date: dt.date | None = None


class InvoiceRequest(RequestModel):
    """The body of POST /v1/invoices (and /validate, and of a message on invoices.intake)."""

    country: Country
    supplier: Party
    customer: Party
    lines: list[Line]
    invoice_type: InvoiceType = "invoice"
    company_id: str | None = None
    external_id: str | None = None
    invoice_number: str | None = None
    currency: str = "EUR"
    exchange_rate: Money | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    note: str | None = None
    payment_means: PaymentMeans | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    buyer_reference: str | None = None
    purchase_order_reference: str | None = None
    preceding_invoice: PrecedingInvoice | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


# Answers ----------------------------------------------------------------------------------------


class Company(ApiModel):
    id: str
    legal_name: str
    vat_number: str
    country: str
    trade_register: str | None
    address: Address | None
    peppol_id: str | None
    sdi_code: str | None
    siret: str | None
    leitweg_id: str | None
    created_at: str


class NetworkCredentials(ApiModel):
    identifier: str
    scheme: str


class SetupInstructions(ApiModel):
    steps: list[str]
    upload_url: str


class Connection(ApiModel):
    id: str
    company_id: str
    country_code: str
    status: str
    token_expires_at: str | None
    refresh_token_expires_at: str | None = None  # RO: when ANAF's consent must be given again
    last_error_message: str | None
    created_at: str
    is_sender: bool
    is_receiver: bool
    livemode: bool
    network_credentials: NetworkCredentials | None = None
    authorization_url: str | None = None
    setup_instructions: SetupInstructions | None = None


class Invoice(ApiModel):
    id: str
    country: str
    supplier_vat: str
    customer_vat: str
    status: str
    net_amount: Decimal
    vat_amount: Decimal
    gross_amount: Decimal
    currency: str
    gov_id: str | None
    external_id: str | None
    error_message: str | None
    error_translated: str | None
    error_fix: str | None
    created_at: str
    updated_at: str
    invoice_type: str
    company_id: str | None
    metadata: dict[str, str]
    livemode: bool
    company: Company | None = None
    connection: Connection | None = None
    # Set from the answer's Idempotent-Replayed header: this answer repeats the first one for
    # its idempotency key (the invoice was filed before), not a new invoice.
    _replayed: bool = PrivateAttr(default=False)

    @property
    def replayed(self) -> bool:
        return self._replayed


class Event(ApiModel):
    id: str
    event: str
    status: str
    metadata: dict[str, Any] | None
    created_at: str


class ValidationFinding(ApiModel):
    rule: str
    severity: str
    pointer: str
    message: str
    fix: str


class ValidationResult(ApiModel):
    valid: bool
    errors: list[str]
    details: list[ValidationFinding]


class Deleted(ApiModel):
    id: str
    deleted: bool


class ReceivedResponse(ApiModel):
    decision: Decision
    reason: str | None
    status: ResponseStatus
    receipt: dict[str, Any] | None
    failure: str | None
    requested_at: str
    updated_at: str


class ReceivedInvoice(ApiModel):
    id: str
    company_id: str
    connection_id: str
    country: str
    government_id: str
    status: str
    supplier_vat: str | None
    customer_vat: str | None
    currency: str | None
    net_amount: Decimal | None
    vat_amount: Decimal | None
    gross_amount: Decimal | None
    invoice: dict[str, Any] | None
    findings: list[ValidationFinding]
    media_type: str
    evidence_media_type: str | None
    delivered_at: str | None
    created_at: str
    livemode: bool
    metadata: dict[str, str]
    response: ReceivedResponse | None = None


class WebhookEndpoint(ApiModel):
    id: str
    url: str
    description: str | None
    enabled_events: list[str]
    livemode: bool
    status: EndpointStatus
    disabled_reason: str | None
    failing_since: str | None
    created_at: str
    updated_at: str


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str


class RotatedEndpoint(WebhookEndpointWithSecret):
    previous_secret_expires_at: str | None


class DeliveryAttempt(ApiModel):
    attempted_at: str
    http_status: int | None
    duration_ms: int
    error: str | None
    response_body: str | None
    next_retry_at: str | None


class WebhookDelivery(ApiModel):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    invoice_id: str | None
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None
    attempts: list[DeliveryAttempt]


class ErrorItem(ApiModel):
    message: str
    code: str
    param: str | None = None


class ErrorBody(ApiModel):
    type: str
    message: str
    errors: list[ErrorItem]
    param: str | None = None


ItemT = TypeVar("ItemT", bound=ApiModel)


class Page(ApiModel, Generic[ItemT]):
    data: list[ItemT]
    has_more: bool
    next_cursor: str | None


class Document(ApiModel):
    """A binary answer (a generated document, a receipt, evidence) with what its headers say."""

    content: bytes
    media_type: str
    format: str | None = None  # X-Clearway-Format
    filename: str | None = None  # from Content-Disposition


class WebhookEvent(ApiModel):
    """A verified webhook's body: `data` as the event type defines it (docs/webhooks.md)."""

    id: str
    type: str
    timestamp: str | None = None
    livemode: bool | None = None
    data: dict[str, Any] = Field(default_factory=dict)

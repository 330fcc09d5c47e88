"""The API's resources: the response shapes (they are also the OpenAPI document's schemas) and
how a database row becomes one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

from clearway.domain.ids import iso_millis
from clearway.domain.invoice import Address, Amount, StatedAmount, round_money
from clearway.domain.responses import Decision, ResponseStatus
from clearway.domain.wire import WireModel
from pydantic import ConfigDict, Field

T = TypeVar("T")
R = TypeVar("R", bound=WireModel)


class _Out(WireModel):
    model_config = ConfigDict(extra="forbid")


class Company(_Out):
    id: str = Field(examples=["comp_a1b2c3d4e5f6"])
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


class NetworkCredentials(_Out):
    identifier: str = Field(examples=["0123456749"])
    scheme: str = Field(description="ISO 6523 ICD of the identifier", examples=["0208"])


class SetupInstructions(_Out):
    steps: list[str]
    upload_url: str


class Connection(_Out):
    id: str = Field(examples=["conn_a1b2c3d4e5f6"])
    company_id: str
    country_code: str
    status: str = Field(examples=["pending_setup", "active", "expired", "error"])
    token_expires_at: str | None
    refresh_token_expires_at: str | None = Field(
        default=None,
        description="RO only: when ANAF's refresh token ends. Access tokens are renewed until "
        "then; after it a person signs ANAF's consent again. Null for other countries.",
    )
    last_error_message: str | None
    created_at: str
    is_sender: bool
    is_receiver: bool
    livemode: bool = Field(description="Made with a live key (true) or a sandbox key (false)")
    network_credentials: NetworkCredentials | None = Field(
        default=None, description="BE, DE (Peppol) and FR (directory): the company's identifier"
    )
    authorization_url: str | None = Field(
        default=None, description="RO, on creation: send the user here to authorize Clearway"
    )
    setup_instructions: SetupInstructions | None = Field(
        default=None, description="IT and PL, on creation: what the company does next"
    )


class Invoice(_Out):
    id: str = Field(examples=["inv_a1b2c3d4e5f6"])
    country: str = Field(examples=["RO"])
    supplier_vat: str = Field(examples=["RO12345678"])
    customer_vat: str = Field(examples=["RO87654321"])
    status: str = Field(examples=["accepted"])
    net_amount: Amount = Field(examples=["5200.00"])
    vat_amount: Amount = Field(examples=["988.00"])
    gross_amount: Amount = Field(examples=["6188.00"])
    currency: str = Field(examples=["RON"])
    gov_id: str | None = Field(examples=["4523789012"])
    external_id: str | None = Field(examples=["order-12345"])
    error_message: str | None
    error_translated: str | None
    error_fix: str | None
    created_at: str = Field(examples=["2025-01-15T10:00:00.000Z"])
    updated_at: str = Field(examples=["2025-01-15T10:00:15.000Z"])
    # Beyond the seed's fields: what a platform needs to correlate and expand.
    invoice_type: str = Field(examples=["invoice"])
    company_id: str | None
    metadata: dict[str, str]
    livemode: bool = Field(description="Made with a live key (true) or a sandbox key (false)")
    company: Company | None = Field(default=None, description="Present with expand=company")
    connection: Connection | None = Field(
        default=None, description="Present with expand=connection"
    )


class Event(_Out):
    id: str = Field(examples=["evt_001"])
    event: str = Field(examples=["invoice.validated"])
    status: str = Field(examples=["validated"])
    metadata: dict[str, Any] | None
    created_at: str


class Data(_Out, Generic[T]):
    data: T


class Page(_Out, Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None


class Deleted(_Out):
    id: str
    deleted: bool


class ValidationFinding(_Out):
    rule: str
    severity: str
    pointer: str
    message: str
    fix: str


class ValidationResult(_Out):
    valid: bool
    errors: list[str] = Field(
        description="Each error as 'RULE: message', as the seed shows them",
        examples=[["BR-08: The supplier's postal address is required."]],
    )
    details: list[ValidationFinding] = Field(
        description="Every finding (errors and warnings) with its JSON pointer and fix"
    )


class ReceivedResponse(_Out):
    """The buyer's response to a received invoice, as it goes back through the network."""

    decision: Decision
    reason: str | None = Field(description="Why (always given with a rejection)")
    status: ResponseStatus = Field(
        description="requested: recorded, being sent; sent: the network took it; failed: the "
        "network refused it (failure says why)"
    )
    receipt: dict[str, Any] | None = Field(
        description="Once sent, what the network answered: its id (networkId) and details"
    )
    failure: str | None = Field(description="Once failed, the network's reason")
    requested_at: str
    updated_at: str


class ReceivedInvoice(_Out):
    """A purchase invoice a government delivered to one of the account's companies."""

    id: str = Field(examples=["rinv_a1b2c3d4e5f6"])
    company_id: str
    connection_id: str
    country: str = Field(examples=["RO"])
    government_id: str = Field(
        description="The government's own id of the message or delivery (ANAF's download id)",
        examples=["3001474425"],
    )
    status: str = Field(examples=["received"])
    supplier_vat: str | None = Field(
        description="As the document states it; null until the document is read",
        examples=["RO12345678"],
    )
    customer_vat: str | None = Field(examples=["RO87654321"])
    currency: str | None = Field(examples=["RON"])
    net_amount: StatedAmount | None = Field(
        description="The document's stated totals, as stated (null until it is read)",
        examples=["5200.00"],
    )
    vat_amount: StatedAmount | None = Field(examples=["988.00"])
    gross_amount: StatedAmount | None = Field(examples=["6188.00"])
    invoice: dict[str, Any] | None = Field(
        description="The document read into the JSON POST /v1/invoices takes; null until read"
    )
    findings: list[ValidationFinding] = Field(
        description="What reading and validating the document found; never a refusal"
    )
    media_type: str = Field(
        description="The original document's (GET …/document)", examples=["application/xml"]
    )
    evidence_media_type: str | None = Field(
        description="The government's evidence's (GET …/evidence); null when it gave none"
    )
    delivered_at: str | None = Field(description="When the government made it available")
    created_at: str = Field(description="When Clearway received it")
    livemode: bool = Field(description="Received by a live connection (true) or a sandbox one")
    metadata: dict[str, str] = Field(
        description="The platform's own pairs (PATCH /v1/received-invoices/{id}); {} until set"
    )
    response: ReceivedResponse | None = Field(
        default=None,
        description="The buyer's response (POST …/response); null when none was given",
    )


class ErrorItem(_Out):
    param: str | None = Field(
        default=None, description="JSON pointer to the field; absent when none"
    )
    message: str
    code: str


class ErrorBody(_Out):
    type: str
    message: str
    param: str | None = Field(
        default=None, description="JSON pointer to the first field at fault; absent when none"
    )
    errors: list[ErrorItem]


class ErrorEnvelope(_Out):
    error: ErrorBody


def from_row(resource: type[R], row: Any, **computed: Any) -> R:
    """A resource whose fields are the row's columns of the same names, but for the `computed`
    ones (timestamps as text, rounded amounts, columns named otherwise). A field that is neither
    is left unset, so an answer that leaves out unset fields leaves it out."""
    columns = set(row.keys())
    named = {
        name: row[name]
        for name in resource.model_fields
        if name in columns and name not in computed
    }
    return resource(**named, **computed)


def company_resource(row: Any) -> Company:
    return from_row(Company, row, created_at=iso_millis(row["created_at"]))


def connection_resource(row: Any) -> Connection:
    """Never a secret: those live in connection_secrets, which this does not read."""
    expires = row["token_expires_at"]
    fields: dict[str, Any] = {}
    if row["network_identifier"] is not None:
        # Set only where the country uses a network, so the API leaves it out elsewhere.
        fields["network_credentials"] = NetworkCredentials(
            identifier=row["network_identifier"], scheme=row["network_scheme"]
        )
    # Only ANAF's refresh token needs a person when it ends: PL's refresher signs in afresh.
    consent_ends = row["refresh_token_expires_at"] if row["country"] == "RO" else None
    return from_row(
        Connection,
        row,
        country_code=row["country"],
        token_expires_at=iso_millis(expires) if expires else None,
        refresh_token_expires_at=iso_millis(consent_ends) if consent_ends else None,
        created_at=iso_millis(row["created_at"]),
        **fields,
    )


def invoice_resource(row: Any) -> Invoice:
    return from_row(
        Invoice,
        row,
        net_amount=round_money(row["net_amount"]),
        vat_amount=round_money(row["vat_amount"]),
        gross_amount=round_money(row["gross_amount"]),
        created_at=iso_millis(row["created_at"]),
        updated_at=iso_millis(row["updated_at"]),
    )


def received_response_resource(row: Any) -> ReceivedResponse:
    return from_row(
        ReceivedResponse,
        row,
        requested_at=iso_millis(row["created_at"]),
        updated_at=iso_millis(row["updated_at"]),
    )


def received_invoice_resource(row: Any, response: Any = None) -> ReceivedInvoice:
    """`response`: the invoice's received_responses row, if it has one."""

    def stated(amount: Any) -> Decimal | None:
        return None if amount is None else Decimal(amount)

    delivered = row["delivered_at"]
    return from_row(
        ReceivedInvoice,
        row,
        net_amount=stated(row["net_amount"]),
        vat_amount=stated(row["vat_amount"]),
        gross_amount=stated(row["gross_amount"]),
        invoice=row["request"],
        findings=[ValidationFinding.model_validate(f) for f in row["findings"]],
        delivered_at=iso_millis(delivered) if delivered else None,
        created_at=iso_millis(row["created_at"]),
        response=None if response is None else received_response_resource(response),
    )

"""The API's resources: the response shapes (they are also the OpenAPI document's schemas) and
how a database row becomes one."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from clearway.domain.ids import iso_millis
from clearway.domain.invoice import Address, Amount, round_money
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Company(_Out):
    id: str = Field(examples=["comp_a1b2c3d4e5f6"])
    legalName: str  # noqa: N815 - public wire names
    vatNumber: str  # noqa: N815
    country: str
    tradeRegister: str | None  # noqa: N815
    address: Address | None
    peppolId: str | None  # noqa: N815
    sdiCode: str | None  # noqa: N815
    siret: str | None
    leitwegId: str | None  # noqa: N815
    createdAt: str  # noqa: N815


class NetworkCredentials(_Out):
    identifier: str = Field(examples=["0123456749"])
    scheme: str = Field(description="ISO 6523 ICD of the identifier", examples=["0208"])


class SetupInstructions(_Out):
    steps: list[str]
    uploadUrl: str  # noqa: N815


class Connection(_Out):
    id: str = Field(examples=["conn_a1b2c3d4e5f6"])
    companyId: str  # noqa: N815
    countryCode: str  # noqa: N815
    status: str = Field(examples=["pending_setup", "active", "expired", "error"])
    tokenExpiresAt: str | None  # noqa: N815
    lastErrorMessage: str | None  # noqa: N815
    createdAt: str  # noqa: N815
    isSender: bool  # noqa: N815
    isReceiver: bool  # noqa: N815
    livemode: bool = Field(description="Made with a live key (true) or a sandbox key (false)")
    networkCredentials: NetworkCredentials | None = Field(  # noqa: N815
        default=None, description="BE, DE (Peppol) and FR (directory): the company's identifier"
    )
    authorizationUrl: str | None = Field(  # noqa: N815
        default=None, description="RO, on creation: send the user here to authorize Clearway"
    )
    setupInstructions: SetupInstructions | None = Field(  # noqa: N815
        default=None, description="IT and PL, on creation: what the company does next"
    )


class Invoice(_Out):
    id: str = Field(examples=["inv_a1b2c3d4e5f6"])
    country: str = Field(examples=["RO"])
    supplierVat: str = Field(examples=["RO12345678"])  # noqa: N815
    customerVat: str = Field(examples=["RO87654321"])  # noqa: N815
    status: str = Field(examples=["accepted"])
    netAmount: Amount = Field(examples=["5200.00"])  # noqa: N815
    vatAmount: Amount = Field(examples=["988.00"])  # noqa: N815
    grossAmount: Amount = Field(examples=["6188.00"])  # noqa: N815
    currency: str = Field(examples=["RON"])
    govId: str | None = Field(examples=["4523789012"])  # noqa: N815
    externalId: str | None = Field(examples=["order-12345"])  # noqa: N815
    errorMessage: str | None  # noqa: N815
    errorTranslated: str | None  # noqa: N815
    errorFix: str | None  # noqa: N815
    createdAt: str = Field(examples=["2025-01-15T10:00:00.000Z"])  # noqa: N815
    updatedAt: str = Field(examples=["2025-01-15T10:00:15.000Z"])  # noqa: N815
    # Beyond the seed's fields: what a platform needs to correlate and expand.
    invoiceType: str = Field(examples=["invoice"])  # noqa: N815
    companyId: str | None  # noqa: N815
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
    createdAt: str  # noqa: N815


class Data(_Out, Generic[T]):
    data: T


class Page(_Out, Generic[T]):
    data: list[T]
    hasMore: bool  # noqa: N815
    nextCursor: str | None  # noqa: N815


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


def company_resource(row: Any) -> Company:
    return Company(
        id=row["id"],
        legalName=row["legal_name"],
        vatNumber=row["vat_number"],
        country=row["country"],
        tradeRegister=row["trade_register"],
        address=row["address"],
        peppolId=row["peppol_id"],
        sdiCode=row["sdi_code"],
        siret=row["siret"],
        leitwegId=row["leitweg_id"],
        createdAt=iso_millis(row["created_at"]),
    )


def connection_resource(row: Any) -> Connection:
    """Never a secret: those live in connection_secrets, which this does not read."""
    expires = row["token_expires_at"]
    fields: dict[str, Any] = {}
    if row["network_identifier"] is not None:
        # Set only where the country uses a network, so the API leaves it out elsewhere.
        fields["networkCredentials"] = NetworkCredentials(
            identifier=row["network_identifier"], scheme=row["network_scheme"]
        )
    return Connection(
        id=row["id"],
        companyId=row["company_id"],
        countryCode=row["country"],
        status=row["status"],
        tokenExpiresAt=iso_millis(expires) if expires else None,
        lastErrorMessage=row["last_error_message"],
        createdAt=iso_millis(row["created_at"]),
        isSender=row["is_sender"],
        isReceiver=row["is_receiver"],
        livemode=row["livemode"],
        **fields,
    )


def invoice_resource(row: Any) -> Invoice:
    return Invoice(
        id=row["id"],
        country=row["country"],
        supplierVat=row["supplier_vat"],
        customerVat=row["customer_vat"],
        status=row["status"],
        netAmount=round_money(row["net_amount"]),
        vatAmount=round_money(row["vat_amount"]),
        grossAmount=round_money(row["gross_amount"]),
        currency=row["currency"],
        govId=row["gov_id"],
        externalId=row["external_id"],
        errorMessage=row["error_message"],
        errorTranslated=row["error_translated"],
        errorFix=row["error_fix"],
        createdAt=iso_millis(row["created_at"]),
        updatedAt=iso_millis(row["updated_at"]),
        invoiceType=row["invoice_type"],
        companyId=row["company_id"],
        metadata=row["metadata"],
        livemode=row["livemode"],
    )

"""Every endpoint of the API as an Operation: built once, run by either client."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Final, TypedDict, Unpack
from urllib.parse import quote

from pydantic.alias_generators import to_camel

from clearway_client._core import (
    Operation,
    bare,
    created_invoice,
    document,
    model,
    models,
    page,
    query,
)
from clearway_client.models import (
    Address,
    CertificateFormat,
    Company,
    Connection,
    Country,
    Decision,
    Deleted,
    DeliveryStatus,
    Document,
    Event,
    EventType,
    Invoice,
    InvoiceRequest,
    Page,
    ReceivedInvoice,
    RotatedEndpoint,
    ValidationResult,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointWithSecret,
)


class NotGiven(Enum):
    NOT_GIVEN = "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN  # a field to leave as it is (None would clear it)
InvoiceBody = InvoiceRequest | Mapping[str, Any]
Cursor = str | None


def _id(value: str) -> str:
    return quote(value, safe="")


# Invoices ---------------------------------------------------------------------------------------


def invoices_create(
    invoice: InvoiceBody, idempotency_key: str | None, sandbox_scenario: str | None
) -> Operation[Invoice]:
    return Operation(
        "POST",
        "/v1/invoices",
        created_invoice,
        body=invoice,
        idempotency_key=idempotency_key,
        replays=True,
        headers=(("X-Clearway-Sandbox-Scenario", sandbox_scenario),) if sandbox_scenario else (),
    )


def invoices_validate(invoice: InvoiceBody) -> Operation[ValidationResult]:
    # Creates nothing: sending it twice is harmless.
    return Operation(
        "POST", "/v1/invoices/validate", bare(ValidationResult), body=invoice, replays=True
    )


def invoices_get(invoice_id: str, expand: Sequence[str] | None = None) -> Operation[Invoice]:
    return Operation("GET", f"/v1/invoices/{_id(invoice_id)}", model(Invoice), query(expand=expand))


class InvoiceFilters(TypedDict, total=False):
    """GET /v1/invoices' filters; `limit` is the page size."""

    country: Country | str
    status: str
    company_id: str
    search: str
    date_from: dt.date | str
    date_to: dt.date | str
    metadata: Mapping[str, str]
    expand: Sequence[str]
    limit: int


def invoices_page(cursor: Cursor, **filters: Unpack[InvoiceFilters]) -> Operation[Page[Invoice]]:
    return Operation("GET", "/v1/invoices", page(Invoice), query(**filters, cursor=cursor))


def invoices_events(invoice_id: str) -> Operation[list[Event]]:
    return Operation("GET", f"/v1/invoices/{_id(invoice_id)}/events", models(Event))


def invoices_document(invoice_id: str) -> Operation[Document]:
    return Operation("GET", f"/v1/invoices/{_id(invoice_id)}/document", document)


def invoices_receipt(invoice_id: str) -> Operation[Document]:
    return Operation("GET", f"/v1/invoices/{_id(invoice_id)}/receipt", document)


# Received invoices ------------------------------------------------------------------------------


class ReceivedFilters(TypedDict, total=False):
    """GET /v1/received-invoices' filters; `limit` is the page size."""

    country: Country | str
    company_id: str
    supplier_vat: str
    search: str
    date_from: dt.date | str
    date_to: dt.date | str
    metadata: Mapping[str, str]
    limit: int


def received_page(
    cursor: Cursor, **filters: Unpack[ReceivedFilters]
) -> Operation[Page[ReceivedInvoice]]:
    return Operation(
        "GET", "/v1/received-invoices", page(ReceivedInvoice), query(**filters, cursor=cursor)
    )


def received_get(received_id: str) -> Operation[ReceivedInvoice]:
    return Operation("GET", f"/v1/received-invoices/{_id(received_id)}", model(ReceivedInvoice))


def received_update(
    received_id: str, metadata: Mapping[str, str | None]
) -> Operation[ReceivedInvoice]:
    return Operation(
        "PATCH",
        f"/v1/received-invoices/{_id(received_id)}",
        model(ReceivedInvoice),
        body={"metadata": dict(metadata)},
    )


def received_events(received_id: str) -> Operation[list[Event]]:
    return Operation("GET", f"/v1/received-invoices/{_id(received_id)}/events", models(Event))


def received_document(received_id: str) -> Operation[Document]:
    return Operation("GET", f"/v1/received-invoices/{_id(received_id)}/document", document)


def received_evidence(received_id: str) -> Operation[Document]:
    return Operation("GET", f"/v1/received-invoices/{_id(received_id)}/evidence", document)


def received_respond(
    received_id: str, decision: Decision, reason: str | None, idempotency_key: str | None
) -> Operation[ReceivedInvoice]:
    body: dict[str, Any] = {"decision": decision}
    if reason is not None:
        body["reason"] = reason
    return Operation(
        "POST",
        f"/v1/received-invoices/{_id(received_id)}/response",
        model(ReceivedInvoice),
        body=body,
        idempotency_key=idempotency_key,
        replays=True,
    )


# Companies --------------------------------------------------------------------------------------


class CompanyDetails(TypedDict, total=False):
    trade_register: str
    address: Address | Mapping[str, str]
    peppol_id: str
    sdi_code: str
    siret: str
    leitweg_id: str


def companies_create(
    legal_name: str, vat_number: str, country: Country | str, details: CompanyDetails
) -> Operation[Company]:
    body: dict[str, Any] = {"legalName": legal_name, "vatNumber": vat_number, "country": country}
    body |= {to_camel(name): value for name, value in details.items()}
    # The API answers an existing company (same VAT number and country) as it is: a repeat
    # creates nothing, so a lost answer may be asked again.
    return Operation("POST", "/v1/companies", model(Company), body=body, replays=True)


def companies_list() -> Operation[list[Company]]:
    return Operation("GET", "/v1/companies", models(Company))


def companies_get(company_id: str) -> Operation[Company]:
    return Operation("GET", f"/v1/companies/{_id(company_id)}", model(Company))


def companies_delete(company_id: str) -> Operation[Deleted]:
    return Operation("DELETE", f"/v1/companies/{_id(company_id)}", model(Deleted))


# Connections ------------------------------------------------------------------------------------


def connections_create(
    company_id: str,
    country_code: Country | str,
    *,
    is_sender: bool | None,
    is_receiver: bool | None,
) -> Operation[Connection]:
    body: dict[str, Any] = {"companyId": company_id, "countryCode": country_code}
    if is_sender is not None:
        body["isSender"] = is_sender
    if is_receiver is not None:
        body["isReceiver"] = is_receiver
    return Operation("POST", "/v1/connections", model(Connection), body=body)


def connections_list() -> Operation[list[Connection]]:
    return Operation("GET", "/v1/connections", models(Connection))


def connections_get(connection_id: str) -> Operation[Connection]:
    return Operation("GET", f"/v1/connections/{_id(connection_id)}", model(Connection))


def connections_delete(connection_id: str) -> Operation[Deleted]:
    return Operation("DELETE", f"/v1/connections/{_id(connection_id)}", model(Deleted))


def connections_upload_certificate(
    connection_id: str, certificate: str | bytes, fmt: CertificateFormat, password: str | None
) -> Operation[Connection]:
    if isinstance(certificate, bytes):  # PKCS#12 is binary: the API takes it base64
        certificate = (
            certificate.decode() if fmt == "pem" else base64.b64encode(certificate).decode()
        )
    body: dict[str, Any] = {"format": fmt, "certificate": certificate}
    if password is not None:
        body["password"] = password
    return Operation(
        "POST", f"/v1/connections/{_id(connection_id)}/certificate", model(Connection), body=body
    )


def connections_upload_ksef_token(connection_id: str, token: str) -> Operation[Connection]:
    return Operation(
        "POST",
        f"/v1/connections/{_id(connection_id)}/ksef-token",
        model(Connection),
        body={"token": token},
    )


# Webhook endpoints ------------------------------------------------------------------------------


def endpoints_create(
    url: str, enabled_events: Sequence[EventType | str], description: str | None
) -> Operation[WebhookEndpointWithSecret]:
    body: dict[str, Any] = {"url": url, "enabledEvents": list(enabled_events)}
    if description is not None:
        body["description"] = description
    return Operation("POST", "/v1/webhook-endpoints", model(WebhookEndpointWithSecret), body=body)


def endpoints_list() -> Operation[list[WebhookEndpoint]]:
    return Operation("GET", "/v1/webhook-endpoints", models(WebhookEndpoint))


def endpoints_get(endpoint_id: str) -> Operation[WebhookEndpoint]:
    return Operation("GET", f"/v1/webhook-endpoints/{_id(endpoint_id)}", model(WebhookEndpoint))


def endpoints_update(
    endpoint_id: str,
    *,
    url: str | NotGiven,
    enabled_events: Sequence[EventType | str] | NotGiven,
    description: str | NotGiven | None,
    disabled: bool | NotGiven,
) -> Operation[WebhookEndpoint]:
    given = {
        "url": url,
        "enabledEvents": list(enabled_events)
        if not isinstance(enabled_events, NotGiven)
        else enabled_events,
        "description": description,
        "disabled": disabled,
    }
    body = {k: v for k, v in given.items() if not isinstance(v, NotGiven)}
    return Operation(
        "PATCH", f"/v1/webhook-endpoints/{_id(endpoint_id)}", model(WebhookEndpoint), body=body
    )


def endpoints_delete(endpoint_id: str) -> Operation[Deleted]:
    return Operation("DELETE", f"/v1/webhook-endpoints/{_id(endpoint_id)}", model(Deleted))


def endpoints_rotate_secret(
    endpoint_id: str, overlap_seconds: int | None
) -> Operation[RotatedEndpoint]:
    body = {} if overlap_seconds is None else {"overlapSeconds": overlap_seconds}
    return Operation(
        "POST",
        f"/v1/webhook-endpoints/{_id(endpoint_id)}/rotate-secret",
        model(RotatedEndpoint),
        body=body,
    )


def endpoints_deliveries_page(
    endpoint_id: str,
    cursor: Cursor,
    *,
    status: DeliveryStatus | str | None = None,
    limit: int | None = None,
) -> Operation[Page[WebhookDelivery]]:
    return Operation(
        "GET",
        f"/v1/webhook-endpoints/{_id(endpoint_id)}/deliveries",
        page(WebhookDelivery),
        query(status=status, limit=limit, cursor=cursor),
    )


def endpoints_retry_delivery(endpoint_id: str, delivery_id: str) -> Operation[WebhookDelivery]:
    return Operation(
        "POST",
        f"/v1/webhook-endpoints/{_id(endpoint_id)}/deliveries/{_id(delivery_id)}/retry",
        model(WebhookDelivery),
    )


def endpoints_send_test(endpoint_id: str) -> Operation[WebhookDelivery]:
    return Operation(
        "POST", f"/v1/webhook-endpoints/{_id(endpoint_id)}/test", model(WebhookDelivery)
    )

"""Every endpoint of the API, said once: a function describing its request (an Operation, or a
Wait), and the resource classes that make those functions the clients' methods. `Clearway` runs
them blocking, `AsyncClearway` awaited (_methods.endpoint, _methods.paged); a function's parameters
are its method's."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from enum import Enum
from typing import Any, Final, TypedDict, Unpack
from urllib.parse import quote

from pydantic.alias_generators import to_camel

from clearway_client._core import Cursor, Operation, Wait, query
from clearway_client._methods import H, Resource, endpoint, paged
from clearway_client._parsers import bare, created_invoice, document, model, models, page
from clearway_client.models import (
    FINAL_STATUSES,
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


def _id(value: str) -> str:
    return quote(value, safe="")


def _body(**fields: object) -> dict[str, Any]:
    """A JSON body: the API's camelCase names, the fields not given (None) left out."""
    return {to_camel(name): value for name, value in fields.items() if value is not None}


def _changes(**fields: object) -> dict[str, Any]:
    """A PATCH body: the fields given, None among them (it clears a field)."""
    return {to_camel(name): value for name, value in fields.items() if value is not NOT_GIVEN}


# Invoices ---------------------------------------------------------------------------------------


def invoices_create(
    invoice: InvoiceBody,
    *,
    idempotency_key: str | None = None,
    sandbox_scenario: str | None = None,
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


def invoices_get(invoice_id: str, *, expand: Sequence[str] | None = None) -> Operation[Invoice]:
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


def invoices_page(
    cursor: Cursor = None, **filters: Unpack[InvoiceFilters]
) -> Operation[Page[Invoice]]:
    return Operation("GET", "/v1/invoices", page(Invoice), query(**filters, cursor=cursor))


def invoices_events(invoice_id: str) -> Operation[list[Event]]:
    return Operation("GET", f"/v1/invoices/{_id(invoice_id)}/events", models(Event))


def invoices_document(invoice_id: str) -> Operation[Document]:
    return Operation("GET", f"/v1/invoices/{_id(invoice_id)}/document", document)


def invoices_receipt(invoice_id: str) -> Operation[Document]:
    return Operation("GET", f"/v1/invoices/{_id(invoice_id)}/receipt", document)


def invoices_wait(
    invoice_id: str,
    *,
    until: Collection[str] = FINAL_STATUSES,
    timeout: float = 120,
    interval: float = 1.0,
) -> Wait[Invoice]:
    """The invoice once its status is one of `until`; WaitTimeoutError after `timeout`."""
    return Wait(invoices_get(invoice_id), until, timeout, interval)


class Invoices(Resource[H]):
    create = endpoint(invoices_create)
    validate = endpoint(invoices_validate)
    get = endpoint(invoices_get)
    list = paged(invoices_page)
    list_page = endpoint(invoices_page)
    events = endpoint(invoices_events)
    document = endpoint(invoices_document)
    receipt = endpoint(invoices_receipt)
    wait = endpoint(invoices_wait)


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
    cursor: Cursor = None, **filters: Unpack[ReceivedFilters]
) -> Operation[Page[ReceivedInvoice]]:
    return Operation(
        "GET", "/v1/received-invoices", page(ReceivedInvoice), query(**filters, cursor=cursor)
    )


def received_get(received_id: str) -> Operation[ReceivedInvoice]:
    return Operation("GET", f"/v1/received-invoices/{_id(received_id)}", model(ReceivedInvoice))


def received_update(
    received_id: str, *, metadata: Mapping[str, str | None]
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
    received_id: str,
    decision: Decision,
    *,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> Operation[ReceivedInvoice]:
    return Operation(
        "POST",
        f"/v1/received-invoices/{_id(received_id)}/response",
        model(ReceivedInvoice),
        body=_body(decision=decision, reason=reason),
        idempotency_key=idempotency_key,
        replays=True,
    )


class ReceivedInvoices(Resource[H]):
    list = paged(received_page)
    get = endpoint(received_get)
    update = endpoint(received_update)
    events = endpoint(received_events)
    document = endpoint(received_document)
    evidence = endpoint(received_evidence)
    respond = endpoint(received_respond)


# Companies --------------------------------------------------------------------------------------


class CompanyDetails(TypedDict, total=False):
    trade_register: str
    address: Address | Mapping[str, str]
    peppol_id: str
    sdi_code: str
    siret: str
    leitweg_id: str


def companies_create(
    legal_name: str,
    vat_number: str,
    country: Country | str,
    **details: Unpack[CompanyDetails],
) -> Operation[Company]:
    body = _body(legal_name=legal_name, vat_number=vat_number, country=country, **details)
    # The API answers an existing company (same VAT number and country) as it is: a repeat
    # creates nothing, so a lost answer may be asked again.
    return Operation("POST", "/v1/companies", model(Company), body=body, replays=True)


def companies_list() -> Operation[list[Company]]:
    return Operation("GET", "/v1/companies", models(Company))


def companies_get(company_id: str) -> Operation[Company]:
    return Operation("GET", f"/v1/companies/{_id(company_id)}", model(Company))


def companies_delete(company_id: str) -> Operation[Deleted]:
    return Operation("DELETE", f"/v1/companies/{_id(company_id)}", model(Deleted))


class Companies(Resource[H]):
    create = endpoint(companies_create)
    list = endpoint(companies_list)
    get = endpoint(companies_get)
    delete = endpoint(companies_delete)


# Connections ------------------------------------------------------------------------------------


def connections_create(
    company_id: str,
    country_code: Country | str,
    *,
    is_sender: bool | None = None,
    is_receiver: bool | None = None,
) -> Operation[Connection]:
    body = _body(
        company_id=company_id,
        country_code=country_code,
        is_sender=is_sender,
        is_receiver=is_receiver,
    )
    return Operation("POST", "/v1/connections", model(Connection), body=body)


def connections_list() -> Operation[list[Connection]]:
    return Operation("GET", "/v1/connections", models(Connection))


def connections_get(connection_id: str) -> Operation[Connection]:
    return Operation("GET", f"/v1/connections/{_id(connection_id)}", model(Connection))


def connections_delete(connection_id: str) -> Operation[Deleted]:
    return Operation("DELETE", f"/v1/connections/{_id(connection_id)}", model(Deleted))


def connections_upload_certificate(
    connection_id: str,
    certificate: str | bytes,
    *,
    format: CertificateFormat = "pem",  # noqa: A002 - the API's name
    password: str | None = None,
) -> Operation[Connection]:
    if isinstance(certificate, bytes):  # PKCS#12 is binary: the API takes it base64
        certificate = (
            certificate.decode() if format == "pem" else base64.b64encode(certificate).decode()
        )
    return Operation(
        "POST",
        f"/v1/connections/{_id(connection_id)}/certificate",
        model(Connection),
        body=_body(format=format, certificate=certificate, password=password),
    )


def connections_upload_ksef_token(connection_id: str, token: str) -> Operation[Connection]:
    return Operation(
        "POST",
        f"/v1/connections/{_id(connection_id)}/ksef-token",
        model(Connection),
        body={"token": token},
    )


def connections_wait(
    connection_id: str,
    *,
    until: Collection[str] = frozenset({"active"}),
    timeout: float = 300,
    interval: float = 2.0,
) -> Wait[Connection]:
    """The connection once its status is one of `until` (after the OAuth consent, say)."""
    return Wait(connections_get(connection_id), until, timeout, interval)


class Connections(Resource[H]):
    create = endpoint(connections_create)
    list = endpoint(connections_list)
    get = endpoint(connections_get)
    delete = endpoint(connections_delete)
    upload_certificate = endpoint(connections_upload_certificate)
    upload_ksef_token = endpoint(connections_upload_ksef_token)
    wait = endpoint(connections_wait)


# Webhook endpoints ------------------------------------------------------------------------------


def endpoints_create(
    url: str, enabled_events: Sequence[EventType | str], *, description: str | None = None
) -> Operation[WebhookEndpointWithSecret]:
    body = _body(url=url, enabled_events=list(enabled_events), description=description)
    return Operation("POST", "/v1/webhook-endpoints", model(WebhookEndpointWithSecret), body=body)


def endpoints_list() -> Operation[list[WebhookEndpoint]]:
    return Operation("GET", "/v1/webhook-endpoints", models(WebhookEndpoint))


def endpoints_get(endpoint_id: str) -> Operation[WebhookEndpoint]:
    return Operation("GET", f"/v1/webhook-endpoints/{_id(endpoint_id)}", model(WebhookEndpoint))


def endpoints_update(
    endpoint_id: str,
    *,
    url: str | NotGiven = NOT_GIVEN,
    enabled_events: Sequence[EventType | str] | NotGiven = NOT_GIVEN,
    description: str | NotGiven | None = NOT_GIVEN,
    disabled: bool | NotGiven = NOT_GIVEN,
) -> Operation[WebhookEndpoint]:
    if not isinstance(enabled_events, NotGiven):
        enabled_events = list(enabled_events)
    body = _changes(
        url=url, enabled_events=enabled_events, description=description, disabled=disabled
    )
    return Operation(
        "PATCH", f"/v1/webhook-endpoints/{_id(endpoint_id)}", model(WebhookEndpoint), body=body
    )


def endpoints_delete(endpoint_id: str) -> Operation[Deleted]:
    return Operation("DELETE", f"/v1/webhook-endpoints/{_id(endpoint_id)}", model(Deleted))


def endpoints_rotate_secret(
    endpoint_id: str, *, overlap_seconds: int | None = None
) -> Operation[RotatedEndpoint]:
    return Operation(
        "POST",
        f"/v1/webhook-endpoints/{_id(endpoint_id)}/rotate-secret",
        model(RotatedEndpoint),
        body=_body(overlap_seconds=overlap_seconds),
    )


def endpoints_deliveries_page(
    cursor: Cursor,
    endpoint_id: str,
    *,
    status: DeliveryStatus | None = None,
    limit: int | None = None,
) -> Operation[Page[WebhookDelivery]]:
    return Operation(
        "GET",
        f"/v1/webhook-endpoints/{_id(endpoint_id)}/deliveries",
        page(WebhookDelivery),
        query(status=status, limit=limit, cursor=cursor),
    )


def endpoints_retry_delivery(endpoint_id: str, delivery_id: str) -> Operation[WebhookDelivery]:
    """Send a delivery again now (a replay: the same webhook-id and body)."""
    return Operation(
        "POST",
        f"/v1/webhook-endpoints/{_id(endpoint_id)}/deliveries/{_id(delivery_id)}/retry",
        model(WebhookDelivery),
    )


def endpoints_send_test(endpoint_id: str) -> Operation[WebhookDelivery]:
    return Operation(
        "POST", f"/v1/webhook-endpoints/{_id(endpoint_id)}/test", model(WebhookDelivery)
    )


class WebhookEndpoints(Resource[H]):
    create = endpoint(endpoints_create)
    list = endpoint(endpoints_list)
    get = endpoint(endpoints_get)
    update = endpoint(endpoints_update)
    delete = endpoint(endpoints_delete)
    rotate_secret = endpoint(endpoints_rotate_secret)
    deliveries = paged(endpoints_deliveries_page)
    retry_delivery = endpoint(endpoints_retry_delivery)
    send_test = endpoint(endpoints_send_test)


# Anything else ----------------------------------------------------------------------------------


def any_request(method: str, path: str, *, body: Any = None) -> Operation[Any]:
    """Any endpoint, for what this version has no method for: the answer's JSON."""
    return Operation(method.upper(), path, lambda response: response.json(), body=body)

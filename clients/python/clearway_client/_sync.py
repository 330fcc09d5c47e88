"""`Clearway`: the blocking client. Each method names an operation (_operations.py) and runs
the core's flow for it with httpx.Client (_core.run_sync); nothing else happens here."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from clearway_client import _operations as ops
from clearway_client._core import Core, Flow, Operation, RetryPolicy, run_sync, settings_from_env
from clearway_client.models import (
    FINAL_STATUSES,
    ApiModel,
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
    Page,
    ReceivedInvoice,
    RotatedEndpoint,
    ValidationResult,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointWithSecret,
)
from clearway_client.webhooks import Webhooks

T = TypeVar("T")
M = TypeVar("M", bound=ApiModel)


class _Resource:
    def __init__(self, client: Clearway) -> None:
        self._client = client

    def _run(self, operation: Operation[T]) -> T:
        return self._client._drive(self._client._core.call(operation))  # noqa: SLF001

    def _pages(self, first: Callable[[str | None], Operation[Page[M]]]) -> Iterator[M]:
        """Every item of every page, fetching the next page when this one is used up."""
        cursor: str | None = None
        while True:
            current = self._run(first(cursor))
            yield from current.data
            if not current.has_more or current.next_cursor is None:
                return
            cursor = current.next_cursor


class Invoices(_Resource):
    def create(
        self,
        invoice: ops.InvoiceBody,
        *,
        idempotency_key: str | None = None,
        sandbox_scenario: str | None = None,
    ) -> Invoice:
        return self._run(ops.invoices_create(invoice, idempotency_key, sandbox_scenario))

    def validate(self, invoice: ops.InvoiceBody) -> ValidationResult:
        return self._run(ops.invoices_validate(invoice))

    def get(self, invoice_id: str, *, expand: Sequence[str] | None = None) -> Invoice:
        return self._run(ops.invoices_get(invoice_id, expand))

    def list(self, **filters: Unpack[ops.InvoiceFilters]) -> Iterator[Invoice]:
        return self._pages(lambda cursor: ops.invoices_page(cursor, **filters))

    def list_page(
        self, cursor: str | None = None, **filters: Unpack[ops.InvoiceFilters]
    ) -> Page[Invoice]:
        return self._run(ops.invoices_page(cursor, **filters))

    def events(self, invoice_id: str) -> builtins.list[Event]:
        return self._run(ops.invoices_events(invoice_id))

    def document(self, invoice_id: str) -> Document:
        return self._run(ops.invoices_document(invoice_id))

    def receipt(self, invoice_id: str) -> Document:
        return self._run(ops.invoices_receipt(invoice_id))

    def wait(
        self,
        invoice_id: str,
        *,
        until: Collection[str] = FINAL_STATUSES,
        timeout: float = 120,
        interval: float = 1.0,
    ) -> Invoice:
        """The invoice once its status is one of `until`; WaitTimeoutError after `timeout`."""
        return self._client._drive(  # noqa: SLF001
            self._client._core.wait(  # noqa: SLF001
                ops.invoices_get(invoice_id), until, timeout=timeout, interval=interval
            )
        )


class ReceivedInvoices(_Resource):
    def list(self, **filters: Unpack[ops.ReceivedFilters]) -> Iterator[ReceivedInvoice]:
        return self._pages(lambda cursor: ops.received_page(cursor, **filters))

    def get(self, received_id: str) -> ReceivedInvoice:
        return self._run(ops.received_get(received_id))

    def update(self, received_id: str, *, metadata: Mapping[str, str | None]) -> ReceivedInvoice:
        return self._run(ops.received_update(received_id, metadata))

    def events(self, received_id: str) -> builtins.list[Event]:
        return self._run(ops.received_events(received_id))

    def document(self, received_id: str) -> Document:
        return self._run(ops.received_document(received_id))

    def evidence(self, received_id: str) -> Document:
        return self._run(ops.received_evidence(received_id))

    def respond(
        self,
        received_id: str,
        decision: Decision,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReceivedInvoice:
        return self._run(ops.received_respond(received_id, decision, reason, idempotency_key))


class Companies(_Resource):
    def create(
        self,
        legal_name: str,
        vat_number: str,
        country: Country | str,
        **details: Unpack[ops.CompanyDetails],
    ) -> Company:
        return self._run(ops.companies_create(legal_name, vat_number, country, details))

    def list(self) -> builtins.list[Company]:
        return self._run(ops.companies_list())

    def get(self, company_id: str) -> Company:
        return self._run(ops.companies_get(company_id))

    def delete(self, company_id: str) -> Deleted:
        return self._run(ops.companies_delete(company_id))


class Connections(_Resource):
    def create(
        self,
        company_id: str,
        country_code: Country | str,
        *,
        is_sender: bool | None = None,
        is_receiver: bool | None = None,
    ) -> Connection:
        return self._run(
            ops.connections_create(
                company_id, country_code, is_sender=is_sender, is_receiver=is_receiver
            )
        )

    def list(self) -> builtins.list[Connection]:
        return self._run(ops.connections_list())

    def get(self, connection_id: str) -> Connection:
        return self._run(ops.connections_get(connection_id))

    def delete(self, connection_id: str) -> Deleted:
        return self._run(ops.connections_delete(connection_id))

    def upload_certificate(
        self,
        connection_id: str,
        certificate: str | bytes,
        *,
        format: CertificateFormat = "pem",  # noqa: A002 - the API's name
        password: str | None = None,
    ) -> Connection:
        return self._run(
            ops.connections_upload_certificate(connection_id, certificate, format, password)
        )

    def upload_ksef_token(self, connection_id: str, token: str) -> Connection:
        return self._run(ops.connections_upload_ksef_token(connection_id, token))

    def wait(
        self,
        connection_id: str,
        *,
        until: Collection[str] = frozenset({"active"}),
        timeout: float = 300,
        interval: float = 2.0,
    ) -> Connection:
        """The connection once its status is one of `until` (after the OAuth consent, say)."""
        return self._client._drive(  # noqa: SLF001
            self._client._core.wait(  # noqa: SLF001
                ops.connections_get(connection_id), until, timeout=timeout, interval=interval
            )
        )


class WebhookEndpoints(_Resource):
    def create(
        self,
        url: str,
        enabled_events: Sequence[EventType | str],
        *,
        description: str | None = None,
    ) -> WebhookEndpointWithSecret:
        return self._run(ops.endpoints_create(url, enabled_events, description))

    def list(self) -> builtins.list[WebhookEndpoint]:
        return self._run(ops.endpoints_list())

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return self._run(ops.endpoints_get(endpoint_id))

    def update(
        self,
        endpoint_id: str,
        *,
        url: str | ops.NotGiven = ops.NOT_GIVEN,
        enabled_events: Sequence[EventType | str] | ops.NotGiven = ops.NOT_GIVEN,
        description: str | ops.NotGiven | None = ops.NOT_GIVEN,
        disabled: bool | ops.NotGiven = ops.NOT_GIVEN,
    ) -> WebhookEndpoint:
        return self._run(
            ops.endpoints_update(
                endpoint_id,
                url=url,
                enabled_events=enabled_events,
                description=description,
                disabled=disabled,
            )
        )

    def delete(self, endpoint_id: str) -> Deleted:
        return self._run(ops.endpoints_delete(endpoint_id))

    def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None
    ) -> RotatedEndpoint:
        return self._run(ops.endpoints_rotate_secret(endpoint_id, overlap_seconds))

    def deliveries(
        self,
        endpoint_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int | None = None,
    ) -> Iterator[WebhookDelivery]:
        return self._pages(
            lambda cursor: ops.endpoints_deliveries_page(
                endpoint_id, cursor, status=status, limit=limit
            )
        )

    def retry_delivery(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send a delivery again now (a replay: the same webhook-id and body)."""
        return self._run(ops.endpoints_retry_delivery(endpoint_id, delivery_id))

    def send_test(self, endpoint_id: str) -> WebhookDelivery:
        return self._run(ops.endpoints_send_test(endpoint_id))


class Clearway:
    """The Clearway API, blocking. `api_key` and `base_url` default to $CLEARWAY_API_KEY and
    $CLEARWAY_API_URL. Connection errors, 429 and 5xx are retried `max_retries` times (see
    _core.RetryPolicy); every POST carries an idempotency key."""

    def __init__(  # noqa: PLR0913 - settings, each with its default
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        key, url = settings_from_env(api_key, base_url)
        self._core = Core(key, url, retry=retry or RetryPolicy(max_retries=max_retries))
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self.invoices = Invoices(self)
        self.received_invoices = ReceivedInvoices(self)
        self.companies = Companies(self)
        self.connections = Connections(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.webhooks = Webhooks()

    @property
    def base_url(self) -> str:
        return self._core.base_url

    def _drive(self, flow: Flow[T]) -> T:
        return run_sync(self._http, flow)

    def request(self, method: str, path: str, *, body: Any = None) -> Any:
        """Any endpoint, for what this version has no method for: the answer's JSON."""
        return self._drive(
            self._core.call(Operation(method.upper(), path, lambda r: r.json(), body=body))
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

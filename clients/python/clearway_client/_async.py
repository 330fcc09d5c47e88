"""`AsyncClearway`: the asyncio client. Each method names an operation (_operations.py) and runs
the core's flow for it with httpx.AsyncClient (_core.run_async); nothing else happens here."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from clearway_client import _operations as ops
from clearway_client._core import Core, Flow, Operation, RetryPolicy, run_async, settings_from_env
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
    def __init__(self, client: AsyncClearway) -> None:
        self._client = client

    async def _run(self, operation: Operation[T]) -> T:
        return await self._client._drive(self._client._core.call(operation))  # noqa: SLF001

    async def _pages(self, first: Callable[[str | None], Operation[Page[M]]]) -> AsyncIterator[M]:
        """Every item of every page, fetching the next page when this one is used up."""
        cursor: str | None = None
        while True:
            current = await self._run(first(cursor))
            for item in current.data:
                yield item
            if not current.has_more or current.next_cursor is None:
                return
            cursor = current.next_cursor


class Invoices(_Resource):
    async def create(
        self,
        invoice: ops.InvoiceBody,
        *,
        idempotency_key: str | None = None,
        sandbox_scenario: str | None = None,
    ) -> Invoice:
        return await self._run(ops.invoices_create(invoice, idempotency_key, sandbox_scenario))

    async def validate(self, invoice: ops.InvoiceBody) -> ValidationResult:
        return await self._run(ops.invoices_validate(invoice))

    async def get(self, invoice_id: str, *, expand: Sequence[str] | None = None) -> Invoice:
        return await self._run(ops.invoices_get(invoice_id, expand))

    def list(self, **filters: Unpack[ops.InvoiceFilters]) -> AsyncIterator[Invoice]:
        return self._pages(lambda cursor: ops.invoices_page(cursor, **filters))

    async def list_page(
        self, cursor: str | None = None, **filters: Unpack[ops.InvoiceFilters]
    ) -> Page[Invoice]:
        return await self._run(ops.invoices_page(cursor, **filters))

    async def events(self, invoice_id: str) -> builtins.list[Event]:
        return await self._run(ops.invoices_events(invoice_id))

    async def document(self, invoice_id: str) -> Document:
        return await self._run(ops.invoices_document(invoice_id))

    async def receipt(self, invoice_id: str) -> Document:
        return await self._run(ops.invoices_receipt(invoice_id))

    async def wait(
        self,
        invoice_id: str,
        *,
        until: Collection[str] = FINAL_STATUSES,
        timeout: float = 120,
        interval: float = 1.0,
    ) -> Invoice:
        """The invoice once its status is one of `until`; WaitTimeoutError after `timeout`."""
        return await self._client._drive(  # noqa: SLF001
            self._client._core.wait(  # noqa: SLF001
                ops.invoices_get(invoice_id), until, timeout=timeout, interval=interval
            )
        )


class ReceivedInvoices(_Resource):
    def list(self, **filters: Unpack[ops.ReceivedFilters]) -> AsyncIterator[ReceivedInvoice]:
        return self._pages(lambda cursor: ops.received_page(cursor, **filters))

    async def get(self, received_id: str) -> ReceivedInvoice:
        return await self._run(ops.received_get(received_id))

    async def update(
        self, received_id: str, *, metadata: Mapping[str, str | None]
    ) -> ReceivedInvoice:
        return await self._run(ops.received_update(received_id, metadata))

    async def events(self, received_id: str) -> builtins.list[Event]:
        return await self._run(ops.received_events(received_id))

    async def document(self, received_id: str) -> Document:
        return await self._run(ops.received_document(received_id))

    async def evidence(self, received_id: str) -> Document:
        return await self._run(ops.received_evidence(received_id))

    async def respond(
        self,
        received_id: str,
        decision: Decision,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReceivedInvoice:
        return await self._run(ops.received_respond(received_id, decision, reason, idempotency_key))


class Companies(_Resource):
    async def create(
        self,
        legal_name: str,
        vat_number: str,
        country: Country | str,
        **details: Unpack[ops.CompanyDetails],
    ) -> Company:
        return await self._run(ops.companies_create(legal_name, vat_number, country, details))

    async def list(self) -> builtins.list[Company]:
        return await self._run(ops.companies_list())

    async def get(self, company_id: str) -> Company:
        return await self._run(ops.companies_get(company_id))

    async def delete(self, company_id: str) -> Deleted:
        return await self._run(ops.companies_delete(company_id))


class Connections(_Resource):
    async def create(
        self,
        company_id: str,
        country_code: Country | str,
        *,
        is_sender: bool | None = None,
        is_receiver: bool | None = None,
    ) -> Connection:
        return await self._run(
            ops.connections_create(
                company_id, country_code, is_sender=is_sender, is_receiver=is_receiver
            )
        )

    async def list(self) -> builtins.list[Connection]:
        return await self._run(ops.connections_list())

    async def get(self, connection_id: str) -> Connection:
        return await self._run(ops.connections_get(connection_id))

    async def delete(self, connection_id: str) -> Deleted:
        return await self._run(ops.connections_delete(connection_id))

    async def upload_certificate(
        self,
        connection_id: str,
        certificate: str | bytes,
        *,
        format: CertificateFormat = "pem",  # noqa: A002 - the API's name
        password: str | None = None,
    ) -> Connection:
        return await self._run(
            ops.connections_upload_certificate(connection_id, certificate, format, password)
        )

    async def upload_ksef_token(self, connection_id: str, token: str) -> Connection:
        return await self._run(ops.connections_upload_ksef_token(connection_id, token))

    async def wait(
        self,
        connection_id: str,
        *,
        until: Collection[str] = frozenset({"active"}),
        timeout: float = 300,
        interval: float = 2.0,
    ) -> Connection:
        """The connection once its status is one of `until` (after the OAuth consent, say)."""
        return await self._client._drive(  # noqa: SLF001
            self._client._core.wait(  # noqa: SLF001
                ops.connections_get(connection_id), until, timeout=timeout, interval=interval
            )
        )


class WebhookEndpoints(_Resource):
    async def create(
        self,
        url: str,
        enabled_events: Sequence[EventType | str],
        *,
        description: str | None = None,
    ) -> WebhookEndpointWithSecret:
        return await self._run(ops.endpoints_create(url, enabled_events, description))

    async def list(self) -> builtins.list[WebhookEndpoint]:
        return await self._run(ops.endpoints_list())

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._run(ops.endpoints_get(endpoint_id))

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | ops.NotGiven = ops.NOT_GIVEN,
        enabled_events: Sequence[EventType | str] | ops.NotGiven = ops.NOT_GIVEN,
        description: str | ops.NotGiven | None = ops.NOT_GIVEN,
        disabled: bool | ops.NotGiven = ops.NOT_GIVEN,
    ) -> WebhookEndpoint:
        return await self._run(
            ops.endpoints_update(
                endpoint_id,
                url=url,
                enabled_events=enabled_events,
                description=description,
                disabled=disabled,
            )
        )

    async def delete(self, endpoint_id: str) -> Deleted:
        return await self._run(ops.endpoints_delete(endpoint_id))

    async def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None
    ) -> RotatedEndpoint:
        return await self._run(ops.endpoints_rotate_secret(endpoint_id, overlap_seconds))

    def deliveries(
        self,
        endpoint_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[WebhookDelivery]:
        return self._pages(
            lambda cursor: ops.endpoints_deliveries_page(
                endpoint_id, cursor, status=status, limit=limit
            )
        )

    async def retry_delivery(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send a delivery again now (a replay: the same webhook-id and body)."""
        return await self._run(ops.endpoints_retry_delivery(endpoint_id, delivery_id))

    async def send_test(self, endpoint_id: str) -> WebhookDelivery:
        return await self._run(ops.endpoints_send_test(endpoint_id))


class AsyncClearway:
    """The Clearway API, for asyncio. `api_key` and `base_url` default to $CLEARWAY_API_KEY and
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
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        key, url = settings_from_env(api_key, base_url)
        self._core = Core(key, url, retry=retry or RetryPolicy(max_retries=max_retries))
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self.invoices = Invoices(self)
        self.received_invoices = ReceivedInvoices(self)
        self.companies = Companies(self)
        self.connections = Connections(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.webhooks = Webhooks()

    @property
    def base_url(self) -> str:
        return self._core.base_url

    async def _drive(self, flow: Flow[T]) -> T:
        return await run_async(self._http, flow)

    async def request(self, method: str, path: str, *, body: Any = None) -> Any:
        """Any endpoint, for what this version has no method for: the answer's JSON."""
        return await self._drive(
            self._core.call(Operation(method.upper(), path, lambda r: r.json(), body=body))
        )

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

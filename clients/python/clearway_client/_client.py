"""`Clearway` (blocking) and `AsyncClearway` (asyncio): the same resources, each endpoint said
once in _operations.py, run by a SyncTransport or an AsyncTransport (_transports.py)."""

from __future__ import annotations

from typing import Self

import httpx

from clearway_client._core import Core, RetryPolicy, settings_from_env
from clearway_client._methods import H, Resource, endpoint
from clearway_client._operations import (
    Companies,
    Connections,
    Invoices,
    ReceivedInvoices,
    WebhookEndpoints,
    any_request,
)
from clearway_client._transports import AsyncTransport, SyncTransport
from clearway_client.webhooks import Webhooks


class _Client(Resource[H]):
    """What both clients are: the settings, the resources, `request` for anything else."""

    request = endpoint(any_request)

    def __init__(  # noqa: PLR0913 - settings, each with its default
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        http_client: H | None = None,
    ) -> None:
        key, url = settings_from_env(api_key, base_url)
        core = Core(key, url, retry=retry or RetryPolicy(max_retries=max_retries))
        super().__init__(self._connect(core, http_client, timeout))
        self.invoices: Invoices[H] = Invoices(self._transport)
        self.received_invoices: ReceivedInvoices[H] = ReceivedInvoices(self._transport)
        self.companies: Companies[H] = Companies(self._transport)
        self.connections: Connections[H] = Connections(self._transport)
        self.webhook_endpoints: WebhookEndpoints[H] = WebhookEndpoints(self._transport)
        self.webhooks = Webhooks()

    def _connect(
        self, core: Core, http: H | None, timeout: float
    ) -> SyncTransport | AsyncTransport:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self._transport.core.base_url


class Clearway(_Client[httpx.Client]):
    """The Clearway API, blocking. `api_key` and `base_url` default to $CLEARWAY_API_KEY and
    $CLEARWAY_API_URL. Connection errors, 429 and 5xx are retried `max_retries` times (see
    _core.RetryPolicy); every POST carries an idempotency key."""

    _transport: SyncTransport

    def _connect(self, core: Core, http: httpx.Client | None, timeout: float) -> SyncTransport:
        return SyncTransport(core, http, timeout)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClearway(_Client[httpx.AsyncClient]):
    """The Clearway API, for asyncio: `Clearway`'s methods, awaited; `list` (and `deliveries`)
    an async iterator."""

    _transport: AsyncTransport

    def _connect(
        self, core: Core, http: httpx.AsyncClient | None, timeout: float
    ) -> AsyncTransport:
        return AsyncTransport(core, http, timeout)

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

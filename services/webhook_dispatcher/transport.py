"""The HTTP client webhooks leave through: it calls only addresses the policy allows, checked
after DNS resolution and connected to as checked, follows no redirect, and reads at most
RESPONSE_LIMIT_BYTES of an answer.

DNS rebinding: the name is resolved once, inside the connection step, and the socket is opened
to the very address that was checked, not to the name (which a hostile DNS server could
answer differently a second time). TLS still verifies the certificate against the name. httpx
has no public hook for its connection step, so the client's transport gets an httpcore pool
whose network backend does this (`GuardedNetworkBackend`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpcore
import httpx
from clearway.domain.ids import utcnow
from clearway.resilience.backoff import parse_retry_after
from clearway.webhooks.addresses import AddressPolicy, DestinationRefusedError, IPAddress
from clearway.webhooks.retry import RETRY_AFTER_STATUSES
from clearway.webhooks.settings import RESPONSE_LIMIT_BYTES

RESPONSE_KEPT_CHARS = 1024  # of the answer, recorded with the attempt
USER_AGENT = "Clearway-Webhooks/0.1"


async def resolve_allowed(host: str, port: int, policy: AddressPolicy) -> list[IPAddress]:
    """Every address `host` stands for, when the policy allows all of them.

    A name that resolves to one public and one private address is refused as a whole: which
    one a client ends up on is not ours to choose.
    """
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        policy.check(address)
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last_error: Exception | None = None
        for address in await resolve_allowed(host, port, self._policy):
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last_error}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(policy: AddressPolicy, *, max_connections: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # The one private attribute used: httpx builds its pool without a backend parameter.
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
        network_backend=GuardedNetworkBackend(policy),
    )
    # No proxy (it would connect for us, unchecked), no redirects (a 3xx could point inside).
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)


@dataclass(frozen=True)
class AttemptResult:
    duration_ms: int
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    response_body: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.http_status is not None and 200 <= self.http_status < 300


async def _read_limited(response: httpx.Response) -> bytes:
    kept = bytearray()
    async for chunk in response.aiter_raw():
        kept.extend(chunk[: RESPONSE_LIMIT_BYTES - len(kept)])
        if len(kept) >= RESPONSE_LIMIT_BYTES:
            break  # the rest is never read: the connection is closed instead of drained
    return bytes(kept)


def _error_for_status(status: int) -> str | None:
    if 200 <= status < 300:  # the 2xx class
        return None
    if 300 <= status < 400:  # the 3xx class
        return f"HTTP {status}: redirects are not followed"
    return f"HTTP {status}"


class Sender:
    def __init__(self, client: httpx.AsyncClient, *, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> AttemptResult:
        """One attempt: success is a 2xx answer within the timeout, the whole exchange counted
        (resolution, connection, TLS, request and the answer's first bytes)."""
        started = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            async with asyncio.timeout(self._timeout):
                request = self._client.build_request(
                    "POST",
                    url,
                    content=body,
                    headers={
                        "content-type": "application/json",
                        "user-agent": USER_AGENT,
                        # Uncompressed, so the size limit is a limit on what is held.
                        "accept-encoding": "identity",
                        **headers,
                    },
                    timeout=httpx.Timeout(self._timeout),
                )
                response = await self._client.send(request, stream=True)
                try:
                    answer = await _read_limited(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            return AttemptResult(elapsed(), error=f"no answer within {self._timeout:g} s")
        except DestinationRefusedError as exc:
            return AttemptResult(elapsed(), error=f"refused: {exc}")
        except httpx.HTTPError as exc:
            return AttemptResult(elapsed(), error=f"{type(exc).__name__}: {exc}")
        retry_after = (
            parse_retry_after(response.headers.get("retry-after"), utcnow())
            if response.status_code in RETRY_AFTER_STATUSES
            else None
        )
        return AttemptResult(
            elapsed(),
            http_status=response.status_code,
            error=_error_for_status(response.status_code),
            retry_after=retry_after,
            response_body=answer.decode("utf-8", "replace")[:RESPONSE_KEPT_CHARS] or None,
        )

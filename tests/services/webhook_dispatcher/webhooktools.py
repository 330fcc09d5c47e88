"""A webhook receiver for the tests: a small HTTP/1.1 server on 127.0.0.1 whose every path can be
told how to answer (a status, a Retry-After, a delay, never), and which keeps every request.

It verifies signatures on its own (not with Clearway's code), as a customer's receiver would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from clearway.domain.ids import new_id
from clearway.messaging.envelope import ConnectionEventMessage


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.monotonic()

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


# How a path answers its n-th request (n from 0); None: never (the connection is left hanging).
Behaviour = Callable[[Received, int], Awaitable[Answer | None]]


def answer(status: int = 200, **headers: str) -> Behaviour:
    async def behave(_: Received, __: int) -> Answer:
        return Answer(status, {k.replace("_", "-"): v for k, v in headers.items()})

    return behave


def in_turn(answers: Sequence[Answer], then: Answer | None = None) -> Behaviour:
    """The n-th request gets answers[n]; the ones after them `then` (default 200)."""

    async def behave(_: Received, n: int) -> Answer:
        return answers[n] if n < len(answers) else (then or Answer())

    return behave


async def _never(_: Received, __: int) -> Answer | None:
    return None


never: Behaviour = _never


def signature_is_valid(received: Received, secret: str, *, tolerance: float = 300) -> bool:
    """Standard Webhooks verification, written from the specification."""
    webhook_id = received.headers["webhook-id"]
    timestamp = received.headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [
        part.split(",", 1)[1]
        for part in received.headers["webhook-signature"].split(" ")
        if part.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, signature) for signature in offered)


def about(invoice_id: str) -> Callable[[Received], bool]:
    """Matches the webhook requests about one invoice."""
    return lambda request: request.json()["data"].get("invoiceId") == invoice_id


class Receiver:
    def __init__(self) -> None:
        self.received: dict[str, list[Received]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_in_flight: dict[str, int] = defaultdict(int)
        self._behaviours: dict[str, Behaviour] = {}
        self._arrivals = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.port = 0

    def route(self, behaviour: Behaviour | None = None) -> str:
        """A new path answering as `behaviour` (200 by default); returns its URL."""
        path = f"/hooks/{secrets.token_hex(6)}"
        self._behaviours[path] = behaviour or answer(200)
        return f"http://127.0.0.1:{self.port}{path}"

    def behave(self, url: str, behaviour: Behaviour) -> None:
        self._behaviours[_path_of(url)] = behaviour

    def requests(
        self, url: str, *, matching: Callable[[Received], bool] | None = None
    ) -> list[Received]:
        return [r for r in self.received[_path_of(url)] if matching is None or matching(r)]

    async def wait_for(
        self,
        url: str,
        count: int,
        *,
        timeout: float = 30,
        matching: Callable[[Received], bool] | None = None,
    ) -> list[Received]:
        """The first `count` requests to `url` (those `matching`, when given: the account's
        endpoints also receive other tests' events), waiting for them to arrive."""
        async with asyncio.timeout(timeout), self._arrivals:
            await self._arrivals.wait_for(
                lambda: len(self.requests(url, matching=matching)) >= count
            )
        return self.requests(url, matching=matching)[:count]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in self._connections:
                connection.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                if not await self._answer(request, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return  # the receiver stopped: the connection simply ends
        finally:
            self._connections.discard(task)
            writer.close()

    async def _answer(
        self, request: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        path = request.path
        behaviour = self._behaviours.get(path, answer(404))
        async with self._arrivals:
            n = len(self.received[path])
            self.received[path].append(request)
            self._arrivals.notify_all()
        self.in_flight[path] += 1
        self.most_in_flight[path] = max(self.most_in_flight[path], self.in_flight[path])
        try:
            reply = await behaviour(request, n)
            if reply is None:
                await reader.read()  # never answers: waits for the client to hang up
                return False
            await asyncio.sleep(reply.delay)
            head = [f"HTTP/1.1 {reply.status} X", f"Content-Length: {len(reply.body)}"]
            head += [f"{name}: {value}" for name, value in reply.headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
            await writer.drain()
            return True
        finally:
            self.in_flight[path] -= 1


def _path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3] if url.startswith("http") else url


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    _, target, _ = lines[0].split(" ", 2)
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Received(target, headers, body, time.monotonic())


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


# --- the API side -------------------------------------------------------------------------------


async def create_endpoint(
    client: httpx.AsyncClient, url: str, events: Sequence[str] = ("*",), **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": url, "enabledEvents": list(events), **fields}
    )
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()["data"]
    return endpoint


async def routed_endpoint(
    client: httpx.AsyncClient,
    receiver: Receiver,
    behaviour: Behaviour | None = None,
    events: Sequence[str] = ("*",),
) -> tuple[str, dict[str, Any]]:
    """A new path of `receiver` answering as `behaviour`, and the account's endpoint for it:
    (its URL, the endpoint)."""
    url = receiver.route(behaviour)
    return url, await create_endpoint(client, url, events)


async def sole_endpoint(
    client: httpx.AsyncClient, receiver: Receiver, events: Sequence[str] = ("*",)
) -> tuple[str, dict[str, Any]]:
    """routed_endpoint (answering 200) as the account's only endpoint (clear_endpoints)."""
    await clear_endpoints(client)
    return await routed_endpoint(client, receiver, events=events)


async def deliveries(client: httpx.AsyncClient, endpoint_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries?limit=100")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


async def wait_for_delivery(
    client: httpx.AsyncClient,
    endpoint_id: str,
    done: Callable[[dict[str, Any]], bool],
    *,
    timeout: float = 30,
) -> dict[str, Any]:
    """The endpoint's first delivery for which `done` holds, polling the API for it."""
    deadline = time.monotonic() + timeout
    while True:
        for delivery in await deliveries(client, endpoint_id):
            if done(delivery):
                return delivery
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no such delivery after {timeout}s: {await deliveries(client, endpoint_id)}"
            )
        await asyncio.sleep(0.1)


async def send_test_event(client: httpx.AsyncClient, endpoint_id: str) -> dict[str, Any]:
    response = await client.post(f"/v1/webhook-endpoints/{endpoint_id}/test")
    assert response.status_code == 202, response.text
    delivery: dict[str, Any] = response.json()["data"]
    return delivery


async def clear_endpoints(client: httpx.AsyncClient) -> None:
    """Delete the account's endpoints: the dev account is shared by the whole session, and what
    other tests left there must neither fill its sixteen places nor receive this test's events."""
    for endpoint in (await client.get("/v1/webhook-endpoints")).json()["data"]:
        await client.delete(f"/v1/webhook-endpoints/{endpoint['id']}")


def connection_expired(account_id: str) -> ConnectionEventMessage:
    """A `connection.events` message: the account's RO connection expired (ANAF refused)."""
    return ConnectionEventMessage(
        event_id=new_id("evt"),
        event="connection.expired",
        connection_id="conn_test",
        account_id=account_id,
        company_id="comp_test",
        country_code="RO",
        status="expired",
        token_expires_at=None,
        last_error_message="ANAF refused the refresh token.",
        created_at="2025-01-15T10:00:00.000Z",
    )

"""Plumbing the non-ANAF simulators share: fault injection, sliding-window rate limits, a
hardened XML parser, bearer credentials and the standard test-only controls.

Every simulator keeps its state in memory and moves it lazily: a submission records when its
processing ends, and whichever request looks next after that moment sees the outcome. A fake
clock in the tests therefore replaces sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Generic, Protocol, TypeVar

from clearway.domain.sandbox import SANDBOX_INVOICE_HEADER, SANDBOX_SCENARIO_HEADER, SandboxScenario
from clearway.formats.hardened import hardened_parser
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

Clock = Callable[[], float]

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


# --- fault injection -----------------------------------------------------------------------


class FaultKind(StrEnum):
    """What a queued fault does to the call it hits."""

    HTTP_500 = "http_500"  # nothing happens; HTTP 500
    HTTP_503 = "http_503"  # nothing happens; HTTP 503 from the gateway
    HTTP_429 = "http_429"  # nothing happens; HTTP 429 with Retry-After
    LOST_RESPONSE = "lost_response"  # the call takes effect, but the caller gets HTTP 504


@dataclass(frozen=True)
class QueuedFault:
    kind: FaultKind
    retry_after_seconds: int
    path_contains: str | None  # None: the next call of any path

    def matches(self, path: str) -> bool:
        return self.path_contains is None or self.path_contains in path

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "retry_after_seconds": self.retry_after_seconds,
            "path_contains": self.path_contains,
        }


class FaultQueue:
    """Faults for the next calls, in the order they were queued."""

    def __init__(self) -> None:
        self._queue: deque[QueuedFault] = deque()

    def add(self, fault: QueuedFault, count: int) -> None:
        self._queue.extend([fault] * count)

    def take(self, path: str) -> QueuedFault | None:
        for fault in self._queue:
            if fault.matches(path):
                self._queue.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._queue.clear()

    @property
    def pending(self) -> list[dict[str, Any]]:
        return [fault.as_json() for fault in self._queue]


# --- sandbox scenarios ---------------------------------------------------------------------

SCENARIO_TRANSIENT_FAILURES = 2  # `transient_error`: this many 503s before the call works
SCENARIO_SLOW_SECONDS = 1.5  # `slow`: each such call is answered this late


class ScenarioPlays:
    """Sandbox scenarios as faults: a call carrying Clearway's scenario and invoice headers
    misbehaves as the scenario says for that invoice's first calls, then works. `reject`,
    `token_expired` and the slow decision are the country's own (its routes read the header)."""

    def __init__(self) -> None:
        self._calls: Counter[tuple[str, str]] = Counter()

    def fault_for(self, request: Request) -> tuple[QueuedFault | None, bool]:
        """The fault this call meets (or None), and whether to answer it late."""
        scenario = scenario_of(request)
        invoice = request.headers.get(SANDBOX_INVOICE_HEADER)
        if scenario is None or not invoice:
            return None, False
        self._calls[scenario.value, invoice] += 1
        call = self._calls[scenario.value, invoice]
        if scenario is SandboxScenario.TRANSIENT_ERROR and call <= SCENARIO_TRANSIENT_FAILURES:
            return QueuedFault(FaultKind.HTTP_503, 0, None), False
        if scenario is SandboxScenario.RATE_LIMITED and call == 1:
            return QueuedFault(FaultKind.HTTP_429, 1, None), False
        if scenario is SandboxScenario.TIMEOUT and call == 1:
            return QueuedFault(FaultKind.LOST_RESPONSE, 0, None), False
        return None, scenario is SandboxScenario.SLOW


def scenario_of(request: Request) -> SandboxScenario | None:
    try:
        return SandboxScenario(request.headers.get(SANDBOX_SCENARIO_HEADER, "").strip().lower())
    except ValueError:
        return None


class CredentialExpiry:
    """The `token_expired` scenario where the credential is Clearway's own (an API key, a client
    certificate): the first call carrying it for an invoice is refused, as at a rotation, and
    the retry goes through."""

    def __init__(self) -> None:
        self._played: set[str] = set()  # the invoices it has refused a call for

    def refuses(self, request: Request) -> bool:
        invoice_id = request.headers.get(SANDBOX_INVOICE_HEADER, "")
        if (
            scenario_of(request) is not SandboxScenario.TOKEN_EXPIRED
            or not invoice_id
            or invoice_id in self._played
        ):
            return False
        self._played.add(invoice_id)
        return True

    def clear(self) -> None:
        self._played.clear()


# --- what a simulator received, decided lazily ---------------------------------------------


class Processed(Protocol):
    ready_at: float  # when its processing is over


Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item", bound=Processed)
Forced = TypeVar("Forced")


class Arrivals(Generic[Key, Item, Forced]):
    """What a simulator received, by id, and the lazy end of its processing: whoever looks
    (`get`, `all`, `settle`) first has every item whose processing is over decided, in arrival
    order, then `follow_up` run for what moves on after a decision (routing, timers). A test can
    queue outcomes that the next arrivals take (`force_next`, `next_forced`)."""

    def __init__(
        self,
        *,
        clock: Clock,
        decide: Callable[[Item], None],
        follow_up: Callable[[float], None] | None = None,
    ) -> None:
        self._clock = clock
        self._decide = decide
        self._follow_up = follow_up
        self._items: dict[Key, Item] = {}
        self._undecided: dict[Key, Item] = {}  # in arrival order
        self._forced: deque[Forced] = deque()

    def add(self, key: Key, item: Item, *, undecided: bool = True) -> Item:
        """Keep `item`; one that is not `undecided` was answered for good on arrival."""
        self._items[key] = item
        if undecided:
            self._undecided[key] = item
        return item

    def get(self, key: Key) -> Item | None:
        self.settle()
        return self._items.get(key)

    def all(self) -> list[Item]:
        """Everything received, oldest first."""
        self.settle()
        return list(self._items.values())

    def decide_now(self, key: Key) -> Item | None:
        """End one item's processing now (None when unknown)."""
        item = self._items.get(key)
        if item is not None:
            item.ready_at = min(item.ready_at, self._clock())
            self.settle()
        return item

    def force_next(self, forced: Forced, count: int) -> None:
        self._forced.extend([forced] * count)

    def next_forced(self) -> Forced | None:
        return self._forced.popleft() if self._forced else None

    def settle(self) -> None:
        now = self._clock()
        for key, item in list(self._undecided.items()):
            if item.ready_at <= now:
                del self._undecided[key]
                self._decide(item)
        if self._follow_up is not None:
            self._follow_up(now)

    def clear(self) -> None:
        self._items.clear()
        self._undecided.clear()
        self._forced.clear()


# --- rate limits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """Thresholds that all hold at once; None leaves a window unlimited."""

    per_second: int | None = None
    per_minute: int | None = None
    per_hour: int | None = None

    def windows(self) -> list[tuple[int, int]]:
        """(window seconds, maximum calls in it), for the windows that are limited."""
        pairs = ((1, self.per_second), (60, self.per_minute), (3600, self.per_hour))
        return [(seconds, limit) for seconds, limit in pairs if limit is not None]


@dataclass(frozen=True)
class Refusal:
    """A call over a limit: how long to wait, and which window was full (for the message)."""

    retry_after_seconds: int
    window_seconds: int
    limit: int


class SlidingWindowLimiter:
    """Counts calls per key over sliding (not calendar-aligned) windows."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def admit(self, key: str, limit: RateLimit) -> Refusal | None:
        windows = limit.windows()
        if not windows:
            return None
        now = self._clock()
        calls = self._calls.setdefault(key, deque())
        longest = max(seconds for seconds, _ in windows)
        while calls and calls[0] <= now - longest:
            calls.popleft()
        for seconds, maximum in windows:
            in_window = [at for at in calls if at > now - seconds]
            if len(in_window) >= maximum:
                # The window frees a slot when its oldest counted call leaves it.
                wait = in_window[-maximum] + seconds - now
                return Refusal(max(1, math.ceil(wait)), seconds, maximum)
        calls.append(now)
        return None

    def clear(self) -> None:
        self._calls.clear()


@dataclass
class ReceivingSimulator(Generic[Key, Item, Forced]):
    """A simulator that receives items and decides each once its processing delay is over:
    the items are `received`; subclasses decide one in `_decide`, move decided ones on in
    `_follow_up`, and clear the rest of their state in `_clear_state`. Reset restores the
    processing delay it was made with and lifts faults and the rate limit."""

    processing_delay: float
    clock: Clock = time.time
    faults: FaultQueue = field(default_factory=FaultQueue)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    limiter: SlidingWindowLimiter = field(init=False)
    received: Arrivals[Key, Item, Forced] = field(init=False)
    _default_processing_delay: float = field(init=False)

    def __post_init__(self) -> None:
        self._default_processing_delay = self.processing_delay
        self.limiter = SlidingWindowLimiter(self.clock)
        self.received = Arrivals(clock=self.clock, decide=self._decide, follow_up=self._follow_up)

    def reset(self) -> None:
        self.processing_delay = self._default_processing_delay
        self.faults.clear()
        self.rate_limit = RateLimit()
        self.limiter.clear()
        self.received.clear()
        self._clear_state()

    def _clear_state(self) -> None:
        raise NotImplementedError

    def _decide(self, item: Item) -> None:
        raise NotImplementedError

    def _follow_up(self, now: float) -> None:
        """Nothing moves after the decision unless a subclass says so."""

    def settle(self) -> None:
        self.received.settle()


# --- the guard around every real-contract route --------------------------------------------


class ApiGuard:
    """What runs around each route of a simulated API: sandbox scenarios and queued faults,
    then the rate limit.

    `render_fault` answers an HTTP fault the way the country's gateway would; `admit` returns
    the country's 429 (or None) for a request. A LOST_RESPONSE fault lets the route run and
    then replaces its successful answer with a 504, as a timeout after the server acted would.
    """

    def __init__(
        self,
        *,
        faults: FaultQueue,
        render_fault: Callable[[QueuedFault], Response],
        admit: Callable[[Request], Response | None] | None = None,
    ) -> None:
        self.faults = faults
        self.render_fault = render_fault
        self.admit = admit
        self.scenarios = ScenarioPlays()

    async def run(
        self, request: Request, handler: Callable[[Request], Coroutine[Any, Any, Response]]
    ) -> Response:
        fault, slow = self.scenarios.fault_for(request)
        if slow:
            await asyncio.sleep(SCENARIO_SLOW_SECONDS)
        fault = fault or self.faults.take(request.url.path)
        if fault is not None and fault.kind is not FaultKind.LOST_RESPONSE:
            return self.render_fault(fault)
        if self.admit is not None:
            refusal = self.admit(request)
            if refusal is not None:
                return refusal
        response = await handler(request)
        if fault is not None and response.status_code < HTTPStatus.MULTIPLE_CHOICES:
            return Response("Gateway Timeout", HTTPStatus.GATEWAY_TIMEOUT, media_type="text/plain")
        return response


def plain_fault_response(fault: QueuedFault) -> Response:
    """A gateway's answer to an injected fault, for APIs without an error format of their own."""
    if fault.kind is FaultKind.HTTP_429:
        return Response(
            "Too Many Requests",
            HTTPStatus.TOO_MANY_REQUESTS,
            headers={"Retry-After": str(fault.retry_after_seconds)},
            media_type="text/plain",
        )
    if fault.kind is FaultKind.HTTP_503:
        page = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        return Response(page, HTTPStatus.SERVICE_UNAVAILABLE, media_type="text/html")
    return Response(
        "Internal Server Error", HTTPStatus.INTERNAL_SERVER_ERROR, media_type="text/plain"
    )


def guarded_route_class(guard: ApiGuard) -> type[APIRoute]:
    """An APIRoute class whose handlers run inside `guard` (for APIRouter(route_class=...))."""

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                return await guard.run(request, handler)

            return guarded

    return GuardedRoute


def guarded_router(
    *,
    prefix: str,
    tag: str,
    faults: FaultQueue,
    admit: Callable[[Request], Response | None] | None = None,
    render_fault: Callable[[QueuedFault], Response] = plain_fault_response,
) -> APIRouter:
    """A router for a simulated API whose every route runs inside an ApiGuard."""
    guard = ApiGuard(faults=faults, render_fault=render_fault, admit=admit)
    return APIRouter(prefix=prefix, tags=[tag], route_class=guarded_route_class(guard))


# --- untrusted XML -------------------------------------------------------------------------


class UntrustedXmlError(Exception):
    """The bytes are not a well-formed XML document the simulators agree to read."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def hardened_xml_parser(*, remove_pis: bool = False) -> etree.XMLParser:
    """lxml's parser with what hostile XML abuses turned off: DTDs, entity expansion, the
    network and huge trees (Clearway's own: clearway.formats.hardened)."""
    return hardened_parser(remove_pis=remove_pis)


def parse_untrusted_xml(body: bytes) -> etree._Element:
    """Parse XML from a caller: no DTD at all, no entity expansion, no network, no huge trees.

    A DOCTYPE is refused outright, by a byte scan before parsing and again after parsing in case
    an encoding (UTF-16) hid it from the scan; with entity resolution off, nothing declared in
    it is ever expanded on the way.
    """
    if b"<!DOCTYPE" in body:
        raise UntrustedXmlError("DOCTYPE is not allowed")
    try:
        root = etree.fromstring(body, hardened_xml_parser(remove_pis=True))
    except etree.XMLSyntaxError as exc:
        raise UntrustedXmlError(exc.msg, exc.lineno) from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise UntrustedXmlError("DOCTYPE is not allowed")
    return root


def child_text(element: etree._Element | None, path: str, namespaces: Mapping[str, str]) -> str:
    """The stripped text at `path` under `element`, or "" when absent."""
    if element is None:
        return ""
    found = element.find(path, namespaces=dict(namespaces))
    return (found.text or "").strip() if found is not None else ""


# --- credentials ---------------------------------------------------------------------------


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def hs256_jwt(key: bytes, claims: Mapping[str, Any]) -> str:
    """A JWT over `claims`, HMAC-SHA256-signed with `key` (compact JSON, unpadded base64url)."""
    header = _base64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _base64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_base64url(signature)}"


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Expiring(Protocol):
    expires_at: float


def expire_now(tokens: Mapping[str, Expiring], value: str, now: float) -> bool:
    """End the token `value`'s life now (a test control); False when there is no such token."""
    token = tokens.get(value)
    if token is None:
        return False
    token.expires_at = now
    return True


async def read_body(request: Request, limit: int = MAX_DOCUMENT_BYTES) -> bytes | None:
    """The request body, or None once it passes `limit` bytes (without reading the rest)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)


# --- standard test-only controls -----------------------------------------------------------


class ControllableSimulator(Protocol):
    faults: FaultQueue
    processing_delay: float

    def reset(self) -> None: ...


class RateLimitedSimulator(ControllableSimulator, Protocol):
    rate_limit: RateLimit  # one limit for every call


class ProcessingDelay(BaseModel):
    model_config = ConfigDict(frozen=True)
    seconds: float = Field(ge=0)


class Queued(BaseModel):
    """A test control that applies to the next `count` calls (or submissions)."""

    model_config = ConfigDict(frozen=True)
    count: int = Field(default=1, ge=1)


class FaultRequest(Queued):
    kind: FaultKind
    retry_after_seconds: int = Field(default=30, ge=0)  # only for http_429
    path_contains: str | None = None  # limit the fault to calls whose path contains this


class RequestsPerMinute(BaseModel):
    model_config = ConfigDict(frozen=True)
    requests_per_minute: int | None = Field(ge=1)  # None: unlimited


def add_standard_controls(router: APIRouter, simulator: ControllableSimulator) -> None:
    """/reset, /processing-delay and /faults, the controls every simulator has."""

    @router.post("/reset", status_code=HTTPStatus.NO_CONTENT)
    async def reset() -> None:
        """Forget everything submitted, queued faults and overrides."""
        simulator.reset()

    @router.put("/processing-delay", status_code=HTTPStatus.NO_CONTENT)
    async def set_processing_delay(delay: ProcessingDelay) -> None:
        """Applies to later submissions; earlier ones keep the delay they were given."""
        simulator.processing_delay = delay.seconds

    @router.get("/faults")
    async def faults() -> dict[str, list[dict[str, Any]]]:
        return {"pending": simulator.faults.pending}

    @router.post("/faults")
    async def queue_faults(request: FaultRequest) -> dict[str, list[dict[str, Any]]]:
        """The next `count` matching calls fail as `kind` says (see FaultKind)."""
        fault = QueuedFault(request.kind, request.retry_after_seconds, request.path_contains)
        simulator.faults.add(fault, request.count)
        return {"pending": simulator.faults.pending}

    @router.delete("/faults", status_code=HTTPStatus.NO_CONTENT)
    async def clear_faults() -> None:
        simulator.faults.clear()


def standard_control_router(simulator: RateLimitedSimulator, *, prefix: str, tag: str) -> APIRouter:
    """The test-only router of a simulator with one rate limit: the standard controls, and
    /rate-limit."""
    router = APIRouter(prefix=prefix, tags=[tag])
    add_standard_controls(router, simulator)

    @router.put("/rate-limit", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(limit: RequestsPerMinute) -> None:
        simulator.rate_limit = RateLimit(per_minute=limit.requests_per_minute)

    return router

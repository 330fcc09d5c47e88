"""The one core both clients drive: what to send, when to retry, how to read the answer.

Every call is a generator of steps (`Send` a request, `Sleep` a while) that receives each
request's outcome and returns the parsed result. The transports (_transports.py) run the steps:
`SyncTransport` with httpx.Client and time.sleep (for `Clearway`), `AsyncTransport` with
httpx.AsyncClient and asyncio.sleep (for `AsyncClearway`): the retry rules, the idempotency keys,
the waits and the parsing (_parsers.py) exist once.

An endpoint is a function describing its request (_operations.py); `endpoint` and `paged`
(_methods.py) make it a method of a `Resource`, typed by the function's parameters and run by
the resource's transport: blocking, or a coroutine (an async iterator for `paged`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Collection, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

import httpx
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from clearway_client.errors import (
    APIConnectionError,
    WaitTimeoutError,
    error_from_response,
    retry_after_seconds,
)
from clearway_client.models import FLOAT_REFUSED

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class HasStatus(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...


S = TypeVar("S", bound=HasStatus)

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
USER_AGENT = "clearway-client-python/0.1.0"
# Answers that say nothing was done: safe to send again, whatever the method.
NOTHING_DONE_STATUSES = frozenset({429, 503})
# Answers after which the request may or may not have been carried out.
MAYBE_DONE_STATUSES = frozenset({500, 502, 504})
# Methods that do the same thing however often they are sent (PATCH here only merges metadata).
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "PATCH"})


@dataclass(frozen=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Outcome = httpx.Response | httpx.TransportError | None
Flow = Generator[Step, Outcome, T]
Params = Sequence[tuple[str, str]]
Cursor = str | None


class Call(Protocol[T_co]):
    """What an endpoint function describes: a flow the core runs for it."""

    def flow(self, core: Core) -> Flow[T_co]: ...


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One API call: the request and how to read a successful answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Params = ()
    body: Any = None
    idempotency_key: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # The API keeps this endpoint's X-Idempotency-Key: a retry after a lost answer replays the
    # first answer instead of doing it again, so any failure may be retried.
    replays: bool = False

    def flow(self, core: Core) -> Flow[T]:
        return core.call(self)


@dataclass(frozen=True)
class Wait(Generic[S]):
    """Get an object again until its status is one of `until` (Core.wait)."""

    get: Operation[S]
    until: Collection[str]
    timeout: float
    interval: float

    def flow(self, core: Core) -> Flow[S]:
        return core.wait(self.get, self.until, timeout=self.timeout, interval=self.interval)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float = 60.0  # a longer Retry-After is the caller's decision, not ours
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, operation: Operation[Any], attempt: int, outcome: Outcome) -> float | None:
        """Seconds to wait before sending `operation` again, or None to stop here."""
        if attempt >= self.max_retries or not _may_retry(operation, outcome):
            return None
        if isinstance(outcome, httpx.Response):
            asked = retry_after_seconds(outcome.headers)
            if asked is not None:
                return asked if asked <= self.max_retry_after else None
        backoff = min(self.backoff_cap, self.backoff_base * 2.0**attempt)
        return backoff * (0.5 + self.jitter() / 2)


def _may_retry(operation: Operation[Any], outcome: Outcome) -> bool:
    repeatable = operation.replays or operation.method in REPEATABLE_METHODS
    if isinstance(outcome, httpx.Response):
        status = outcome.status_code
        return status in NOTHING_DONE_STATUSES or (status in MAYBE_DONE_STATUSES and repeatable)
    if isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True  # the request never left
    return isinstance(outcome, httpx.TransportError) and repeatable


def new_idempotency_key() -> str:
    return f"cw-{uuid.uuid4()}"


def json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")  # the digits as given, fixed-point as the API reads them
    if isinstance(value, float):  # (json writes floats itself: to_body refuses them first)
        raise TypeError(FLOAT_REFUSED)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(f"{type(value).__name__} is not JSON: give str, Decimal, date or a model")


def to_body(value: object) -> object:
    """A request body: a model as the API names its fields, a mapping as given (TypeError on
    a float in it, before anything is sent)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    _refuse_floats(value, "")
    return value


def _refuse_floats(value: object, pointer: str) -> None:
    """TypeError naming where (a JSON pointer, as the API's errors do) a float is in a body."""
    if isinstance(value, float):
        raise TypeError(f"{pointer or 'the body'}: {FLOAT_REFUSED}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_floats(item, f"{pointer}/{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{pointer}/{index}")


def query(**filters: object) -> list[tuple[str, str]]:
    """Query parameters from keyword filters: snake_case to the API's camelCase, None left out,
    `metadata={"k": "v"}` as metadata[k]=v, dates ISO."""
    params: list[tuple[str, str]] = []
    for name, value in filters.items():
        if value is None:
            continue
        wire = to_camel(name)
        if isinstance(value, Mapping):
            params += [(f"{wire}[{k}]", str(v)) for k, v in value.items()]
        elif isinstance(value, list | tuple | set | frozenset):
            params.append((wire, ",".join(str(v) for v in value)))
        elif isinstance(value, dt.date):
            params.append((wire, value.isoformat()))
        else:
            params.append((wire, str(value)))
    return params


def settings_from_env(api_key: str | None, base_url: str | None) -> tuple[str, str]:
    """The key and URL given, else $CLEARWAY_API_KEY and $CLEARWAY_API_URL, else the local API.
    $CLEARWAY_API_URL goes only with $CLEARWAY_API_KEY: a key given here is not sent to a host
    set up in the environment for another key."""
    if api_key:
        return api_key, base_url or DEFAULT_BASE_URL
    url = base_url or os.environ.get("CLEARWAY_API_URL") or DEFAULT_BASE_URL
    return os.environ.get("CLEARWAY_API_KEY", ""), url


class Core:
    """Settings and the flows every call goes through."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not api_key:
            raise ValueError(
                "an API key is needed: Clearway(api_key='sk_test_…') or CLEARWAY_API_KEY"
            )
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()

    def build(self, operation: Operation[Any], idempotency_key: str | None) -> httpx.Request:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        headers.update(operation.headers)
        content = None
        if operation.body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(to_body(operation.body), default=json_default).encode()
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        return httpx.Request(
            operation.method,
            self.base_url + operation.path,
            params=list(operation.params),
            headers=headers,
            content=content,
        )

    def call(self, operation: Operation[T]) -> Flow[T]:
        """Send `operation`, retrying what may be retried; its parsed answer, or a typed error.

        Every POST carries an idempotency key from its first attempt (the caller's, else one made
        here once), so the API can tell a retry from a new request."""
        key = operation.idempotency_key
        if key is None and operation.method == "POST":
            key = new_idempotency_key()
        attempt = 0
        while True:
            outcome = yield Send(self.build(operation, key))
            delay = self.retry.delay(operation, attempt, outcome)
            if delay is None:
                return _result(operation, outcome)
            attempt += 1
            yield Sleep(delay)

    def wait(
        self,
        operation: Operation[S],
        until: Collection[str],
        *,
        timeout: float,
        interval: float,
    ) -> Flow[S]:
        """Get the object every `interval` seconds until its status is one of `until`;
        WaitTimeoutError, with the object as it was, once `timeout` passed."""
        deadline = time.monotonic() + timeout
        while True:
            current = yield from self.call(operation)
            if current.status in until:
                return current
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(
                    f"after {timeout:g}s: {current.id} is still {current.status}", current
                )
            yield Sleep(min(interval, left))


def _result(operation: Operation[T], outcome: Outcome) -> T:
    if isinstance(outcome, httpx.TransportError):
        raise APIConnectionError(
            f"{operation.method} {operation.path}: {type(outcome).__name__}: {outcome}"
        ) from outcome
    if outcome is None:  # pragma: no cover - a driver's mistake
        raise TypeError("a Send step was answered with nothing")
    if outcome.status_code >= 400:
        raise error_from_response(outcome)
    return operation.parse(outcome)

"""The one core both clients drive: what to send, when to retry, how to read the answer.

Every call is a generator of steps (`Send` a request, `Sleep` a while) that receives each
request's outcome and returns the parsed result. `SyncTransport` runs the steps with httpx.Client
and time.sleep (for `Clearway`), `AsyncTransport` with httpx.AsyncClient and asyncio.sleep (for
`AsyncClearway`): the retry rules, the idempotency keys, the waits and the parsing exist once.

An endpoint is a function describing its request (_operations.py); `endpoint` and `paged` make
it a method of a `Resource`, typed by the function's parameters and run by the resource's
transport: blocking, or a coroutine (an async iterator for `paged`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import os
import random
import time
import uuid
from collections.abc import (
    AsyncIterator,
    Callable,
    Collection,
    Coroutine,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, overload

import httpx
from pydantic import BaseModel, TypeAdapter
from pydantic.alias_generators import to_camel

from clearway_client.errors import (
    APIConnectionError,
    WaitTimeoutError,
    error_from_response,
    retry_after_seconds,
)
from clearway_client.models import FLOAT_REFUSED, ApiModel, Document, Invoice, Page

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
M = TypeVar("M", bound=ApiModel)
P = ParamSpec("P")
R = TypeVar("R")  # what a method gives on Clearway
AR = TypeVar("AR")  # and on AsyncClearway
# Which client a resource belongs to, named by the HTTP client it runs on.
H = TypeVar("H", httpx.Client, httpx.AsyncClient)


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


# Parsers ----------------------------------------------------------------------------------------


def data_of(adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    """The answer's `data`, read by `adapter`."""
    return lambda response: adapter.validate_python(response.json()["data"])


def model(kind: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: kind.model_validate(response.json()["data"])


def created_invoice(response: httpx.Response) -> Invoice:
    """POST /v1/invoices' answer, knowing whether it replays an earlier one."""
    invoice = Invoice.model_validate(response.json()["data"])
    invoice._replayed = response.headers.get("idempotent-replayed") == "true"  # noqa: SLF001
    return invoice


def bare(kind: type[M]) -> Callable[[httpx.Response], M]:
    """An answer that is the object itself, not wrapped in `data` (/v1/invoices/validate)."""
    return lambda response: kind.model_validate(response.json())


def models(kind: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[kind])  # type: ignore[valid-type]
    return data_of(adapter)


def page(kind: type[M]) -> Callable[[httpx.Response], Page[M]]:
    return lambda response: Page[kind].model_validate(response.json())  # type: ignore[valid-type]


def document(response: httpx.Response) -> Document:
    disposition = response.headers.get("content-disposition", "")
    filename = None
    if "filename=" in disposition:
        filename = disposition.split("filename=", 1)[1].split(";")[0].strip().strip('"')
    return Document(
        content=response.content,
        media_type=response.headers.get("content-type", "application/octet-stream").split(";")[0],
        format=response.headers.get("x-clearway-format"),
        filename=filename,
    )


# Transports -------------------------------------------------------------------------------------


class _Pages(Generic[M]):
    """A listing read page by page: the operation for the next page, until the last is read."""

    def __init__(self, page_at: Callable[[Cursor], Operation[Page[M]]]) -> None:
        self._page_at = page_at
        self._cursor: Cursor = None
        self._done = False

    def next(self) -> Operation[Page[M]] | None:
        return None if self._done else self._page_at(self._cursor)

    def items(self, page: Page[M]) -> list[M]:
        self._cursor = page.next_cursor
        self._done = not page.has_more or page.next_cursor is None
        return page.data


class SyncTransport:
    """Runs the core's flows with httpx.Client and time.sleep: `Clearway`'s calls."""

    def __init__(self, core: Core, http: httpx.Client | None, timeout: float) -> None:
        self.core = core
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=timeout)

    def run(self, flow: Flow[T]) -> T:
        step = next(flow)
        while True:
            outcome: Outcome = None
            if isinstance(step, Send):
                try:
                    outcome = self.http.send(step.request)
                except httpx.TransportError as exc:
                    outcome = exc
            else:
                time.sleep(step.seconds)
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                result: T = done.value
                return result

    def method(self, describe: Callable[P, Call[T]]) -> Callable[P, T]:
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.run(describe(*args, **kwargs).flow(self.core))

        return run

    def listing(
        self, describe: Callable[Concatenate[Cursor, P], Operation[Page[M]]]
    ) -> Callable[P, Iterator[M]]:
        def every_item(*args: P.args, **kwargs: P.kwargs) -> Iterator[M]:
            pages = _Pages(lambda cursor: describe(cursor, *args, **kwargs))
            while (operation := pages.next()) is not None:
                yield from pages.items(self.run(self.core.call(operation)))

        return every_item

    def close(self) -> None:
        if self._owns_http:
            self.http.close()


class AsyncTransport:
    """Runs the core's flows with httpx.AsyncClient and asyncio.sleep: `AsyncClearway`'s."""

    def __init__(self, core: Core, http: httpx.AsyncClient | None, timeout: float) -> None:
        self.core = core
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout)

    async def run(self, flow: Flow[T]) -> T:
        step = next(flow)
        while True:
            outcome: Outcome = None
            if isinstance(step, Send):
                try:
                    outcome = await self.http.send(step.request)
                except httpx.TransportError as exc:
                    outcome = exc
            else:
                await asyncio.sleep(step.seconds)
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                result: T = done.value
                return result

    def method(self, describe: Callable[P, Call[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.run(describe(*args, **kwargs).flow(self.core))

        return run

    def listing(
        self, describe: Callable[Concatenate[Cursor, P], Operation[Page[M]]]
    ) -> Callable[P, AsyncIterator[M]]:
        async def every_item(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[M]:
            pages = _Pages(lambda cursor: describe(cursor, *args, **kwargs))
            while (operation := pages.next()) is not None:
                for item in pages.items(await self.run(self.core.call(operation))):
                    yield item

        return every_item

    async def close(self) -> None:
        if self._owns_http:
            await self.http.aclose()


# Resources --------------------------------------------------------------------------------------


class Resource(Generic[H]):
    """A group of endpoints (`client.invoices`, …), run by its client's transport. `H` says
    which client: httpx.Client for `Clearway`, httpx.AsyncClient for `AsyncClearway`."""

    def __init__(self, transport: SyncTransport | AsyncTransport) -> None:
        self._transport = transport


class Method(Generic[P, R, AR]):
    """A resource's method made from an endpoint function (see `endpoint` and `paged`): on a
    `Clearway` resource a callable returning R, on an `AsyncClearway` one returning AR; help()
    shows the function's name, parameters and doc."""

    def __init__(
        self,
        describe: Callable[..., Any],
        bind: Callable[[SyncTransport | AsyncTransport], Callable[..., Any]],
        *,
        hidden: int = 0,
    ) -> None:
        self._bind = bind
        self.__doc__ = describe.__doc__
        signature = inspect.signature(describe)
        self._signature = signature.replace(
            parameters=list(signature.parameters.values())[hidden:],
            return_annotation=inspect.Signature.empty,
        )
        self._name = describe.__name__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, resource: Resource[httpx.Client], owner: type[Any]) -> Callable[P, R]: ...
    @overload
    def __get__(
        self, resource: Resource[httpx.AsyncClient], owner: type[Any]
    ) -> Callable[P, AR]: ...
    def __get__(self, resource: Resource[Any] | None, owner: type[Any]) -> Any:
        if resource is None:
            return self
        run = self._bind(resource._transport)  # noqa: SLF001
        run.__name__ = self._name
        run.__qualname__ = f"{owner.__qualname__}.{self._name}"
        run.__doc__ = self.__doc__
        run.__signature__ = self._signature  # type: ignore[attr-defined]
        resource.__dict__[self._name] = run  # bound once per resource
        return run


def endpoint(describe: Callable[P, Call[T]]) -> Method[P, T, Coroutine[Any, Any, T]]:
    """The method that runs `describe`'s call: `get = endpoint(invoices_get)` makes
    `client.invoices.get(invoice_id, *, expand=None) -> Invoice`, a coroutine on AsyncClearway."""
    method: Method[P, T, Coroutine[Any, Any, T]] = Method(
        describe, lambda transport: transport.method(describe)
    )
    return method


def paged(
    describe: Callable[Concatenate[Cursor, P], Operation[Page[M]]],
) -> Method[P, Iterator[M], AsyncIterator[M]]:
    """The method that iterates over every item of every page `describe` gives, fetching the
    next page when one is used up (the cursor, its first parameter, stays inside); an async
    iterator on AsyncClearway."""
    method: Method[P, Iterator[M], AsyncIterator[M]] = Method(
        describe, lambda transport: transport.listing(describe), hidden=1
    )
    return method

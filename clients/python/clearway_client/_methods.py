"""Endpoint functions made resource methods: `endpoint` and `paged` turn a function describing
a request (_operations.py) into a `Method` of a `Resource`, typed by the function's parameters
and run by the resource's transport: blocking, or a coroutine (an async iterator for `paged`)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

import httpx

from clearway_client._core import Call, Cursor, Operation
from clearway_client._transports import AsyncTransport, SyncTransport
from clearway_client.models import ApiModel, Page

T = TypeVar("T")
M = TypeVar("M", bound=ApiModel)
P = ParamSpec("P")
R = TypeVar("R")  # what a method gives on Clearway
AR = TypeVar("AR")  # and on AsyncClearway
# Which client a resource belongs to, named by the HTTP client it runs on.
H = TypeVar("H", httpx.Client, httpx.AsyncClient)


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

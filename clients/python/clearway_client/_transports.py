"""The drivers of the core's flows: `SyncTransport` sends each step's request with httpx.Client
and sleeps with time.sleep (for `Clearway`), `AsyncTransport` with httpx.AsyncClient and
asyncio.sleep (for `AsyncClearway`); both read a listing page by page."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import httpx

from clearway_client._core import Call, Core, Cursor, Flow, Operation, Outcome, Send
from clearway_client.models import ApiModel, Page

T = TypeVar("T")
M = TypeVar("M", bound=ApiModel)
P = ParamSpec("P")


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

"""The dashboard reads and changes nothing itself: every page asks the API, in process, with
the session's key. So a page shows exactly what the API answers that key (its account and
mode only), with the API's own checks, limits and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import Request

# Never resolved: ASGITransport hands each request to the app object itself.
_IN_PROCESS = "http://intake.in-process"


class ApiRefusalError(Exception):
    """An API error answer: its status and its `error` object (message, param, errors)."""

    def __init__(self, status_code: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.status_code = status_code
        self.error = error

    @property
    def message(self) -> str:
        return str(self.error.get("message", "The API refused the request."))


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def call(self, method: str, path: str, **request: Any) -> httpx.Response:
        """The answer as it is (`request`: httpx's params, json, content, headers);
        ApiRefusalError for an error answer."""
        answer = await self._client.request(method, path, **request)
        if answer.status_code >= 400:
            try:
                error = answer.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"message": answer.text[:500]}
            raise ApiRefusalError(answer.status_code, error)
        return answer

    async def get(self, path: str, **params: Any) -> Any:
        """The JSON body of a GET (`data` and paging alike); empty parameters left out."""
        given = {name: value for name, value in params.items() if value not in (None, "")}
        return (await self.call("GET", path, params=given)).json()

    async def filtered_page(self, path: str, **params: Any) -> tuple[Any, str | None]:
        """A list page and None; or, when the API refuses a filter (400), an empty page and
        why, for the page to say above it."""
        try:
            return await self.get(path, **params), None
        except ApiRefusalError as refusal:
            if refusal.status_code != 400:
                raise
            return {"data": [], "hasMore": False, "nextCursor": None}, refusal.message

    async def data(self, path: str, **params: Any) -> Any:
        return (await self.get(path, **params))["data"]

    async def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        answer = await self.call(method, path, json=body, **kwargs)
        return answer.json()["data"] if answer.content else None


@asynccontextmanager
async def api_as(request: Request, api_key: str) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=request.app)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url=_IN_PROCESS, headers=headers, timeout=60
    ) as client:
        yield Api(client)

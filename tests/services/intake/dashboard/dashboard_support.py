"""A plain HTTP client of the dashboard that keeps its cookies as a browser would, Secure ones
included (httpx's jar does not send those over http://127.0.0.1, where browsers do), and
reads the CSRF token out of the pages' forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from http.cookies import SimpleCookie
from typing import Any

import httpx

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def api_key_of(client: httpx.AsyncClient) -> str:
    """The key an API client of the fixtures (tests.conftest.api_client) sends."""
    return client.headers["Authorization"].removeprefix("Bearer ")


class DashboardClient:
    """`session`: a session cookie to hold from the start (a copy of another browser's, say)."""

    def __init__(self, base_url: str, session: str | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.cookies: dict[str, str] = {} if session is None else {"cw_session": session}
        self.set_cookies: list[str] = []  # every Set-Cookie header seen, as sent

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self.http.cookies.clear()  # only the cookies kept here are sent
        answer = await self.http.request(method, path, headers=headers, **kwargs)
        for header in answer.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value.strip('"'):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def csrf_token(self, page: str) -> str:
        found = CSRF_FIELD.search((await self.get(page)).text)
        assert found, f"no form with a CSRF token on {page}"
        return found.group(1)

    async def post_form(
        self, path: str, fields: dict[str, Any], *, from_page: str | None = None
    ) -> httpx.Response:
        """POST `fields` with the CSRF token of the form on `from_page` (none when None)."""
        data = dict(fields)
        if from_page is not None:
            data["csrf_token"] = await self.csrf_token(from_page)
        return await self.request("POST", path, data=data)

    async def sign_in(self, api_key: str) -> httpx.Response:
        return await self.post_form(
            "/dashboard/sign-in", {"api_key": api_key}, from_page="/dashboard/sign-in"
        )


SignedIn = tuple[DashboardClient, httpx.AsyncClient]  # a dashboard session, and its API client


@asynccontextmanager
async def signed_in_as(base_url: str, api_key: str) -> AsyncIterator[DashboardClient]:
    """A browser signed in with the key (sent on to the invoices), closed after."""
    async with aclosing(DashboardClient(base_url)) as browser:
        answer = await browser.sign_in(api_key)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/dashboard/invoices"
        yield browser


async def sent_to_sign_in(base_url: str, session_cookie: str) -> bool:
    """Whether a browser holding only this session cookie is sent to sign in (False: it is
    shown the invoices); any other answer fails."""
    async with aclosing(DashboardClient(base_url, session_cookie)) as client:
        answer = await client.get("/dashboard/invoices")
    if answer.status_code == 200:
        return False
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/sign-in")
    return True

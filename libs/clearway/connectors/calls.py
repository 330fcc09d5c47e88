"""One call to a government, timed, recorded, and sorted by what its failure means.

The sorting matters for anything that files: a call that never left (refused connection,
connect timeout) or that the government turned away (429, 500, 503) took no effect and may be
sent again; a call whose answer was lost (read timeout, dropped connection, 502/504 from the
gateway) may have taken effect, so whatever it filed must be looked for before it is sent again.
A client says which exception classes stand for these (`Failures`): the Government* family
below, or, for ANAF and KSeF, their own, which carry what only they answer. Every client is a
GovernmentApi: its base URL, its failures and its bearer token in one place.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NoReturn

import httpx

from clearway.connectors import GovCall
from clearway.observability.metrics import GOVERNMENT_CALL_DURATION
from clearway.resilience.backoff import parse_retry_after


@dataclass(frozen=True)
class Failures:
    government: str  # "ANAF", "KSeF": how messages name it
    country: str  # for the figures: which country's system it is
    unavailable: Callable[..., Exception]  # (message, retry_after=) — nothing happened
    outcome_unknown: Callable[..., Exception]  # (message) — it may have happened
    auth: Callable[..., Exception]  # (message, status=) — the token was refused
    refused: Callable[[str], Exception]  # the government's own refusal of the request
    refusal_text: Callable[[httpx.Response], str]
    auth_statuses: Collection[int] = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


# --- what a failure means, for every government's client ---------------------------------------


class GovernmentError(Exception):
    """Base of what a government client raises."""

    retry_after: float | None = None  # the government's own word on when to try again, if any


class GovernmentTransientError(GovernmentError):
    """Try again later; `retry_after` is the government's own word on when, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GovernmentUnavailableError(GovernmentTransientError):
    """The government took nothing (refused connection, 429, 500, 503): nothing happened there."""


class GovernmentOutcomeUnknownError(GovernmentTransientError):
    """The call left and its answer was lost: what it filed, the government may have."""


class GovernmentAuthError(GovernmentError):
    """The government refused the credential (the company's, or Clearway's own key)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class GovernmentRefusedError(GovernmentError):
    """The government refused the request in its own words: nothing was filed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def refusal_reader(read: Callable[[Any], str]) -> Callable[[httpx.Response], str]:
    """A refusal's text: what `read` makes of its JSON body, or the start of a body that is
    not JSON."""

    def text(response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text[:500]
        return read(body)

    return text


def first_field(*names: str) -> Callable[[httpx.Response], str]:
    """A refusal's text: the first of these fields its JSON object has, else the whole body."""

    def read(body: Any) -> str:
        if isinstance(body, dict):
            return str(next((body[name] for name in names if body.get(name)), body))
        return str(body)

    return refusal_reader(read)


def government_failures(
    government: str, country: str, refusal_text: Callable[[httpx.Response], str]
) -> Failures:
    """The failures of a client that raises the Government* family (SDI, the PA, the
    network channels); ANAF and KSeF name their own, with what only they can answer."""
    return Failures(
        government=government,
        country=country,
        unavailable=GovernmentUnavailableError,
        outcome_unknown=GovernmentOutcomeUnknownError,
        auth=GovernmentAuthError,
        refused=GovernmentRefusedError,
        refusal_text=refusal_text,
    )


async def call_government(  # noqa: PLR0913 - the call and where to record it
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    endpoint: str,
    failures: Failures,
    calls: list[GovCall] | None,
    **request: Any,
) -> httpx.Response:
    """The answer of a 2xx/3xx call; raises the matching `failures` class for any other."""
    started = time.monotonic()

    def record(status: int | None, outcome: str) -> None:
        elapsed = time.monotonic() - started
        GOVERNMENT_CALL_DURATION.labels(
            failures.country, endpoint, str(status) if status is not None else outcome
        ).observe(elapsed)
        if calls is not None:
            duration = round((time.monotonic() - started) * 1000)
            calls.append(
                GovCall(
                    endpoint=endpoint, http_status=status, duration_ms=duration, outcome=outcome
                )
            )

    name = failures.government
    try:
        response = await http.request(method, url, **request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        record(None, "connect_error")
        raise failures.unavailable(f"{name} unreachable: {type(exc).__name__}") from exc
    except httpx.TimeoutException as exc:
        record(None, "timeout")
        raise failures.outcome_unknown(f"{name} did not answer in time: {exc!r}") from exc
    except httpx.TransportError as exc:
        record(None, "connection_lost")
        raise failures.outcome_unknown(f"the connection to {name} broke: {exc!r}") from exc
    status = response.status_code
    lost = status in {HTTPStatus.BAD_GATEWAY, HTTPStatus.GATEWAY_TIMEOUT}
    ok = status < HTTPStatus.BAD_REQUEST
    record(status, "lost_response" if lost else "ok" if ok else f"http_{status}")
    if not ok:
        _raise_for(response, failures)
    return response


class GovernmentApi:
    """A government's HTTP API at `base_url`: every call goes through `call_government` with
    this API's failures, and with a bearer token when one is given (the call's own, else
    `api_key`: Clearway's account at platforms that identify the caller by it)."""

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        failures: Failures,
        *,
        api_key: str | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._http = http
        self._failures = failures
        self._api_key = api_key

    async def _call(  # noqa: PLR0913 - the call and where to record it
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        calls: list[GovCall] | None,
        token: str | None = None,
        http: httpx.AsyncClient | None = None,
        **request: Any,
    ) -> httpx.Response:
        """`path` below the base URL; `http`: another client for this call (one carrying a
        channel's certificate)."""
        bearer = token if token is not None else self._api_key
        authorization = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
        return await call_government(
            http or self._http,
            method,
            f"{self._base}{path}",
            endpoint=endpoint,
            failures=self._failures,
            calls=calls,
            headers={**authorization, **(request.pop("headers", None) or {})},
            **request,
        )


def _raise_for(response: httpx.Response, failures: Failures) -> NoReturn:
    status, name = response.status_code, failures.government
    if status in failures.auth_statuses:
        raise failures.auth(f"{name} refused the token (HTTP {status})", status=status)
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), dt.datetime.now(dt.UTC)
        )
        raise failures.unavailable(
            f"{name}'s call limit: {failures.refusal_text(response)}", retry_after=retry_after
        )
    if status in {HTTPStatus.BAD_GATEWAY, HTTPStatus.GATEWAY_TIMEOUT}:
        raise failures.outcome_unknown(f"{name}'s gateway answered HTTP {status}")
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise failures.unavailable(f"{name} answered HTTP {status}")
    raise failures.refused(failures.refusal_text(response))

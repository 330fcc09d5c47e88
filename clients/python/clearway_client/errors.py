"""Typed exceptions: one class per error `type` the API answers (docs/api.md#errors), each with
the type, message, param (a JSON pointer) and every field error of the answer."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any

import httpx


class ClearwayError(Exception):
    """Anything this client raises."""


@dataclass(frozen=True)
class FieldError:
    message: str
    code: str
    param: str | None = None


class APIError(ClearwayError):
    """An error answer of the API (4xx, 5xx)."""

    def __init__(  # noqa: PLR0913 - the error object's fields, as the API names them
        self,
        message: str,
        *,
        status: int,
        type: str,  # noqa: A002 - the API's own name for it
        param: str | None = None,
        errors: tuple[FieldError, ...] = (),
        headers: httpx.Headers | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.errors = errors
        self.headers = headers if headers is not None else httpx.Headers()
        self.body = body

    def __str__(self) -> str:
        where = f" ({self.param})" if self.param else ""
        return f"{self.status} {self.type}{where}: {self.message}"


class ValidationError(APIError):
    """400 validation_error: the request's fields; `errors` names every one."""


class InvalidRequestError(APIError):
    """400/405 invalid_request_error: a request the resource cannot take."""


class AuthenticationError(APIError):
    """401: no key, or one the API does not know."""


class UsageLimitError(APIError):
    """403 usage_limit_exceeded: the account's monthly quota or a per-account limit."""


class NotFoundError(APIError):
    """404: no such resource (or another account's), or no such endpoint."""


class ConflictError(APIError):
    """409: an idempotency key reused with another body, a second buyer's response."""


class RateLimitError(APIError):
    """429: too many requests; `retry_after` is the wait the API asked for, in seconds."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class ServiceUnavailableError(APIError):
    """503: the API could not reach its database; nothing was changed."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class APIConnectionError(ClearwayError):
    """The API could not be reached, or its answer was lost, after every retry."""


class WaitTimeoutError(ClearwayError):
    """A wait ran out before the object reached a wanted status; `last` is what it was."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


class WebhookVerificationError(ClearwayError):
    """A webhook request that is not provably Clearway's, unaltered and recent."""


ERRORS_BY_TYPE: dict[str, type[APIError]] = {
    "validation_error": ValidationError,
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "usage_limit_exceeded": UsageLimitError,
    "not_found": NotFoundError,
    "conflict_error": ConflictError,
    "rate_limit_error": RateLimitError,
    "service_unavailable": ServiceUnavailableError,
}
# When an answer has no error object (a proxy's page), its status says what it is.
ERRORS_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: UsageLimitError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_response(response: httpx.Response) -> APIError:
    """The typed exception for an error answer."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        kind = ERRORS_BY_STATUS.get(response.status_code, APIError)
        text = response.text[:500] or response.reason_phrase
        return kind(text, status=response.status_code, type="api_error", headers=response.headers)
    items = tuple(
        FieldError(
            message=str(item.get("message", "")),
            code=str(item.get("code", "")),
            param=item.get("param"),
        )
        for item in error.get("errors") or ()
        if isinstance(item, dict)
    )
    error_type = str(error.get("type", "api_error"))
    kind = ERRORS_BY_TYPE.get(error_type) or ERRORS_BY_STATUS.get(response.status_code, APIError)
    return kind(
        str(error.get("message", "")),
        status=response.status_code,
        type=error_type,
        param=error.get("param"),
        errors=items,
        headers=response.headers,
        body=body,
    )

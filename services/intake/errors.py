"""One error envelope for every failure the API reports.

    HTTP status + {"error": {"type", "message", "param", "errors": [{"param", "message", "code"}]}}

`param` is a JSON pointer to the first offending field (null when no single field is at fault);
`errors` lists every offending field, never only the first.
"""

from __future__ import annotations

from typing import Any, TypeVar

from clearway.db import UNAVAILABLE_ERRORS, unavailable_reason
from clearway.domain.wire import parse_wire_json
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

STATUS_OF_TYPE = {
    "validation_error": 400,
    "invalid_request_error": 400,  # a request the resource cannot take (405s are Starlette's)
    "authentication_error": 401,
    "usage_limit_exceeded": 403,
    "not_found": 404,
    "conflict_error": 409,
    "rate_limit_error": 429,
    "service_unavailable": 503,
}
# How long a client waits before retrying when the database takes no more connections.
UNAVAILABLE_RETRY_AFTER_SECONDS = 2


class ApiError(Exception):
    def __init__(
        self,
        error_type: str,
        message: str,
        *,
        param: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.param = param
        # A single-field error still lists that field, so clients read one place.
        self.errors = errors or (
            [{"param": param, "message": message, "code": error_type}] if param else []
        )
        self.headers = headers or {}

    @property
    def status_code(self) -> int:
        return STATUS_OF_TYPE[self.error_type]

    def body(self) -> dict[str, Any]:
        """`param` (in the error and in each listed one) is there only when a field was at fault,
        as the API conventions say: a JSON pointer, never null."""
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        error["errors"] = [_without_null_param(item) for item in self.errors]
        return {"error": error}


def _without_null_param(item: dict[str, Any]) -> dict[str, Any]:
    return (
        item if item.get("param") is not None else {k: v for k, v in item.items() if k != "param"}
    )


def json_pointer(location: tuple[int | str, ...]) -> str | None:
    """('lines', 0, 'vatRate') → /lines/0/vatRate; the whole document (no location) → None, so
    `param` is always a pointer into it or absent."""
    if not location:
        return None
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in location)


def validation_error_from(exc: ValidationError) -> ApiError:
    errors = [
        {"param": json_pointer(tuple(e["loc"])), "message": e["msg"], "code": e["type"]}
        for e in exc.errors(include_url=False)
    ]
    if any(e["code"] == "json_invalid" for e in errors):
        return ApiError("validation_error", "The request body is not valid JSON.", errors=errors)
    fields = ", ".join(e["param"] or "the body" for e in errors)
    return ApiError(
        "validation_error",
        f"The request has {len(errors)} invalid field(s): {fields}",
        param=errors[0]["param"] if errors else None,
        errors=errors,
    )


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], raw: bytes, *, max_bytes: int) -> M:
    """A request body as `model`, parsed straight from the JSON text (amounts become Decimal
    without a float step); 400 validation_error naming every field at fault, or the size."""
    if len(raw) > max_bytes:
        raise ApiError("validation_error", f"The body exceeds {max_bytes} bytes.")
    try:
        return parse_wire_json(model, raw)
    except ValidationError as exc:
        raise validation_error_from(exc) from None


def parsed_body_openapi(model: type[BaseModel], example: Any) -> dict[str, Any]:
    """The `openapi_extra` of a route that reads its body with parse_body: FastAPI cannot see
    the body, so the document names its model (required, JSON) and an example."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"},
                    "example": example,
                }
            },
        }
    }


# A path parameter is named as the API documents it: the resource's own id is /id.
PATH_PARAMETERS = {"delivery_id": "deliveryId"}


def _param_of(location: tuple[int | str, ...]) -> str | None:
    """Where FastAPI found a fault, as a JSON pointer: ('body', 'lines', 0) → /lines/0;
    ('query', 'limit') → /limit; ('path', 'invoice_id') → /id; ('header', 'x-idempotency-key')
    → /X-Idempotency-Key."""
    if not location:
        return None
    kind, rest = location[0], location[1:]
    if kind in {"path", "header"} and rest:
        name = str(rest[0])
        # A header is named in its documented spelling (FastAPI reports it lower-cased).
        name = PATH_PARAMETERS.get(name, "id") if kind == "path" else name.title()
        rest = (name, *rest[1:])
    return json_pointer(rest)


async def request_validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own parameter checks (query, path, headers) answer in the same envelope."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"param": _param_of(tuple(e["loc"])), "message": e["msg"], "code": e["type"]}
        for e in exc.errors()
    ]
    error = ApiError(
        "validation_error",
        f"The request has {len(errors)} invalid parameter(s): "
        + ", ".join(e["param"] or "the body" for e in errors),
        param=errors[0]["param"] if errors else None,
        errors=errors,
    )
    return JSONResponse(error.body(), status_code=error.status_code)


async def api_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals (no such route, a method the route does not take) in the same
    envelope, not its bare {"detail": …}."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        error_type, message = "not_found", f"No such endpoint: {where}."
    else:
        error_type, message = "invalid_request_error", f"{exc.detail}: {where}."
    error = ApiError(error_type, message)
    return JSONResponse(error.body(), status_code=exc.status_code, headers=exc.headers)


async def database_unavailable_handler(_: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refused or could not be reached: nothing was done, try again shortly (503 with
    Retry-After), never a bare 500. The reason is PostgreSQL's own, which names no secret."""
    reason = unavailable_reason(exc) or type(exc).__name__
    error = ApiError(
        "service_unavailable",
        f"The database is unavailable ({reason}); nothing was changed. Retry after "
        f"{UNAVAILABLE_RETRY_AFTER_SECONDS} s.",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal in the API's error envelope: its own, a request's invalid parameters,
    Starlette's (no such route), and PostgreSQL out of reach."""
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_error_handler)
    app.add_exception_handler(HTTPException, http_exception_handler)
    for unavailable in UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, database_unavailable_handler)

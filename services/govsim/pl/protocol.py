"""What the simulated KSeF's calls share: its error bodies (ExceptionResponse, problem details,
the 429), reading request bodies, and the caller behind a protected call's access token."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.govsim.faults import FaultKind, QueuedFault
from services.govsim.guard import bearer_token, plain_fault_response, read_body
from services.govsim.pl.auth import (
    IssuedToken,
    KsefError,
    TokenKind,
    invalid_input,
)
from services.govsim.pl.crypto import (
    DecryptionError,
    decode_b64,
)
from services.govsim.pl.sessions import (
    KsefSimulator,
    RateGroup,
)
from services.govsim.rate_limits import Refusal

MAX_REQUEST_BYTES = 8 * 1024 * 1024
PROBLEM_JSON = "application/problem+json"

ModelT = TypeVar("ModelT", bound=BaseModel)


# === error bodies =============================================================================


def _wants_problem_details(request: Request) -> bool:
    return request.headers.get("x-error-format", "").lower() == "problem-details"


def _trace_id() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def problem_details(
    simulator: KsefSimulator, request: Request, status: HTTPStatus, detail: str
) -> dict[str, Any]:
    return {
        "title": status.phrase,
        "status": int(status),
        "detail": detail,
        "instance": request.url.path,
        "timestamp": simulator.stamp(),
        "traceId": _trace_id(),
    }


def exception_response(
    simulator: KsefSimulator, request: Request, error: KsefError
) -> JSONResponse:
    detail = {"code": error.code, "description": error.description, "details": error.details}
    if _wants_problem_details(request):
        problem = problem_details(simulator, request, HTTPStatus.BAD_REQUEST, error.description)
        problem["errors"] = [detail]
        return JSONResponse(problem, HTTPStatus.BAD_REQUEST, media_type=PROBLEM_JSON)
    body = {
        "exception": {
            "exceptionDetailList": [
                {
                    "exceptionCode": error.code,
                    "exceptionDescription": error.description,
                    "details": error.details,
                }
            ],
            "referenceNumber": str(uuid.uuid4()),
            "serviceCode": _trace_id(),
            "serviceCtx": "srvGOVSIM",
            "serviceName": "govsim-ksef",
            "timestamp": simulator.utc().replace(tzinfo=None).isoformat(),
        }
    }
    return JSONResponse(body, HTTPStatus.BAD_REQUEST)


def unauthorized(simulator: KsefSimulator, request: Request, detail: str) -> JSONResponse:
    return JSONResponse(
        problem_details(simulator, request, HTTPStatus.UNAUTHORIZED, detail),
        HTTPStatus.UNAUTHORIZED,
        media_type=PROBLEM_JSON,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def too_many_requests(
    simulator: KsefSimulator, request: Request | None, refusal: Refusal
) -> JSONResponse:
    unit = {1: "sekundę", 60: "minutę", 3600: "godzinę"}[refusal.window_seconds]
    detail = (
        f"Przekroczono limit {refusal.limit} żądań na {unit}. "
        f"Spróbuj ponownie po {refusal.retry_after_seconds} sekundach."
    )
    headers = {"Retry-After": str(refusal.retry_after_seconds)}
    if request is not None and _wants_problem_details(request):
        problem = problem_details(simulator, request, HTTPStatus.TOO_MANY_REQUESTS, detail)
        return JSONResponse(
            problem, HTTPStatus.TOO_MANY_REQUESTS, headers=headers, media_type=PROBLEM_JSON
        )
    body = {"status": {"code": 429, "description": "Too Many Requests", "details": [detail]}}
    return JSONResponse(body, HTTPStatus.TOO_MANY_REQUESTS, headers=headers)


def fault_response(simulator: KsefSimulator, fault: QueuedFault) -> Response:
    if fault.kind is FaultKind.HTTP_429:
        refusal = Refusal(fault.retry_after_seconds, window_seconds=60, limit=0)
        return too_many_requests(simulator, None, refusal)
    return plain_fault_response(fault)


# === request bodies ===========================================================================


class _Body(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class ContextIdentifier(_Body):
    type: str
    value: str


class KsefTokenAuthRequest(_Body):
    challenge: str
    context_identifier: ContextIdentifier = Field(alias="contextIdentifier")
    encrypted_token: str = Field(alias="encryptedToken")
    public_key_id: str | None = Field(default=None, alias="publicKeyId")


class FormCode(_Body):
    system_code: str = Field(alias="systemCode")
    schema_version: str = Field(alias="schemaVersion")
    value: str


class EncryptionInfo(_Body):
    encrypted_symmetric_key: str = Field(alias="encryptedSymmetricKey")
    initialization_vector: str = Field(alias="initializationVector")
    public_key_id: str | None = Field(default=None, alias="publicKeyId")


class OpenOnlineSessionRequest(_Body):
    form_code: FormCode = Field(alias="formCode")
    encryption: EncryptionInfo


class SendInvoiceRequest(_Body):
    invoice_hash: str = Field(alias="invoiceHash", min_length=44, max_length=44)
    invoice_size: int = Field(alias="invoiceSize", ge=1)
    encrypted_invoice_hash: str = Field(alias="encryptedInvoiceHash", min_length=44, max_length=44)
    encrypted_invoice_size: int = Field(alias="encryptedInvoiceSize", ge=1)
    encrypted_invoice_content: str = Field(alias="encryptedInvoiceContent", min_length=1)
    offline_mode: bool = Field(default=False, alias="offlineMode")
    hash_of_corrected_invoice: str | None = Field(default=None, alias="hashOfCorrectedInvoice")


async def raw_body(request: Request) -> bytes:
    raw = await read_body(request, MAX_REQUEST_BYTES)
    if raw is None:
        raise invalid_input("Żądanie jest za duże.")
    return raw


def parse_body(raw: bytes, model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise invalid_input(
            *(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
        ) from exc


def token_json(simulator: KsefSimulator, token: IssuedToken) -> dict[str, str]:
    return {"token": token.value, "validUntil": simulator.stamp(token.expires_at)}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def checked_base64(value: str, name: str) -> bytes:
    try:
        return decode_b64(value)
    except DecryptionError as exc:
        raise invalid_input(f"{name}: wartość nie jest poprawnym ciągiem Base64.") from exc


# Who a protected call is from: its access token, whose operation is the call's context.
Caller = IssuedToken


def caller_of(simulator: KsefSimulator, request: Request, group: RateGroup) -> Caller | Response:
    """The access token behind a protected call, or the 401/429 that refuses the call."""
    simulator.settle()
    token = simulator.auth.access_token(bearer_token(request))
    if token is None:
        expired = simulator.auth.token_kind(bearer_token(request)) is TokenKind.ACCESS
        detail = "Token dostępu wygasł." if expired else "Brak lub nieprawidłowy token dostępu."
        return unauthorized(simulator, request, detail)
    refusal = simulator.over_limit(group, f"{token.context_nip}|{client_address(request)}")
    if refusal is not None:
        return too_many_requests(simulator, request, refusal)
    return token


def protected(
    simulator: KsefSimulator,
    request: Request,
    group: RateGroup,
    answer: Callable[[Caller], Response],
) -> Response:
    """`answer` for the caller behind a protected call; the call's 401 or 429 when it is
    refused, and the ExceptionResponse of a KsefError `answer` raises."""
    caller = caller_of(simulator, request, group)
    if isinstance(caller, Response):
        return caller
    try:
        return answer(caller)
    except KsefError as error:
        return exception_response(simulator, request, error)

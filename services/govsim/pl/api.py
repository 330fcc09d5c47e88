"""The simulated KSeF 2.0 (Poland) over HTTP: the real contract under /v2, controls under /_sim/pl.

Paths, bodies, status codes and Polish texts follow the official API documentation (the TE
OpenAPI and CIRFMF/ksef-docs), so a client written against this simulator works against
https://api-test.ksef.mf.gov.pl/v2 by changing the base URL and the KSeF token:

    GET  /v2/security/public-key-certificates
    POST /v2/auth/challenge, /v2/auth/ksef-token, /v2/auth/xades-signature
    GET  /v2/auth/{referenceNumber}
    POST /v2/auth/token/redeem, /v2/auth/token/refresh
    POST /v2/sessions/online, /v2/sessions/online/{ref}/invoices, .../{ref}/close
    GET  /v2/sessions/{ref}, /v2/sessions/{ref}/invoices[/failed],
         /v2/sessions/{ref}/invoices/{invRef}[/upo], .../invoices/ksef/{ksefNumber}/upo,
         /v2/sessions/{ref}/upo/{upoRef}

Errors: 400 bodies are the `ExceptionResponse` ({"exception": {"exceptionDetailList": [...]}})
unless the request carries `X-Error-Format: problem-details`, which switches 400 and 429 to
application/problem+json; 401 is always problem details. Rate limits are the documented
per-group limits (req/s, req/min, req/h over sliding windows, per context and IP address) and
answer 429 with Retry-After. The documented values differ between ksef-docs (limity-api.md,
2025-09) and the later TE OpenAPI; the simulator takes the OpenAPI's. The TE environment itself
runs without limits; the simulator keeps them on so that Clearway's limiter is exercised (a
control changes or lifts them).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

from clearway.domain.sandbox import SANDBOX_INVOICE_HEADER, SandboxScenario
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.govsim.common import (
    ApiGuard,
    FaultKind,
    QueuedFault,
    RateLimit,
    Refusal,
    add_standard_controls,
    bearer_token,
    guarded_route_class,
    plain_fault_response,
    read_body,
    scenario_of,
)
from services.govsim.pl.auth import (
    BAD_CONTINUATION_TOKEN,
    INPUT_INVALID,
    INPUT_VALIDATION,
    UNKNOWN_KEY,
    AuthOperation,
    IssuedToken,
    KsefError,
    TokenKind,
)
from services.govsim.pl.crypto import (
    AES_BLOCK_BYTES,
    DecryptionError,
    KeyUsage,
    decode_b64,
    public_key_certificates,
    published_key,
)
from services.govsim.pl.documents import FA3_FORM_CODE, INVOICE_STATUS_DESCRIPTIONS
from services.govsim.pl.sessions import (
    SESSION_STATUS_DESCRIPTIONS,
    ForcedOutcome,
    KsefSimulator,
    OnlineSession,
    RateGroup,
    SentInvoice,
    SessionInvoice,
    session_not_open,
)
from services.govsim.pl.xades import checked_subject, read_signed_auth_request

API_PREFIX = "/v2"
CONTROL_PREFIX = "/_sim/pl"
NIP_PATTERN = re.compile(r"[1-9]((\d[1-9])|([1-9]\d))\d{7}")  # the OpenAPI's Nip pattern
MAX_REQUEST_BYTES = 8 * 1024 * 1024
PROBLEM_JSON = "application/problem+json"

ModelT = TypeVar("ModelT", bound=BaseModel)


# === error bodies =============================================================================


def _wants_problem_details(request: Request) -> bool:
    return request.headers.get("x-error-format", "").lower() == "problem-details"


def _trace_id() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def _problem(
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
        problem = _problem(simulator, request, HTTPStatus.BAD_REQUEST, error.description)
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
        _problem(simulator, request, HTTPStatus.UNAUTHORIZED, detail),
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
        problem = _problem(simulator, request, HTTPStatus.TOO_MANY_REQUESTS, detail)
        return JSONResponse(
            problem, HTTPStatus.TOO_MANY_REQUESTS, headers=headers, media_type=PROBLEM_JSON
        )
    body = {"status": {"code": 429, "description": "Too Many Requests", "details": [detail]}}
    return JSONResponse(body, HTTPStatus.TOO_MANY_REQUESTS, headers=headers)


def _fault_response(simulator: KsefSimulator, fault: QueuedFault) -> Response:
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


def _invalid(*details: str) -> KsefError:
    return KsefError(INPUT_VALIDATION, INPUT_INVALID, list(details))


async def _raw_body(request: Request) -> bytes:
    raw = await read_body(request, MAX_REQUEST_BYTES)
    if raw is None:
        raise _invalid("Żądanie jest za duże.")
    return raw


def _parse_body(raw: bytes, model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise _invalid(
            *(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
        ) from exc


def _token_json(simulator: KsefSimulator, token: IssuedToken) -> dict[str, str]:
    return {"token": token.value, "validUntil": simulator.stamp(token.expires_at)}


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


# === the real contract ========================================================================


def build_ksef_router(simulator: KsefSimulator) -> APIRouter:
    guard = ApiGuard(
        faults=simulator.faults, render_fault=lambda fault: _fault_response(simulator, fault)
    )
    router = APIRouter(
        prefix=API_PREFIX, tags=["KSeF 2.0 (PL)"], route_class=guarded_route_class(guard)
    )
    _add_auth_routes(router, simulator)
    _add_online_session_routes(router, simulator)
    _add_status_routes(router, simulator)
    _add_upo_routes(router, simulator)
    return router


def _public_limit(simulator: KsefSimulator, request: Request) -> Response | None:
    refusal = simulator.over_limit(RateGroup.PUBLIC, _client_address(request))
    return too_many_requests(simulator, request, refusal) if refusal else None


def _add_auth_routes(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.get("/security/public-key-certificates")
    async def public_keys(request: Request) -> Response:
        return _public_limit(simulator, request) or JSONResponse(public_key_certificates())

    @router.post("/auth/challenge")
    async def challenge(request: Request) -> Response:
        return _public_limit(simulator, request) or _challenge(simulator, request)

    @router.post("/auth/ksef-token", status_code=HTTPStatus.ACCEPTED)
    async def ksef_token(request: Request) -> Response:
        return _public_limit(simulator, request) or await _ksef_token(simulator, request)

    @router.post("/auth/xades-signature", status_code=HTTPStatus.ACCEPTED)
    async def xades_signature(request: Request) -> Response:
        """The AuthTokenRequest XML signed XAdES (application/xml); `verifyCertificateChain`
        is accepted and ignored: like TE, self-signed certificates are fine."""
        return _public_limit(simulator, request) or await _xades_signature(simulator, request)

    @router.get("/auth/{reference}")
    async def auth_status(request: Request, reference: str) -> Response:
        return _public_limit(simulator, request) or _auth_status(simulator, request, reference)

    @router.post("/auth/token/redeem")
    async def redeem(request: Request) -> Response:
        return _public_limit(simulator, request) or _redeem(simulator, request)

    @router.post("/auth/token/refresh")
    async def refresh(request: Request) -> Response:
        return _public_limit(simulator, request) or _refresh(simulator, request)


def _challenge(simulator: KsefSimulator, request: Request) -> Response:
    issued = simulator.auth.new_challenge()
    return JSONResponse(
        {
            "challenge": issued.value,
            "timestamp": simulator.stamp(issued.issued_at),
            "timestampMs": issued.timestamp_ms,
            "clientIp": _client_address(request),
        }
    )


async def _ksef_token(simulator: KsefSimulator, request: Request) -> Response:
    try:
        raw = await _raw_body(request)
        body = _parse_body(raw, KsefTokenAuthRequest)
        _check_context(body.context_identifier)
        _check_base64(body.encrypted_token, "encryptedToken")
        operation, token = simulator.auth.start_ksef_token_auth(
            challenge_value=body.challenge,
            context_nip=body.context_identifier.value,
            encrypted_token=body.encrypted_token,
            public_key_id=body.public_key_id,
            request_body=raw,
        )
    except KsefError as error:
        return exception_response(simulator, request, error)
    return JSONResponse(
        {
            "referenceNumber": operation.reference_number,
            "authenticationToken": _token_json(simulator, token),
        },
        HTTPStatus.ACCEPTED,
    )


XML_MEDIA_TYPES = ("application/xml", "text/xml")


async def _xades_signature(simulator: KsefSimulator, request: Request) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in XML_MEDIA_TYPES:
        detail = "Treść żądania musi być dokumentem XML (application/xml)."
        problem = _problem(simulator, request, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, detail)
        return JSONResponse(problem, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, media_type=PROBLEM_JSON)
    try:
        raw = await _raw_body(request)
        signed = read_signed_auth_request(raw)
        _check_context(ContextIdentifier(type="Nip", value=signed.context_nip))
        subject = checked_subject(signed, simulator.utc())
        operation, token = simulator.auth.start_xades_auth(
            challenge_value=signed.challenge,
            context_nip=signed.context_nip,
            subject=subject,
            request_body=raw,
        )
    except KsefError as error:
        return exception_response(simulator, request, error)
    return JSONResponse(
        {
            "referenceNumber": operation.reference_number,
            "authenticationToken": _token_json(simulator, token),
        },
        HTTPStatus.ACCEPTED,
    )


def _check_context(context: ContextIdentifier) -> None:
    if context.type != "Nip" or not NIP_PATTERN.fullmatch(context.value):
        raise _invalid("contextIdentifier: obsługiwany jest identyfikator typu Nip (10 cyfr).")


def _check_base64(value: str, name: str) -> bytes:
    try:
        return decode_b64(value)
    except DecryptionError as exc:
        raise _invalid(f"{name}: wartość nie jest poprawnym ciągiem Base64.") from exc


def _auth_status(simulator: KsefSimulator, request: Request, reference: str) -> Response:
    operation = simulator.auth.operation_for(reference, bearer_token(request))
    if operation is None:
        return unauthorized(simulator, request, "Nieprawidłowy lub wygasły token uwierzytelniania.")
    code, description, details = operation.status(simulator.clock())
    status: dict[str, Any] = {"code": code, "description": description}
    if details:
        status["details"] = details
    body: dict[str, Any] = {
        "startDate": simulator.stamp(operation.started_at),
        "authenticationMethod": operation.authentication_method,
        "authenticationMethodInfo": AUTHENTICATION_METHOD_INFO[operation.authentication_method],
        "status": status,
        "isTokenRedeemed": operation.redeemed,
    }
    if operation.refresh_token_expires_at is not None:
        body["refreshTokenValidUntil"] = simulator.stamp(operation.refresh_token_expires_at)
    return JSONResponse(body)


# The codes of the XAdES methods: UNCONFIRMED (only the token's is seen in the documentation).
AUTHENTICATION_METHOD_INFO = {
    "Token": {"category": "Token", "code": "token.ksef"},
    "QualifiedSeal": {"category": "QualifiedSeal", "code": "seal.qualified"},
    "QualifiedSignature": {"category": "QualifiedSignature", "code": "signature.qualified"},
}


def _redeem(simulator: KsefSimulator, request: Request) -> Response:
    authentication_token = simulator.auth.authentication_token(bearer_token(request))
    if authentication_token is None:
        return unauthorized(simulator, request, "Nieprawidłowy lub wygasły token uwierzytelniania.")
    try:
        access, refresh = simulator.auth.redeem(authentication_token)
    except KsefError as error:
        return exception_response(simulator, request, error)
    return JSONResponse(
        {
            "accessToken": _token_json(simulator, access),
            "refreshToken": _token_json(simulator, refresh),
        }
    )


def _refresh(simulator: KsefSimulator, request: Request) -> Response:
    access = simulator.auth.refresh(bearer_token(request))
    if access is None:
        return unauthorized(simulator, request, "Nieprawidłowy lub wygasły refresh token.")
    return JSONResponse({"accessToken": _token_json(simulator, access)})


@dataclass(frozen=True)
class _Caller:
    """Who a protected call is from: the context of its access token."""

    token: IssuedToken

    @property
    def context_nip(self) -> str:
        return self.token.context_nip

    @property
    def operation(self) -> AuthOperation:
        return self.token.operation


def _caller(simulator: KsefSimulator, request: Request, group: RateGroup) -> _Caller | Response:
    """The access token behind a protected call, or the 401/429 that refuses the call."""
    simulator.settle()
    token = simulator.auth.access_token(bearer_token(request))
    if token is None:
        expired = simulator.auth.token_kind(bearer_token(request)) is TokenKind.ACCESS
        detail = "Token dostępu wygasł." if expired else "Brak lub nieprawidłowy token dostępu."
        return unauthorized(simulator, request, detail)
    refusal = simulator.over_limit(group, f"{token.context_nip}|{_client_address(request)}")
    if refusal is not None:
        return too_many_requests(simulator, request, refusal)
    return _Caller(token)


def _add_online_session_routes(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.post("/sessions/online", status_code=HTTPStatus.CREATED)
    async def open_session(request: Request) -> Response:
        caller = _caller(simulator, request, RateGroup.ONLINE_SESSION)
        if isinstance(caller, Response):
            return caller
        return await _open_session(simulator, request, caller)

    @router.post("/sessions/online/{reference}/invoices", status_code=HTTPStatus.ACCEPTED)
    async def send_invoice(request: Request, reference: str) -> Response:
        caller = _caller(simulator, request, RateGroup.INVOICE_SEND)
        if isinstance(caller, Response):
            return caller
        return await _send_invoice(simulator, request, caller, reference)

    @router.post("/sessions/online/{reference}/close", status_code=HTTPStatus.NO_CONTENT)
    async def close_session(request: Request, reference: str) -> Response:
        caller = _caller(simulator, request, RateGroup.ONLINE_SESSION)
        if isinstance(caller, Response):
            return caller
        try:
            simulator.close_session(simulator.session(reference, caller.context_nip))
        except KsefError as error:
            return exception_response(simulator, request, error)
        return Response(status_code=HTTPStatus.NO_CONTENT)


async def _open_session(simulator: KsefSimulator, request: Request, caller: _Caller) -> Response:
    try:
        body = _parse_body(await _raw_body(request), OpenOnlineSessionRequest)
        _check_form_code(body.form_code)
        iv = _initialization_vector(body.encryption.initialization_vector)
        _check_public_key_id(body.encryption.public_key_id)
    except KsefError as error:
        return exception_response(simulator, request, error)
    session = simulator.open_session(caller.operation, body.encryption.encrypted_symmetric_key, iv)
    return JSONResponse(
        {
            "referenceNumber": session.reference_number,
            "validUntil": simulator.stamp(session.valid_until),
        },
        HTTPStatus.CREATED,
    )


def _check_form_code(form: FormCode) -> None:
    if (form.system_code, form.schema_version, form.value) != tuple(FA3_FORM_CODE.values()):
        raise _invalid("formCode: symulator obsługuje wyłącznie FA (3), wersja 1-0E, wartość FA.")


def _initialization_vector(value: str) -> bytes:
    try:
        iv = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        iv = b""
    if len(iv) != AES_BLOCK_BYTES:
        raise _invalid("initializationVector: 16 bajtów zakodowanych w Base64.")
    return iv


def _check_public_key_id(public_key_id: str | None) -> None:
    expected = published_key(KeyUsage.SYMMETRIC_KEY_ENCRYPTION).public_key_id
    if public_key_id is not None and public_key_id != expected:
        raise KsefError(
            UNKNOWN_KEY,
            "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
        )


# Sandbox scenarios the KSeF simulator plays itself (the others are faults: ../common.py).
SCENARIO_REJECTION = ForcedOutcome(
    450, ("Linia 1: Niepoprawna wartość elementu P_1 (data wystawienia faktury).",)
)
_tokens_expired_for: set[str] = set()  # invoices whose `token_expired` scenario has played


async def _send_invoice(
    simulator: KsefSimulator, request: Request, caller: _Caller, reference: str
) -> Response:
    scenario = scenario_of(request)
    invoice_id = request.headers.get(SANDBOX_INVOICE_HEADER, "")
    if scenario is SandboxScenario.TOKEN_EXPIRED and invoice_id not in _tokens_expired_for:
        _tokens_expired_for.add(invoice_id)
        simulator.auth.expire_token(bearer_token(request) or "")
        return unauthorized(simulator, request, "Token wygasł.")
    try:
        session = simulator.session(reference, caller.context_nip)
        _check_open(simulator, session)
        body = _parse_body(await _raw_body(request), SendInvoiceRequest)
        if body.offline_mode:
            raise _invalid("offlineMode: symulator obsługuje wyłącznie tryb online.")
        sent = SentInvoice(
            invoice_hash=body.invoice_hash,
            invoice_size=body.invoice_size,
            encrypted_hash=body.encrypted_invoice_hash,
            encrypted_size=body.encrypted_invoice_size,
            encrypted_content=_check_base64(
                body.encrypted_invoice_content, "encryptedInvoiceContent"
            ),
        )
    except KsefError as error:
        return exception_response(simulator, request, error)
    if scenario is SandboxScenario.REJECT:
        simulator.force_outcomes(SCENARIO_REJECTION, 1)  # the very next invoice: this one
    invoice = simulator.accept_invoice(session, sent)
    return JSONResponse({"referenceNumber": invoice.reference_number}, HTTPStatus.ACCEPTED)


def _check_open(simulator: KsefSimulator, session: OnlineSession) -> None:
    if not simulator.session_is_open(session):
        raise session_not_open(session)


def _add_status_routes(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.get("/sessions/{reference}")
    async def session_status(request: Request, reference: str) -> Response:
        caller = _caller(simulator, request, RateGroup.SESSION_MISC)
        if isinstance(caller, Response):
            return caller
        try:
            session = simulator.session(reference, caller.context_nip)
        except KsefError as error:
            return exception_response(simulator, request, error)
        return JSONResponse(_session_json(simulator, session))

    @router.get("/sessions/{reference}/invoices")
    async def session_invoices(
        request: Request,
        reference: str,
        page_size: Annotated[int, Query(alias="pageSize", ge=10, le=500)] = 10,
        continuation: Annotated[str | None, Header(alias="x-continuation-token")] = None,
    ) -> Response:
        page = _Page(page_size, continuation, failed_only=False)
        return _invoice_page(simulator, request, reference, page)

    @router.get("/sessions/{reference}/invoices/failed")
    async def failed_invoices(
        request: Request,
        reference: str,
        page_size: Annotated[int, Query(alias="pageSize", ge=10, le=500)] = 10,
        continuation: Annotated[str | None, Header(alias="x-continuation-token")] = None,
    ) -> Response:
        page = _Page(page_size, continuation, failed_only=True)
        return _invoice_page(simulator, request, reference, page)

    @router.get("/sessions/{reference}/invoices/{invoice_reference}")
    async def invoice_status(request: Request, reference: str, invoice_reference: str) -> Response:
        caller = _caller(simulator, request, RateGroup.INVOICE_STATUS)
        if isinstance(caller, Response):
            return caller
        try:
            session = simulator.session(reference, caller.context_nip)
            invoice = simulator.invoice(session, invoice_reference)
        except KsefError as error:
            return exception_response(simulator, request, error)
        return JSONResponse(_invoice_json(simulator, invoice))


@dataclass(frozen=True)
class _Page:
    size: int
    continuation: str | None
    failed_only: bool


def _invoice_page(
    simulator: KsefSimulator, request: Request, reference: str, page: _Page
) -> Response:
    caller = _caller(simulator, request, RateGroup.SESSION_INVOICE_LIST)
    if isinstance(caller, Response):
        return caller
    try:
        session = simulator.session(reference, caller.context_nip)
        start = _continuation_offset(page.continuation)
    except KsefError as error:
        return exception_response(simulator, request, error)
    invoices = [
        invoice
        for invoice in session.invoices
        if not page.failed_only or (invoice.decided and not invoice.succeeded)
    ]
    following = start + page.size
    body: dict[str, Any] = {
        "invoices": [_invoice_json(simulator, invoice) for invoice in invoices[start:following]]
    }
    if following < len(invoices):
        body["continuationToken"] = base64.b64encode(json.dumps({"o": following}).encode()).decode()
    return JSONResponse(body)


def _continuation_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(token, validate=True))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise KsefError(BAD_CONTINUATION_TOKEN, "Nieprawidłowy token kontynuacji.") from exc
    if not isinstance(offset, int) or offset < 0:
        raise KsefError(BAD_CONTINUATION_TOKEN, "Nieprawidłowy token kontynuacji.")
    return offset


def _add_upo_routes(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.get("/sessions/{reference}/invoices/ksef/{number}/upo")
    async def upo_by_ksef_number(request: Request, reference: str, number: str) -> Response:
        def document(session: OnlineSession) -> bytes:
            return simulator.invoice_upo(simulator.invoice_by_ksef_number(session, number))

        return _upo(simulator, request, reference, document)

    @router.get("/sessions/{reference}/invoices/{invoice_reference}/upo")
    async def invoice_upo(request: Request, reference: str, invoice_reference: str) -> Response:
        def document(session: OnlineSession) -> bytes:
            return simulator.invoice_upo(simulator.invoice(session, invoice_reference))

        return _upo(simulator, request, reference, document)

    @router.get("/sessions/{reference}/upo/{upo_reference}")
    async def session_upo(request: Request, reference: str, upo_reference: str) -> Response:
        def document(session: OnlineSession) -> bytes:
            return simulator.session_upo(session, upo_reference)

        return _upo(simulator, request, reference, document)


def _upo(
    simulator: KsefSimulator,
    request: Request,
    reference: str,
    document: Callable[[OnlineSession], bytes],
) -> Response:
    caller = _caller(simulator, request, RateGroup.SESSION_MISC)
    if isinstance(caller, Response):
        return caller
    try:
        content = document(simulator.session(reference, caller.context_nip))
    except KsefError as error:
        return exception_response(simulator, request, error)
    return Response(content, media_type="application/xml")


def _session_json(simulator: KsefSimulator, session: OnlineSession) -> dict[str, Any]:
    code, details = simulator.session_status(session)
    status: dict[str, Any] = {"code": code, "description": SESSION_STATUS_DESCRIPTIONS[code]}
    if details:
        status["details"] = details
    decided = [invoice for invoice in session.invoices if invoice.decided]
    body: dict[str, Any] = {
        "status": status,
        "dateCreated": simulator.stamp(session.opened_at),
        "dateUpdated": simulator.stamp(session.updated_at),
        "validUntil": simulator.stamp(session.valid_until),
        "invoiceCount": len(session.invoices),
        "successfulInvoiceCount": sum(invoice.succeeded for invoice in decided),
        "failedInvoiceCount": sum(not invoice.succeeded for invoice in decided),
    }
    if code == HTTPStatus.OK and session.upo_reference is not None:
        # The real downloadUrl is a pre-signed storage link; here it is the UPO endpoint.
        download = f"{API_PREFIX}/sessions/{session.reference_number}/upo/{session.upo_reference}"
        body["upo"] = {
            "pages": [{"referenceNumber": session.upo_reference, "downloadUrl": download}]
        }
    return body


def _invoice_json(simulator: KsefSimulator, invoice: SessionInvoice) -> dict[str, Any]:
    code = simulator.invoice_status(invoice)
    status: dict[str, Any] = {"code": code, "description": INVOICE_STATUS_DESCRIPTIONS[code]}
    if invoice.details and invoice.decided:
        status["details"] = list(invoice.details)
    if invoice.extensions and invoice.decided:
        status["extensions"] = invoice.extensions
    body: dict[str, Any] = {
        "ordinalNumber": invoice.ordinal_number,
        "referenceNumber": invoice.reference_number,
        "invoiceHash": invoice.sent.invoice_hash,
        "invoicingDate": simulator.stamp(invoice.received_at),
        "invoicingMode": "Online",
        "status": status,
    }
    if invoice.facts is not None:
        body["invoiceNumber"] = invoice.facts.invoice_number
    if invoice.succeeded and invoice.acquired_at is not None:
        body["ksefNumber"] = invoice.ksef_number
        body["acquisitionDate"] = simulator.stamp(invoice.acquired_at)
        body["permanentStorageDate"] = simulator.stamp(invoice.acquired_at + 1)
    return body


# === test-only controls, outside the real contract ============================================


class KsefTokenRegistration(BaseModel):
    model_config = ConfigDict(frozen=True)
    nip: str = Field(pattern=r"^\d{10}$")
    token: str | None = None  # default: a fresh token in KSeF's shape


class TokenReference(BaseModel):
    model_config = ConfigDict(frozen=True)
    token: str


class Seconds(BaseModel):
    model_config = ConfigDict(frozen=True)
    seconds: float = Field(ge=0)


class GroupLimit(BaseModel):
    model_config = ConfigDict(frozen=True)
    per_second: int | None = Field(default=None, ge=1)
    per_minute: int | None = Field(default=None, ge=1)
    per_hour: int | None = Field(default=None, ge=1)


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: int
    details: list[str] = Field(default_factory=list)
    count: int = Field(default=1, ge=1)


def build_ksef_control_router(simulator: KsefSimulator) -> APIRouter:
    """`/_sim/pl/...`: what tests use to steer the simulator; KSeF has none of these."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["simulator control: KSeF"])
    add_standard_controls(router, simulator)
    _add_token_controls(router, simulator)
    _add_processing_controls(router, simulator)
    return router


def _not_found(detail: str) -> Response:
    return JSONResponse({"detail": detail}, HTTPStatus.NOT_FOUND)


def _add_token_controls(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.post("/ksef-tokens", status_code=HTTPStatus.CREATED)
    async def register_ksef_token(registration: KsefTokenRegistration) -> dict[str, str]:
        """A KSeF token for the NIP, as the portal would generate after a XAdES login."""
        token = simulator.auth.register_ksef_token(registration.nip, registration.token)
        return {"token": token, "nip": registration.nip}

    @router.post("/ksef-tokens/revoke", status_code=HTTPStatus.NO_CONTENT, response_model=None)
    async def revoke_ksef_token(reference: TokenReference) -> Response | None:
        return None if simulator.auth.revoke_ksef_token(reference.token) else _not_found("Unknown")

    @router.post("/tokens/expire", status_code=HTTPStatus.NO_CONTENT, response_model=None)
    async def expire_token(reference: TokenReference) -> Response | None:
        """End an authentication, access or refresh token's life now."""
        return None if simulator.auth.expire_token(reference.token) else _not_found("Unknown")

    @router.put("/auth-delay", status_code=HTTPStatus.NO_CONTENT)
    async def set_auth_delay(delay: Seconds) -> None:
        """How long GET /auth/{ref} answers 100 before the verdict (later logins)."""
        simulator.auth.auth_delay = delay.seconds

    @router.put("/access-token-lifetime", status_code=HTTPStatus.NO_CONTENT)
    async def set_access_token_lifetime(lifetime: Seconds) -> None:
        simulator.auth.access_token_lifetime = lifetime.seconds


def _add_processing_controls(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.get("/config")
    async def config() -> dict[str, Any]:
        return {
            "processing_delay": simulator.processing_delay,
            "auth_delay": simulator.auth.auth_delay,
            "access_token_lifetime": simulator.auth.access_token_lifetime,
            "rate_limits": {
                group.value: vars(limit) for group, limit in simulator.rate_limits.items()
            },
            "pending_faults": simulator.faults.pending,
        }

    @router.put("/rate-limits/{group}", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(group: RateGroup, limit: GroupLimit) -> None:
        """Replace one group's limits; a null threshold is unlimited."""
        simulator.rate_limits[group] = RateLimit(limit.per_second, limit.per_minute, limit.per_hour)

    @router.post("/invoice-outcomes", response_model=None)
    async def force_outcomes(request: OutcomeRequest) -> Response | dict[str, int]:
        """The next `count` invoices end in `code`, a documented error code, whatever they hold."""
        if request.code not in INVOICE_STATUS_DESCRIPTIONS or request.code in {100, 150, 200}:
            allowed = sorted(set(INVOICE_STATUS_DESCRIPTIONS) - {100, 150, 200})
            return JSONResponse(
                {"detail": f"code must be one of {allowed}"}, HTTPStatus.UNPROCESSABLE_ENTITY
            )
        outcome = ForcedOutcome(request.code, tuple(request.details))
        simulator.force_outcomes(outcome, request.count)
        return {"queued": request.count}

    @router.post("/invoices/{reference}/decide", response_model=None)
    async def decide_invoice(reference: str) -> Response | dict[str, Any]:
        """End one invoice's processing delay now."""
        invoice = simulator.decide_now(reference)
        if invoice is None:
            return _not_found("Unknown invoice reference")
        return {"referenceNumber": reference, "code": invoice.code}

    @router.get("/sessions")
    async def sessions() -> list[dict[str, Any]]:
        return [_session_snapshot(session) for session in simulator.all_sessions()]


def _session_snapshot(session: OnlineSession) -> dict[str, Any]:
    return {
        "referenceNumber": session.reference_number,
        "nip": session.context_nip,
        "invoices": [
            {
                "referenceNumber": invoice.reference_number,
                "code": invoice.code,
                "ksefNumber": invoice.ksef_number,
                "details": list(invoice.details),
            }
            for invoice in session.invoices
        ],
    }

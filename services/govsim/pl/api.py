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
    POST /v2/invoices/query/metadata           (the repository: repository.py)
    GET  /v2/invoices/ksef/{ksefNumber}

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
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Annotated, Any

from clearway.domain.sandbox import SANDBOX_INVOICE_HEADER, SandboxScenario
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from services.govsim.faults import scenario_of
from services.govsim.guard import bearer_token, guarded_router
from services.govsim.pl import repository, upo
from services.govsim.pl.auth import (
    BAD_CONTINUATION_TOKEN,
    UNKNOWN_KEY,
    KsefError,
    invalid_input,
)
from services.govsim.pl.auth_api import add_auth_routes
from services.govsim.pl.crypto import (
    AES_BLOCK_BYTES,
    KeyUsage,
    published_key,
)
from services.govsim.pl.documents import FA3_FORM_CODE, INVOICE_STATUS_DESCRIPTIONS
from services.govsim.pl.protocol import (
    Caller,
    FormCode,
    OpenOnlineSessionRequest,
    SendInvoiceRequest,
    caller_of,
    checked_base64,
    exception_response,
    fault_response,
    parse_body,
    protected,
    raw_body,
    unauthorized,
)
from services.govsim.pl.sessions import (
    SESSION_STATUS_DESCRIPTIONS,
    ForcedOutcome,
    KsefSimulator,
    OnlineSession,
    RateGroup,
    SentInvoice,
    SessionInvoice,
)

API_PREFIX = "/v2"


# === the real contract ========================================================================


def build_ksef_router(simulator: KsefSimulator) -> APIRouter:
    router = guarded_router(
        prefix=API_PREFIX,
        tag="KSeF 2.0 (PL)",
        faults=simulator.faults,
        render_fault=lambda fault: fault_response(simulator, fault),
    )
    add_auth_routes(router, simulator)
    _add_online_session_routes(router, simulator)
    _add_status_routes(router, simulator)
    _add_upo_routes(router, simulator)
    _add_repository_routes(router, simulator)
    return router


def _add_repository_routes(router: APIRouter, simulator: KsefSimulator) -> None:
    """The invoices of the caller's context as seller or buyer (repository.py)."""

    @router.post("/invoices/query/metadata")
    async def query_metadata(
        request: Request,
        sort_order: Annotated[str, Query(alias="sortOrder")] = "Asc",
        page_offset: Annotated[str, Query(alias="pageOffset")] = "0",
        page_size: Annotated[str, Query(alias="pageSize")] = "10",
    ) -> Response:
        caller = caller_of(simulator, request, RateGroup.INVOICE_METADATA)
        if isinstance(caller, Response):
            return caller
        try:
            raw = await raw_body(request)
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                raise invalid_input("Treść żądania nie jest poprawnym JSON.") from None
            asked = repository.parse_query(body, sort_order, page_offset, page_size)
            page = repository.query(
                simulator.repository, asked, context_nip=caller.context_nip, now=simulator.clock()
            )
        except KsefError as error:
            return exception_response(simulator, request, error)
        answer: dict[str, Any] = {
            "hasMore": page.has_more,
            "isTruncated": page.is_truncated,
            "permanentStorageHwmDate": None if page.hwm is None else page.hwm.isoformat(),
            "invoices": [
                repository.metadata_json(invoice, simulator.stamp) for invoice in page.invoices
            ],
        }
        return JSONResponse(answer)

    @router.get("/invoices/ksef/{number}")
    async def download_invoice(request: Request, number: str) -> Response:
        def invoice(caller: Caller) -> Response:
            stored = simulator.stored(number, caller.context_nip)
            return Response(
                stored.content,
                media_type="application/xml",
                headers={"x-ms-meta-hash": stored.invoice_hash},
            )

        return protected(simulator, request, RateGroup.INVOICE_DOWNLOAD, invoice)


def _add_online_session_routes(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.post("/sessions/online", status_code=HTTPStatus.CREATED)
    async def open_session(request: Request) -> Response:
        caller = caller_of(simulator, request, RateGroup.ONLINE_SESSION)
        if isinstance(caller, Response):
            return caller
        return await _open_session(simulator, request, caller)

    @router.post("/sessions/online/{reference}/invoices", status_code=HTTPStatus.ACCEPTED)
    async def send_invoice(request: Request, reference: str) -> Response:
        caller = caller_of(simulator, request, RateGroup.INVOICE_SEND)
        if isinstance(caller, Response):
            return caller
        return await _send_invoice(simulator, request, caller, reference)

    @router.post("/sessions/online/{reference}/close", status_code=HTTPStatus.NO_CONTENT)
    async def close_session(request: Request, reference: str) -> Response:
        def close(caller: Caller) -> Response:
            simulator.close_session(simulator.session(reference, caller.context_nip))
            return Response(status_code=HTTPStatus.NO_CONTENT)

        return protected(simulator, request, RateGroup.ONLINE_SESSION, close)


async def _open_session(simulator: KsefSimulator, request: Request, caller: Caller) -> Response:
    try:
        body = parse_body(await raw_body(request), OpenOnlineSessionRequest)
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
        raise invalid_input(
            "formCode: symulator obsługuje wyłącznie FA (3), wersja 1-0E, wartość FA."
        )


def _initialization_vector(value: str) -> bytes:
    try:
        iv = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        iv = b""
    if len(iv) != AES_BLOCK_BYTES:
        raise invalid_input("initializationVector: 16 bajtów zakodowanych w Base64.")
    return iv


def _check_public_key_id(public_key_id: str | None) -> None:
    expected = published_key(KeyUsage.SYMMETRIC_KEY_ENCRYPTION).public_key_id
    if public_key_id is not None and public_key_id != expected:
        raise KsefError(
            UNKNOWN_KEY,
            "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
        )


# Sandbox scenarios the KSeF simulator plays itself (the others are faults: ../faults.py).
SCENARIO_REJECTION = ForcedOutcome(
    450, ("Linia 1: Niepoprawna wartość elementu P_1 (data wystawienia faktury).",)
)
_tokens_expired_for: set[str] = set()  # invoices whose `token_expired` scenario has played


async def _send_invoice(
    simulator: KsefSimulator, request: Request, caller: Caller, reference: str
) -> Response:
    scenario = scenario_of(request)
    invoice_id = request.headers.get(SANDBOX_INVOICE_HEADER, "")
    if scenario is SandboxScenario.TOKEN_EXPIRED and invoice_id not in _tokens_expired_for:
        _tokens_expired_for.add(invoice_id)
        simulator.auth.expire_token(bearer_token(request) or "")
        return unauthorized(simulator, request, "Token wygasł.")
    try:
        session = simulator.session(reference, caller.context_nip)
        simulator.check_sendable(session)
        body = parse_body(await raw_body(request), SendInvoiceRequest)
        if body.offline_mode:
            raise invalid_input("offlineMode: symulator obsługuje wyłącznie tryb online.")
        sent = SentInvoice(
            invoice_hash=body.invoice_hash,
            invoice_size=body.invoice_size,
            encrypted_hash=body.encrypted_invoice_hash,
            encrypted_size=body.encrypted_invoice_size,
            encrypted_content=checked_base64(
                body.encrypted_invoice_content, "encryptedInvoiceContent"
            ),
        )
    except KsefError as error:
        return exception_response(simulator, request, error)
    if scenario is SandboxScenario.REJECT:
        simulator.invoices.force_next(SCENARIO_REJECTION, 1)  # the very next invoice: this one
    invoice = simulator.accept_invoice(session, sent)
    return JSONResponse({"referenceNumber": invoice.reference_number}, HTTPStatus.ACCEPTED)


def _add_status_routes(router: APIRouter, simulator: KsefSimulator) -> None:
    @router.get("/sessions/{reference}")
    async def session_status(request: Request, reference: str) -> Response:
        def status(caller: Caller) -> Response:
            session = simulator.session(reference, caller.context_nip)
            return JSONResponse(_session_json(simulator, session))

        return protected(simulator, request, RateGroup.SESSION_MISC, status)

    # The failed-only list before /{invoice_reference}, which would take "failed" for one.
    router.add_api_route(
        "/sessions/{reference}/invoices",
        _invoice_list(simulator, failed_only=False),
        methods=["GET"],
        name="session_invoices",
    )
    router.add_api_route(
        "/sessions/{reference}/invoices/failed",
        _invoice_list(simulator, failed_only=True),
        methods=["GET"],
        name="failed_invoices",
    )

    @router.get("/sessions/{reference}/invoices/{invoice_reference}")
    async def invoice_status(request: Request, reference: str, invoice_reference: str) -> Response:
        def status(caller: Caller) -> Response:
            session = simulator.session(reference, caller.context_nip)
            invoice = simulator.invoice(session, invoice_reference)
            return JSONResponse(_invoice_json(simulator, invoice))

        return protected(simulator, request, RateGroup.INVOICE_STATUS, status)


def _invoice_list(
    simulator: KsefSimulator, *, failed_only: bool
) -> Callable[..., Coroutine[Any, Any, Response]]:
    """A session's invoices, or only its failed ones, a page at a time."""

    async def invoice_list(
        request: Request,
        reference: str,
        page_size: Annotated[int, Query(alias="pageSize", ge=10, le=500)] = 10,
        continuation: Annotated[str | None, Header(alias="x-continuation-token")] = None,
    ) -> Response:
        def page(caller: Caller) -> Response:
            session = simulator.session(reference, caller.context_nip)
            start = _continuation_offset(continuation)
            return _invoice_page(simulator, session, start, page_size, failed_only=failed_only)

        return protected(simulator, request, RateGroup.SESSION_INVOICE_LIST, page)

    return invoice_list


def _invoice_page(
    simulator: KsefSimulator, session: OnlineSession, start: int, size: int, *, failed_only: bool
) -> Response:
    invoices = [
        invoice
        for invoice in session.invoices
        if not failed_only or (invoice.decided and not invoice.succeeded)
    ]
    following = start + size
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
            return upo.invoice_upo(simulator, simulator.invoice_by_ksef_number(session, number))

        return _upo(simulator, request, reference, document)

    @router.get("/sessions/{reference}/invoices/{invoice_reference}/upo")
    async def invoice_upo(request: Request, reference: str, invoice_reference: str) -> Response:
        def document(session: OnlineSession) -> bytes:
            return upo.invoice_upo(simulator, simulator.invoice(session, invoice_reference))

        return _upo(simulator, request, reference, document)

    @router.get("/sessions/{reference}/upo/{upo_reference}")
    async def session_upo(request: Request, reference: str, upo_reference: str) -> Response:
        def document(session: OnlineSession) -> bytes:
            return upo.session_upo(simulator, session, upo_reference)

        return _upo(simulator, request, reference, document)


def _upo(
    simulator: KsefSimulator,
    request: Request,
    reference: str,
    document: Callable[[OnlineSession], bytes],
) -> Response:
    def upo(caller: Caller) -> Response:
        content = document(simulator.session(reference, caller.context_nip))
        return Response(content, media_type="application/xml")

    return protected(simulator, request, RateGroup.SESSION_MISC, upo)


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

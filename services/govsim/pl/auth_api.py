"""The simulated KSeF's authentication routes: the public keys, the challenge, a login by KSeF
token or XAdES signature, its status, and redeeming and refreshing the tokens."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.govsim.guard import bearer_token
from services.govsim.pl.auth import AuthOperation, IssuedToken, KsefError, invalid_input
from services.govsim.pl.crypto import (
    public_key_certificates,
)
from services.govsim.pl.protocol import (
    PROBLEM_JSON,
    ContextIdentifier,
    KsefTokenAuthRequest,
    checked_base64,
    client_address,
    exception_response,
    parse_body,
    problem_details,
    raw_body,
    token_json,
    too_many_requests,
    unauthorized,
)
from services.govsim.pl.sessions import (
    KsefSimulator,
    RateGroup,
)
from services.govsim.pl.xades import checked_subject, read_signed_auth_request

NIP_PATTERN = re.compile(r"[1-9]((\d[1-9])|([1-9]\d))\d{7}")  # the OpenAPI's Nip pattern


def _public_limit(simulator: KsefSimulator, request: Request) -> Response | None:
    refusal = simulator.over_limit(RateGroup.PUBLIC, client_address(request))
    return too_many_requests(simulator, request, refusal) if refusal else None


def add_auth_routes(router: APIRouter, simulator: KsefSimulator) -> None:
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
            "clientIp": client_address(request),
        }
    )


async def _ksef_token(simulator: KsefSimulator, request: Request) -> Response:
    try:
        raw = await raw_body(request)
        body = parse_body(raw, KsefTokenAuthRequest)
        _check_context(body.context_identifier)
        checked_base64(body.encrypted_token, "encryptedToken")
        operation, token = simulator.auth.start_ksef_token_auth(
            challenge_value=body.challenge,
            context_nip=body.context_identifier.value,
            encrypted_token=body.encrypted_token,
            public_key_id=body.public_key_id,
            request_body=raw,
        )
    except KsefError as error:
        return exception_response(simulator, request, error)
    return _auth_started(simulator, operation, token)


XML_MEDIA_TYPES = ("application/xml", "text/xml")


async def _xades_signature(simulator: KsefSimulator, request: Request) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in XML_MEDIA_TYPES:
        detail = "Treść żądania musi być dokumentem XML (application/xml)."
        problem = problem_details(simulator, request, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, detail)
        return JSONResponse(problem, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, media_type=PROBLEM_JSON)
    try:
        raw = await raw_body(request)
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
    return _auth_started(simulator, operation, token)


def _auth_started(
    simulator: KsefSimulator, operation: AuthOperation, token: IssuedToken
) -> JSONResponse:
    """202 to a login by either method: the operation to follow, and its authenticationToken."""
    return JSONResponse(
        {
            "referenceNumber": operation.reference_number,
            "authenticationToken": token_json(simulator, token),
        },
        HTTPStatus.ACCEPTED,
    )


def _check_context(context: ContextIdentifier) -> None:
    if context.type != "Nip" or not NIP_PATTERN.fullmatch(context.value):
        raise invalid_input("contextIdentifier: obsługiwany jest identyfikator typu Nip (10 cyfr).")


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
            "accessToken": token_json(simulator, access),
            "refreshToken": token_json(simulator, refresh),
        }
    )


def _refresh(simulator: KsefSimulator, request: Request) -> Response:
    access = simulator.auth.refresh(bearer_token(request))
    if access is None:
        return unauthorized(simulator, request, "Nieprawidłowy lub wygasły refresh token.")
    return JSONResponse({"accessToken": token_json(simulator, access)})

"""What every call to the simulated ANAF REST API shares: the per-minute limit and the bearer
token checked first, and ANAF's answer shapes (XML bodies, the Spring Boot error body)."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from services.govsim.guard import bearer_token
from services.govsim.ro.oauth import Grant
from services.govsim.ro.state import AnafSimulator


def admit(simulator: AnafSimulator, request: Request) -> Grant | Response:
    simulator.settle()
    token = bearer_token(request)
    caller = (simulator.oauth.client_of(token) if token else None) or (
        f"address:{request.client.host if request.client else '-'}"
    )
    wait = simulator.admit_request(caller)
    if wait:
        return calls_per_minute_reached(simulator, wait)
    grant = simulator.oauth.grant_for_access_token(token) if token else None
    if grant is None:
        return spring_error(
            simulator,
            HTTPStatus.UNAUTHORIZED,
            "Token invalid sau expirat" if token else "Lipseste tokenul de acces",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"' if token else "Bearer"},
        )
    return grant


def xml_response(content: bytes) -> Response:
    return Response(content, media_type="application/xml")


def spring_time(simulator: AnafSimulator, at: float | None = None) -> str:
    return simulator.local_time(at).strftime("%d-%m-%Y %H:%M:%S")


def spring_error(
    simulator: AnafSimulator,
    status: HTTPStatus,
    message: str,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """ANAF's non-200 answers: the Spring Boot error body of its OpenAPI documents."""
    body = {
        "timestamp": spring_time(simulator),
        "status": int(status),
        "error": status.phrase,
        "message": message,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def calls_per_minute_reached(simulator: AnafSimulator, retry_after: int) -> JSONResponse:
    """ANAF's answer past its per-minute limit: 429, Retry-After, its Spring error body (only
    the opening words of the text are sourced: ANAF's OAuth guide)."""
    return spring_error(
        simulator,
        HTTPStatus.TOO_MANY_REQUESTS,
        f"S-au facut deja {simulator.requests_per_minute} de apeluri in ultimul minut. "
        "Reincercati mai tarziu.",
        headers={"Retry-After": str(retry_after)},
    )


def bad_request(simulator: AnafSimulator, message: str) -> JSONResponse:
    return spring_error(simulator, HTTPStatus.BAD_REQUEST, message)

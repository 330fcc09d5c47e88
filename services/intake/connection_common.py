"""What the /v1/connections routes share: finding the caller's company and connection, and the
answers for a government that is not answering or not configured live."""

from __future__ import annotations

from typing import Any

import httpx
from clearway.accounts import ApiKeyOwner
from clearway.config import LiveNotConfiguredError
from clearway.db import Connection as DbConnection
from fastapi.responses import JSONResponse

from services.intake.errors import ApiError
from services.intake.resources import ErrorEnvelope
from services.intake.settings import service_settings

UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"model": ErrorEnvelope}}
GOVERNMENT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class GovernmentUnavailableError(Exception):
    """The government system did not answer: nothing was changed; the caller may try again."""


def unavailable(message: str) -> JSONResponse:
    body: dict[str, Any] = {"error": {"type": "api_error", "message": message, "errors": []}}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "30"})


def live_not_configured(exc: LiveNotConfiguredError) -> ApiError:
    """A live key asked for a government this deployment has no live configuration for."""
    message = f"{exc} Sandbox keys (sk_test_) connect to the sandbox."
    return ApiError(
        "validation_error",
        message,
        param="/countryCode",
        errors=[{"param": "/countryCode", "message": message, "code": "live_not_configured"}],
    )


def public_url(path: str) -> str:
    return f"{service_settings().public_base_url.rstrip('/')}{path}"


async def owned_company(conn: DbConnection, company_id: str, account_id: str) -> Any:
    company = await conn.fetchrow(
        "SELECT * FROM companies WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL",
        company_id,
        account_id,
    )
    if company is None:
        raise ApiError("not_found", f"No company {company_id}.", param="/companyId")
    return company


async def owned_connection(
    conn: DbConnection, connection_id: str, owner: ApiKeyOwner, *, for_update: bool = False
) -> Any:
    """The account's connection of the key's mode; any other answers like a missing one."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        "SELECT * FROM connections WHERE id = $1 AND account_id = $2 AND livemode = $3 "  # noqa: S608
        f"AND status <> 'deleted'{lock}",
        connection_id,
        owner.account_id,
        owner.livemode,
    )
    if row is None:
        raise ApiError("not_found", f"No connection {connection_id}.", param="/id")
    return row

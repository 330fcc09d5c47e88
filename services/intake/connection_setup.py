"""The steps of a connection's setup after POST /v1/connections, per government:

    RO  GET /v1/callbacks/anaf: ANAF sends the browser back with a code, exchanged for tokens
    IT  POST /v1/connections/:id/certificate: the SDI channel's certificate and key
    PL  POST /v1/connections/:id/ksef-token, or /certificate (a certificate carrying the NIP):
        KSeF's challenge flow, signed with it

The governments' own steps are in clearway.governments.<cc>.connect; these routes read the
request, find the caller's connection and answer. Included in services.intake.connections'
router, after its own routes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import httpx
from clearway.accounts.connections import (
    consume_authorization,
    update_connection,
)
from clearway.config import LiveNotConfiguredError
from clearway.domain.connections import SetupMethod
from clearway.domain.ids import utcnow
from clearway.domain.invoice import NO_NUL
from clearway.governments import government
from clearway.governments.it import connect as sdi
from clearway.governments.pl import connect as ksef_setup
from clearway.governments.pl.auth import (
    KsefAuthClient,
    KsefAuthRefusedError,
    KsefTokens,
    KsefUnavailableError,
)
from clearway.governments.pl.xades import KsefCertificate
from clearway.governments.ro import connect as anaf_setup
from clearway.governments.ro.client import AnafUnavailableError
from clearway.security import (
    CertificateBundle,
    CertificateError,
    read_pem_bundle,
    read_pkcs12_bundle,
)
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from services.intake.auth import Owner
from services.intake.connection_common import (
    GOVERNMENT_TIMEOUT,
    UNAVAILABLE,
    live_not_configured,
    owned_connection,
    unavailable,
)
from services.intake.dashboard.session import session_of
from services.intake.errors import ApiError
from services.intake.resources import Connection, Data, connection_resource
from services.intake.settings import service_settings

# No tags or responses of its own: the connections router that includes it adds them, so the
# routes read exactly as if they were declared there.
router = APIRouter()

# Every setup step answers the connection as it now is (unset parts left out), or 503 when the
# government does not answer.
CONNECTION_ANSWER: dict[str, Any] = {
    "response_model": Data[Connection],
    "response_model_exclude_unset": True,
    "responses": UNAVAILABLE,
}


class CertificateUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["pem", "pkcs12"]
    certificate: str = Field(
        min_length=1,
        max_length=200_000,
        pattern=NO_NUL,
        description="pem: the certificate(s) and the private key as PEM text; "
        "pkcs12: the .p12/.pfx file in base64",
    )
    password: str | None = Field(
        default=None, max_length=1024, pattern=NO_NUL, description="of the key or file"
    )


class KsefTokenUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        min_length=1, max_length=2000, pattern=NO_NUL, description="generated in the KSeF portal"
    )


def nip_of(vat_number: str) -> str:
    try:
        return ksef_setup.nip_of(vat_number)
    except ksef_setup.NotANipError as exc:
        raise ApiError("validation_error", str(exc), param="/companyId") from None


# --- RO: the OAuth callback ----------------------------------------------------------------


@router.get("/v1/callbacks/anaf", **CONNECTION_ANSWER, openapi_extra={"security": []})
async def anaf_callback(
    request: Request,
    state: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)],
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> Any:
    """Where ANAF sends the user's browser back (no API key: `state` says which connection).

    The state is accepted once, for the connection of the account it was made for, while that
    connection waits for it; anything else answers 404 and changes nothing."""
    now = utcnow()
    settings = service_settings()
    refusal: ApiError | None = None
    try:
        async with request.app.state.pool.acquire() as conn, conn.transaction():
            pending = await consume_authorization(conn, state, now=now)
            if pending is None:
                raise ApiError(
                    "not_found",
                    "No authorization waits for this state: it is unknown, already used or "
                    "expired. Start again with POST /v1/connections.",
                    param="/state",
                )
            row, reason = await anaf_setup.finish_authorization(
                conn,
                pending,
                code=code,
                error=error,
                error_description=error_description,
                anaf=settings.governments().anaf,
                timeout=GOVERNMENT_TIMEOUT,
                now=now,
            )
            if reason is not None:
                refusal = ApiError(
                    "validation_error",
                    f"{reason} Start again with POST /v1/connections.",
                    param="/error" if error else "/code",
                )
    except AnafUnavailableError:
        # Rolled back: the state is still unused, so the user can reload the page.
        return unavailable("ANAF is not answering; reload this page in a minute.")
    if refusal is None:
        request.app.state.relay.wake()
    if await session_of(request) is not None:
        # The browser came from the dashboard (its session cookie is back with it): to the
        # connection's page, which shows how it went. The page reads it with the session's key.
        notice = "" if refusal else "?notice=connected"
        return RedirectResponse(f"/dashboard/connections/{row['id']}{notice}", status_code=303)
    if refusal is not None:
        raise refusal
    return {"data": connection_resource(row)}


# --- IT: the SDI certificate; PL: the certificate KSeF logins are signed with ---------------


def _certificate_bundle(body: CertificateUpload) -> CertificateBundle:
    password = body.password.encode() if body.password else None
    try:
        if body.format == "pem":
            return read_pem_bundle(body.certificate.encode(), password, now=utcnow())
        try:
            data = base64.b64decode(body.certificate, validate=True)
        except (binascii.Error, ValueError):
            raise CertificateError("The PKCS#12 file is not valid base64.") from None
        return read_pkcs12_bundle(data, password, now=utcnow())
    except CertificateError as exc:
        raise ApiError("validation_error", str(exc), param="/certificate") from None


@router.post("/v1/connections/{connection_id}/certificate", **CONNECTION_ANSWER)
async def upload_certificate(
    request: Request, connection_id: str, body: CertificateUpload, owner: Owner
) -> Any:
    """IT: the SDI channel's certificate and private key; checked (the key is the
    certificate's, the certificate valid now), sealed, and its expiry becomes tokenExpiresAt.
    PL: checked the same way, then KSeF's challenge flow runs at once with a XAdES-signed
    request, as with a KSeF token."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await owned_connection(conn, connection_id, owner, for_update=True)
        method = government(row["country"]).setup_method
        if method not in {SetupMethod.CERTIFICATE, SetupMethod.KSEF_TOKEN}:
            raise ApiError(
                "validation_error",
                f"A {row['country']} connection does not take a certificate (IT and PL do).",
                param="/id",
            )
        bundle = _certificate_bundle(body)
        if method is SetupMethod.CERTIFICATE:
            row = await sdi.activate_with_certificate(conn, row, bundle)
    if method is SetupMethod.KSEF_TOKEN:  # KSeF decides, outside that transaction
        return await _connect_ksef_with_certificate(request, connection_id, bundle, owner)
    request.app.state.relay.wake()
    return {"data": connection_resource(row)}


async def _connect_ksef_with_certificate(
    request: Request, connection_id: str, bundle: CertificateBundle, owner: Owner
) -> Any:
    """KSeF's challenge flow signed with the certificate; on success the certificate and key
    are kept, sealed, to log in again when the refresh token runs out."""
    pool = request.app.state.pool
    async with pool.acquire() as conn:
        row = await owned_connection(conn, connection_id, owner)
        company = await conn.fetchrow("SELECT * FROM companies WHERE id = $1", row["company_id"])
    certificate = KsefCertificate(bundle.certificate_pem.decode(), bundle.private_key_pem.decode())
    tokens = await _ksef_login(
        pool,
        row,
        company,
        lambda client, nip: client.authenticate_with_certificate(certificate, nip),
        param="/certificate",
    )
    if isinstance(tokens, JSONResponse):
        return tokens
    async with pool.acquire() as conn, conn.transaction():
        row = await owned_connection(conn, connection_id, owner, for_update=True)
        row = await ksef_setup.activate_with_certificate(conn, row, tokens, bundle, now=utcnow())
    request.app.state.relay.wake()
    return {"data": connection_resource(row)}


async def _ksef_login(
    pool: Any,
    row: Any,
    company: Any,
    login: Callable[[KsefAuthClient, str], Awaitable[KsefTokens]],
    *,
    param: str,
) -> KsefTokens | JSONResponse:
    """KSeF's challenge flow for the company's NIP: its tokens, or a 503 answer when KSeF does
    not answer. A refusal is recorded on the connection and answered naming `param`. Outside
    any transaction: KSeF may take a while to decide."""
    nip = nip_of(company["vat_number"])
    try:
        ksef = service_settings().governments().ksef.for_mode(row["livemode"])
    except LiveNotConfiguredError as exc:
        raise live_not_configured(exc) from None
    async with httpx.AsyncClient(timeout=GOVERNMENT_TIMEOUT) as http:
        try:
            return await login(KsefAuthClient(ksef.api_url, http), nip)
        except KsefUnavailableError as exc:
            return unavailable(f"KSeF is not answering ({exc}); try again later.")
        except KsefAuthRefusedError as exc:
            async with pool.acquire() as conn:
                await update_connection(conn, row["id"], last_error_message=str(exc))
            raise ApiError("validation_error", str(exc), param=param) from None


# --- PL: the KSeF token --------------------------------------------------------------------


@router.post("/v1/connections/{connection_id}/ksef-token", **CONNECTION_ANSWER)
async def upload_ksef_token(
    request: Request, connection_id: str, body: KsefTokenUpload, owner: Owner
) -> Any:
    """Authenticates with KSeF (challenge, encrypted token, verdict, redeem) and keeps the
    token, sealed, to authenticate again when the refresh token runs out."""
    pool = request.app.state.pool
    async with pool.acquire() as conn:
        row = await owned_connection(conn, connection_id, owner)
        if government(row["country"]).setup_method is not SetupMethod.KSEF_TOKEN:
            raise ApiError(
                "validation_error",
                f"A {row['country']} connection does not take a KSeF token (only PL does).",
                param="/id",
            )
        company = await conn.fetchrow("SELECT * FROM companies WHERE id = $1", row["company_id"])
    tokens = await _ksef_login(
        pool,
        row,
        company,
        lambda client, nip: client.authenticate_with_token(body.token, nip),
        param="/token",
    )
    if isinstance(tokens, JSONResponse):
        return tokens
    now = utcnow()
    async with pool.acquire() as conn, conn.transaction():
        row = await owned_connection(conn, connection_id, owner, for_update=True)
        row = await ksef_setup.activate_with_ksef_token(conn, row, tokens, body.token, now=now)
    request.app.state.relay.wake()
    return {"data": connection_resource(row)}

"""/v1/connections: a company's link to a country's government system, and how it is set up.

    RO  authorizationUrl → the user authorizes Clearway at ANAF → ANAF sends the browser to
        GET /v1/callbacks/anaf?code&state → tokens exchanged and sealed → active
    IT  setup instructions → POST /v1/connections/:id/certificate (the SDI channel's
        certificate and key, PEM or PKCS#12) → active until the certificate expires
    PL  setup instructions → POST /v1/connections/:id/ksef-token (a KSeF token) or
        POST /v1/connections/:id/certificate (a certificate carrying the NIP, for a XAdES-signed
        login) → KSeF's challenge flow → active
    BE, DE, FR  the company's participant identifier, registered with the network (the sandbox's
        Peppol SMP) or recorded → active at once

Tokens, certificates and keys are sealed before they are stored (clearway.security) and never
leave in an answer. `connection.active` is published through the outbox when a connection
becomes active. Another account's connection answers 404, like a missing one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import httpx
from clearway.accounts import ApiKeyOwner
from clearway.accounts.connections import (
    activate_connection,
    activate_with_tokens,
    consume_authorization,
    delete_connection,
    open_connection,
    purge_secrets,
    start_authorization,
    update_connection,
)
from clearway.config import LiveNotConfiguredError
from clearway.db import Connection as DbConnection
from clearway.domain.connections import (
    SETUP_METHOD,
    ConnectionStatus,
    MissingIdentifierError,
    SecretKind,
    SetupMethod,
    network_credentials_for,
)
from clearway.domain.ids import utcnow
from clearway.domain.invoice import NO_NUL, Country
from clearway.governments.peppol.participants import (
    NetworkUnavailableError,
    ParticipantRefusedError,
    register_participant,
)
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.auth import (
    KsefAuthClient,
    KsefAuthRefusedError,
    KsefUnavailableError,
)
from clearway.governments.pl.xades import KsefCertificate
from clearway.governments.ro.client import AnafUnavailableError
from clearway.governments.ro.oauth import (
    AnafOAuthClient,
    AnafOAuthRefusedError,
    authorization_url,
)
from clearway.security import (
    CertificateBundle,
    CertificateError,
    read_pem_bundle,
    read_pkcs12_bundle,
)
from clearway.store.accounts import company_row, owned_company_row
from clearway.store.connections import account_connections, owned_connection_row
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.intake.auth import Owner
from services.intake.errors import ApiError
from services.intake.invoices import ERRORS
from services.intake.resources import (
    Connection,
    Data,
    Deleted,
    ErrorEnvelope,
    SetupInstructions,
    connection_resource,
)
from services.intake.settings import service_settings

router = APIRouter(tags=["connections"], responses=ERRORS)
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"model": ErrorEnvelope}}
GOVERNMENT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class ConnectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    companyId: str = Field(min_length=1, max_length=100, pattern=NO_NUL)  # noqa: N815
    countryCode: Country  # noqa: N815
    isSender: bool = Field(default=True, description="The company sends e-invoices")  # noqa: N815
    isReceiver: bool = Field(  # noqa: N815
        default=True, description="The company receives e-invoices (at least one must be true)"
    )


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


class GovernmentUnavailableError(Exception):
    """The government system did not answer: nothing was changed; the caller may try again."""


def _unavailable(message: str) -> JSONResponse:
    body: dict[str, Any] = {"error": {"type": "api_error", "message": message, "errors": []}}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "30"})


def _live_not_configured(exc: LiveNotConfiguredError) -> ApiError:
    """A live key asked for a government this deployment has no live configuration for."""
    message = f"{exc} Sandbox keys (sk_test_) connect to the sandbox."
    return ApiError(
        "validation_error",
        message,
        param="/countryCode",
        errors=[{"param": "/countryCode", "message": message, "code": "live_not_configured"}],
    )


def _public_url(path: str) -> str:
    return f"{service_settings().public_base_url.rstrip('/')}{path}"


SDI_SETUP_STEPS = (
    (
        "Accredit a transmission channel with the Sistema di Interscambio (SDICoop web service "
        "or SDIFTP) at https://www.fatturapa.gov.it; the accreditation gives the channel's "
        "client certificate."
    ),
    (
        'Upload the certificate with its private key to uploadUrl: {"format": "pem", '
        '"certificate": "<certificate and key, PEM>"} or {"format": "pkcs12", '
        '"certificate": "<.p12 in base64>", "password": "…"}.'
    ),
    (
        "The connection becomes active; tokenExpiresAt is when the certificate expires. Upload "
        "the renewed certificate the same way before then."
    ),
)
KSEF_SETUP_STEPS = (
    (
        "Log in to KSeF (https://ksef.mf.gov.pl, or the test environment) with a qualified "
        "signature or seal and generate a KSeF token with the right to issue invoices for the "
        "company's NIP."
    ),
    (
        'Send it to uploadUrl: {"token": "<KSeF token>"}. Clearway authenticates with KSeF\'s '
        "challenge flow, keeps the token encrypted, and authenticates again with it before "
        "KSeF's 7-day refresh token runs out."
    ),
    (
        "Or, instead of a token, a certificate whose subject carries the company's NIP (a "
        "qualified seal with organizationIdentifier VATPL-<NIP>, a qualified signature with "
        "serialNumber TINPL-<NIP>, or a KSeF certificate) with its private key: POST it to "
        '/v1/connections/<id>/certificate as {"format": "pem", "certificate": "<certificate '
        'and key, PEM>"} or {"format": "pkcs12", "certificate": "<.p12 in base64>", '
        '"password": "…"}. Clearway signs KSeF\'s challenge with it (XAdES) and logs in with '
        "it again before the refresh token runs out, until the certificate expires."
    ),
)


def _setup_instructions(country: str, connection_id: str) -> SetupInstructions | None:
    method = SETUP_METHOD[country]
    if method is SetupMethod.CERTIFICATE:
        return SetupInstructions(
            steps=list(SDI_SETUP_STEPS),
            uploadUrl=_public_url(f"/v1/connections/{connection_id}/certificate"),
        )
    if method is SetupMethod.KSEF_TOKEN:
        return SetupInstructions(
            steps=list(KSEF_SETUP_STEPS),
            uploadUrl=_public_url(f"/v1/connections/{connection_id}/ksef-token"),
        )
    return None


async def _owned_company(conn: DbConnection, company_id: str, account_id: str) -> Any:
    company = await owned_company_row(conn, company_id, account_id)
    if company is None:
        raise ApiError("not_found", f"No company {company_id}.", param="/companyId")
    return company


async def _owned_connection(
    conn: DbConnection, connection_id: str, owner: ApiKeyOwner, *, for_update: bool = False
) -> Any:
    """The account's connection of the key's mode; any other answers like a missing one."""
    row = await owned_connection_row(
        conn, connection_id, owner.account_id, livemode=owner.livemode, for_update=for_update
    )
    if row is None:
        raise ApiError("not_found", f"No connection {connection_id}.", param="/id")
    return row


def _nip_of(company: Mapping[str, Any]) -> str:
    nip = pl.compact(company["vat_number"])
    if not pl.is_nip_format(nip):
        raise ApiError(
            "validation_error",
            "KSeF authenticates a Polish NIP: the company's VAT number is not one "
            "(PL + 10 digits).",
            param="/companyId",
        )
    return nip


# --- create --------------------------------------------------------------------------------


@router.post(
    "/v1/connections",
    status_code=201,
    response_model=Data[Connection],
    response_model_exclude_unset=True,
    responses={
        200: {
            "description": "The company's active connection, returned as it is",
            "model": Data[Connection],
        },
        **UNAVAILABLE,
    },
)
async def create_connection(
    request: Request, body: ConnectionRequest, owner: Owner, response: Response
) -> Any:
    """RO answers an `authorizationUrl`; IT and PL `setupInstructions`; BE, DE and FR register
    the company's identifier and are active at once. An active connection is returned as it is
    (200)."""
    country = body.countryCode
    try:
        async with request.app.state.pool.acquire() as conn, conn.transaction():
            company = await _owned_company(conn, body.companyId, owner.account_id)
            if not (body.isSender or body.isReceiver):
                raise ApiError(
                    "validation_error",
                    "A connection sends, receives or both: isSender and isReceiver are false.",
                    param="/isSender",
                )
            if SETUP_METHOD[country] is SetupMethod.KSEF_TOKEN:
                _nip_of(company)
            if owner.livemode:  # before anything is made: nothing may fall back to the sandbox
                try:
                    service_settings().governments().for_connections(country).for_mode(
                        owner.livemode
                    )
                except LiveNotConfiguredError as exc:
                    raise _live_not_configured(exc) from None
            row, _ = await open_connection(
                conn,
                owner.account_id,
                company["id"],
                country,
                is_sender=body.isSender,
                is_receiver=body.isReceiver,
                livemode=owner.livemode,
            )
            if row["status"] == ConnectionStatus.ACTIVE.value:
                response.status_code = 200
                return {"data": connection_resource(row)}
            resource = await _start_setup(conn, row, company, body)
    except GovernmentUnavailableError as exc:
        return _unavailable(str(exc))
    request.app.state.relay.wake()
    return {"data": resource}


async def _start_setup(
    conn: DbConnection, row: Any, company: Any, body: ConnectionRequest
) -> Connection:
    """Back to the beginning of the country's setup: whatever an expired or failed attempt
    left is purged, and the roles asked for now are recorded."""
    await purge_secrets(conn, row["id"])
    row = await update_connection(
        conn,
        row["id"],
        status=ConnectionStatus.PENDING_SETUP.value,
        is_sender=body.isSender,
        is_receiver=body.isReceiver,
        token_expires_at=None,
        refresh_token_expires_at=None,
        next_refresh_at=None,
    )
    method = SETUP_METHOD[row["country"]]
    if method is SetupMethod.OAUTH:
        redirect_uri = _public_url("/v1/callbacks/anaf")
        state = await start_authorization(conn, row, redirect_uri, now=utcnow())
        anaf = service_settings().governments().anaf.for_mode(row["livemode"])
        url = authorization_url(anaf.oauth_url, anaf.client_id, redirect_uri, state)
        return connection_resource(row).model_copy(update={"authorizationUrl": url})
    if method is SetupMethod.NETWORK:
        return connection_resource(await _join_network(conn, row, company))
    steps = _setup_instructions(row["country"], row["id"])
    return connection_resource(row).model_copy(update={"setupInstructions": steps})


async def _join_network(conn: DbConnection, row: Any, company: Any) -> Any:
    try:
        credentials = network_credentials_for(
            row["country"],
            vat_number=company["vat_number"],
            peppol_id=company["peppol_id"],
            siret=company["siret"],
        )
    except MissingIdentifierError as exc:
        raise ApiError("validation_error", str(exc), param="/companyId") from None
    assert credentials is not None  # every network country has a scheme
    row = await update_connection(
        conn,
        row["id"],
        network_scheme=credentials.scheme,
        network_identifier=credentials.identifier,
    )
    registration_url = None
    # Only receiving needs the SMP to publish the company; BE and DE travel over Peppol.
    if row["is_receiver"] and row["country"] in {"BE", "DE"}:
        peppol = service_settings().governments().peppol.for_mode(row["livemode"])
        registration_url = peppol.registration_url
    if registration_url:
        async with httpx.AsyncClient(timeout=GOVERNMENT_TIMEOUT) as http:
            try:
                await register_participant(
                    http, registration_url, credentials.participant_id, company["legal_name"]
                )
            except ParticipantRefusedError as exc:
                return await update_connection(
                    conn,
                    row["id"],
                    status=ConnectionStatus.ERROR.value,
                    last_error_message=f"Peppol refused {credentials.participant_id}: {exc}",
                )
            except NetworkUnavailableError as exc:
                raise GovernmentUnavailableError(f"Peppol is not answering ({exc}).") from None
    return await activate_connection(conn, row, secrets={}, token_expires_at=None)


# --- read and delete -----------------------------------------------------------------------


@router.get(
    "/v1/connections", response_model=Data[list[Connection]], response_model_exclude_unset=True
)
async def list_connections(request: Request, owner: Owner) -> dict[str, Any]:
    """Every connection of the account's companies in the key's mode, newest first."""
    async with request.app.state.pool.acquire() as conn:
        rows = await account_connections(conn, owner.account_id, livemode=owner.livemode)
    return {"data": [connection_resource(row) for row in rows]}


@router.get(
    "/v1/connections/{connection_id}",
    response_model=Data[Connection],
    response_model_exclude_unset=True,
)
async def get_connection(request: Request, connection_id: str, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        row = await _owned_connection(conn, connection_id, owner)
    return {"data": connection_resource(row)}


@router.delete("/v1/connections/{connection_id}", response_model=Data[Deleted])
async def remove_connection(request: Request, connection_id: str, owner: Owner) -> dict[str, Any]:
    """Its tokens, certificates and keys are deleted, not hidden; its pending authorization
    stops working; the refresher stops looking at it."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await _owned_connection(conn, connection_id, owner, for_update=True)
        await delete_connection(conn, connection_id)
    return {"data": {"id": connection_id, "deleted": True}}


# --- RO: the OAuth callback ----------------------------------------------------------------


@router.get(
    "/v1/callbacks/anaf",
    response_model=Data[Connection],
    response_model_exclude_unset=True,
    responses=UNAVAILABLE,
    openapi_extra={"security": []},
)
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
            row = pending.connection
            reason = None
            if error or not code:
                reason = _not_authorized(error, error_description)
            else:
                try:
                    anaf = settings.governments().anaf.for_mode(row["livemode"])
                except LiveNotConfiguredError as exc:  # its live configuration was removed
                    reason = str(exc)
                else:
                    async with httpx.AsyncClient(timeout=GOVERNMENT_TIMEOUT) as http:
                        oauth = AnafOAuthClient(
                            anaf.oauth_url, anaf.client_id, anaf.client_secret, http
                        )
                        try:
                            tokens = await oauth.exchange_code(code, pending.redirect_uri, now=now)
                        except AnafOAuthRefusedError as exc:
                            reason = f"ANAF refused the authorization code ({exc})."
            if reason is not None:
                # The state is used up either way: a new attempt starts with a new URL.
                row = await update_connection(
                    conn, row["id"], status=ConnectionStatus.ERROR.value, last_error_message=reason
                )
                refusal = ApiError(
                    "validation_error",
                    f"{reason} Start again with POST /v1/connections.",
                    param="/error" if error else "/code",
                )
            else:
                row = await activate_with_tokens(conn, row, "RO", tokens, now=now)
    except AnafUnavailableError:
        # Rolled back: the state is still unused, so the user can reload the page.
        return _unavailable("ANAF is not answering; reload this page in a minute.")
    if refusal is not None:
        raise refusal
    request.app.state.relay.wake()
    return {"data": connection_resource(row)}


def _not_authorized(error: str | None, description: str | None) -> str:
    """Why the connection is not active, when ANAF sent the browser back without a code."""
    if error == "access_denied":
        # The user refused (or cancelled) the consent with their certificate at ANAF.
        reason = (
            "The ANAF user refused to authorize Clearway at ANAF's eSign step (access_denied), "
            "so the connection was not activated. Authorize again with a certificate of a user "
            "who has SPV rights for the company, and approve the request"
        )
    else:
        reason = f"ANAF did not authorize Clearway: {error or 'no authorization code'}"
    return reason + (f" ({description})." if description else ".")


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


@router.post(
    "/v1/connections/{connection_id}/certificate",
    response_model=Data[Connection],
    response_model_exclude_unset=True,
    responses=UNAVAILABLE,
)
async def upload_certificate(
    request: Request, connection_id: str, body: CertificateUpload, owner: Owner
) -> Any:
    """IT: the SDI channel's certificate and private key; checked (the key is the
    certificate's, the certificate valid now), sealed, and its expiry becomes tokenExpiresAt.
    PL: checked the same way, then KSeF's challenge flow runs at once with a XAdES-signed
    request, as with a KSeF token."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _owned_connection(conn, connection_id, owner, for_update=True)
        method = SETUP_METHOD[row["country"]]
        if method not in {SetupMethod.CERTIFICATE, SetupMethod.KSEF_TOKEN}:
            raise ApiError(
                "validation_error",
                f"A {row['country']} connection does not take a certificate (IT and PL do).",
                param="/id",
            )
        bundle = _certificate_bundle(body)
        if method is SetupMethod.CERTIFICATE:
            row = await activate_connection(
                conn,
                row,
                secrets={
                    SecretKind.CERTIFICATE: bundle.certificate_pem,
                    SecretKind.PRIVATE_KEY: bundle.private_key_pem,
                },
                token_expires_at=bundle.not_valid_after,
                # The refresher cannot renew a certificate: it expires the connection then.
                refresh_at=bundle.not_valid_after,
            )
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
        row = await _owned_connection(conn, connection_id, owner)
        company = await company_row(conn, row["company_id"])
    nip = _nip_of(company)
    try:
        ksef = service_settings().governments().ksef.for_mode(row["livemode"])
    except LiveNotConfiguredError as exc:
        raise _live_not_configured(exc) from None
    certificate = KsefCertificate(bundle.certificate_pem.decode(), bundle.private_key_pem.decode())
    # Outside any transaction: KSeF may take a while to decide.
    async with httpx.AsyncClient(timeout=GOVERNMENT_TIMEOUT) as http:
        try:
            tokens = await KsefAuthClient(ksef.api_url, http).authenticate_with_certificate(
                certificate, nip
            )
        except KsefUnavailableError as exc:
            return _unavailable(f"KSeF is not answering ({exc}); try again later.")
        except KsefAuthRefusedError as exc:
            async with pool.acquire() as conn:
                await update_connection(conn, connection_id, last_error_message=str(exc))
            raise ApiError("validation_error", str(exc), param="/certificate") from None
    async with pool.acquire() as conn, conn.transaction():
        row = await _owned_connection(conn, connection_id, owner, for_update=True)
        await purge_secrets(conn, connection_id, [SecretKind.KSEF_TOKEN])  # one credential
        row = await activate_with_tokens(
            conn,
            row,
            "PL",
            tokens,
            now=utcnow(),
            extra_secrets={
                SecretKind.CERTIFICATE: bundle.certificate_pem,
                SecretKind.PRIVATE_KEY: bundle.private_key_pem,
            },
        )
    request.app.state.relay.wake()
    return {"data": connection_resource(row)}


# --- PL: the KSeF token --------------------------------------------------------------------


@router.post(
    "/v1/connections/{connection_id}/ksef-token",
    response_model=Data[Connection],
    response_model_exclude_unset=True,
    responses=UNAVAILABLE,
)
async def upload_ksef_token(
    request: Request, connection_id: str, body: KsefTokenUpload, owner: Owner
) -> Any:
    """Authenticates with KSeF (challenge, encrypted token, verdict, redeem) and keeps the
    token, sealed, to authenticate again when the refresh token runs out."""
    pool = request.app.state.pool
    async with pool.acquire() as conn:
        row = await _owned_connection(conn, connection_id, owner)
        if SETUP_METHOD[row["country"]] is not SetupMethod.KSEF_TOKEN:
            raise ApiError(
                "validation_error",
                f"A {row['country']} connection does not take a KSeF token (only PL does).",
                param="/id",
            )
        company = await company_row(conn, row["company_id"])
    nip = _nip_of(company)
    try:
        ksef = service_settings().governments().ksef.for_mode(row["livemode"])
    except LiveNotConfiguredError as exc:
        raise _live_not_configured(exc) from None
    # Outside any transaction: KSeF may take a while to decide.
    async with httpx.AsyncClient(timeout=GOVERNMENT_TIMEOUT) as http:
        try:
            tokens = await KsefAuthClient(ksef.api_url, http).authenticate_with_token(
                body.token, nip
            )
        except KsefUnavailableError as exc:
            return _unavailable(f"KSeF is not answering ({exc}); try again later.")
        except KsefAuthRefusedError as exc:
            async with pool.acquire() as conn:
                await update_connection(conn, connection_id, last_error_message=str(exc))
            raise ApiError("validation_error", str(exc), param="/token") from None
    now = utcnow()
    async with pool.acquire() as conn, conn.transaction():
        row = await _owned_connection(conn, connection_id, owner, for_update=True)
        # One credential: a certificate connected before no longer logs in.
        await purge_secrets(conn, connection_id, [SecretKind.CERTIFICATE, SecretKind.PRIVATE_KEY])
        row = await activate_with_tokens(
            conn, row, "PL", tokens, now=now, extra_secrets={SecretKind.KSEF_TOKEN: body.token}
        )
    request.app.state.relay.wake()
    return {"data": connection_resource(row)}

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

Here: creating, reading and deleting connections. The setup steps after creation (the ANAF
callback, certificate and KSeF token uploads) are services.intake.connection_setup's routes,
included at the end of this router; each government's own steps are its connect module.
"""

from __future__ import annotations

from typing import Any

import httpx
from clearway.accounts.connection_secrets import purge_secrets
from clearway.accounts.connections import (
    activate_connection,
    delete_connection,
    open_connection,
    update_connection,
)
from clearway.config import LiveNotConfiguredError
from clearway.db import Connection as DbConnection
from clearway.domain.connections import (
    ConnectionStatus,
    MissingIdentifierError,
    SetupMethod,
    network_credentials_for,
)
from clearway.domain.ids import utcnow
from clearway.domain.invoice import NO_NUL, Country
from clearway.domain.wire import WireBody
from clearway.governments import government
from clearway.governments.peppol.network import OverPeppol
from clearway.governments.peppol.participants import (
    NetworkUnavailableError,
    ParticipantRefusedError,
    register_participant,
)
from clearway.governments.ro import connect as anaf_setup
from fastapi import APIRouter, Request, Response
from pydantic import Field

from services.intake import connection_setup
from services.intake.auth import Owner
from services.intake.connection_common import (
    GOVERNMENT_TIMEOUT,
    UNAVAILABLE,
    GovernmentUnavailableError,
    live_not_configured,
    owned_company,
    owned_connection,
    public_url,
    unavailable,
)
from services.intake.connection_setup import nip_of
from services.intake.errors import ApiError
from services.intake.invoices import ERRORS
from services.intake.resources import (
    Connection,
    Data,
    Deleted,
    SetupInstructions,
    connection_resource,
)
from services.intake.settings import service_settings

router = APIRouter(tags=["connections"], responses=ERRORS)


class ConnectionRequest(WireBody):
    company_id: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    country_code: Country
    is_sender: bool = Field(default=True, description="The company sends e-invoices")
    is_receiver: bool = Field(
        default=True, description="The company receives e-invoices (at least one must be true)"
    )


# Where each setup method's credential is uploaded (connection_setup's routes).
_UPLOAD_PATH = {SetupMethod.CERTIFICATE: "certificate", SetupMethod.KSEF_TOKEN: "ksef-token"}


def _setup_instructions(country: str, connection_id: str) -> SetupInstructions | None:
    chosen = government(country)
    upload = _UPLOAD_PATH.get(chosen.setup_method)
    if upload is None:
        return None
    return SetupInstructions(
        steps=list(chosen.setup_steps),
        upload_url=public_url(f"/v1/connections/{connection_id}/{upload}"),
    )


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
    country = body.country_code
    try:
        async with request.app.state.pool.acquire() as conn, conn.transaction():
            company = await owned_company(conn, body.company_id, owner.account_id)
            if not (body.is_sender or body.is_receiver):
                raise ApiError(
                    "validation_error",
                    "A connection sends, receives or both: isSender and isReceiver are false.",
                    param="/isSender",
                )
            if government(country).setup_method is SetupMethod.KSEF_TOKEN:
                nip_of(company["vat_number"])
            if owner.livemode:  # before anything is made: nothing may fall back to the sandbox
                try:
                    service_settings().governments().for_connections(country).for_mode(
                        owner.livemode
                    )
                except LiveNotConfiguredError as exc:
                    raise live_not_configured(exc) from None
            row, _ = await open_connection(
                conn,
                owner.account_id,
                company["id"],
                country,
                is_sender=body.is_sender,
                is_receiver=body.is_receiver,
                livemode=owner.livemode,
            )
            if row["status"] == ConnectionStatus.ACTIVE.value:
                response.status_code = 200
                return {"data": connection_resource(row)}
            resource = await _start_setup(conn, row, company, body)
    except GovernmentUnavailableError as exc:
        return unavailable(str(exc))
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
        is_sender=body.is_sender,
        is_receiver=body.is_receiver,
        token_expires_at=None,
        refresh_token_expires_at=None,
        next_refresh_at=None,
    )
    method = government(row["country"]).setup_method
    if method is SetupMethod.OAUTH:
        redirect_uri = public_url("/v1/callbacks/anaf")
        anaf = service_settings().governments().anaf.for_mode(row["livemode"])
        url = await anaf_setup.start_authorization_url(conn, row, redirect_uri, anaf, now=utcnow())
        return connection_resource(row).model_copy(update={"authorization_url": url})
    if method is SetupMethod.NETWORK:
        return connection_resource(await _join_network(conn, row, company))
    steps = _setup_instructions(row["country"], row["id"])
    return connection_resource(row).model_copy(update={"setup_instructions": steps})


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
    peppol_government = government(row["country"])
    if row["is_receiver"] and isinstance(peppol_government, OverPeppol):
        peppol = service_settings().governments().peppol.for_mode(row["livemode"])
        registration_url = peppol.registration_url
    if registration_url and isinstance(peppol_government, OverPeppol):
        async with httpx.AsyncClient(timeout=GOVERNMENT_TIMEOUT) as http:
            try:
                await register_participant(
                    http,
                    registration_url,
                    credentials.participant_id,
                    company["legal_name"],
                    peppol_government.receivable_document_types(),
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
        rows = await conn.fetch(
            "SELECT * FROM connections WHERE account_id = $1 AND livemode = $2 "
            "AND status <> 'deleted' ORDER BY created_at DESC, id DESC",
            owner.account_id,
            owner.livemode,
        )
    return {"data": [connection_resource(row) for row in rows]}


@router.get(
    "/v1/connections/{connection_id}",
    response_model=Data[Connection],
    response_model_exclude_unset=True,
)
async def get_connection(request: Request, connection_id: str, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        row = await owned_connection(conn, connection_id, owner)
    return {"data": connection_resource(row)}


@router.delete("/v1/connections/{connection_id}", response_model=Data[Deleted])
async def remove_connection(request: Request, connection_id: str, owner: Owner) -> dict[str, Any]:
    """Its tokens, certificates and keys are deleted, not hidden; its pending authorization
    stops working; the refresher stops looking at it."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await owned_connection(conn, connection_id, owner, for_update=True)
        await delete_connection(conn, connection_id)
    return {"data": {"id": connection_id, "deleted": True}}


# The setup steps' routes, after these (the order of the OpenAPI document's paths).
router.include_router(connection_setup.router)

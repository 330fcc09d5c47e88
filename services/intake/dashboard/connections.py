"""Connections: each company's link to a government, set up from here (ANAF's consent, a
certificate, a KSeF token), and the companies they belong to."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.intake.dashboard.api import ApiRefusalError
from services.intake.dashboard.invoices import COUNTRIES
from services.intake.dashboard.pages import SignedIn, User, field, form_of, render, see_other

router = APIRouter()

# A certificate or a KSeF token does not renew itself: this long before it ends, a person is
# asked to upload a new one. RO's access tokens are refreshed by the token-refresher, but only
# until ANAF's refresh token ends; then a person signs ANAF's consent again.
RENEWAL_WARNING = dt.timedelta(days=14)
RENEWS_ITSELF = frozenset({"RO"})
MAX_CERTIFICATE_BYTES = 150_000


def needs_a_person(connection: dict[str, Any], now: dt.datetime | None = None) -> str | None:
    """Why the connection needs someone soon, or None."""
    status = connection["status"]
    if status == "pending_setup":
        return "Its setup is not finished."
    if status in ("expired", "error"):
        return "It no longer files: connect it again."
    expires = connection.get("tokenExpiresAt")
    if expires and connection["countryCode"] not in RENEWS_ITSELF:
        ends = dt.datetime.fromisoformat(expires)
        if ends - (now or dt.datetime.now(dt.UTC)) < RENEWAL_WARNING:
            return f"Its credential ends on {ends:%Y-%m-%d %H:%M} UTC: upload a new one."
    consent_ends = connection.get("refreshTokenExpiresAt")
    if consent_ends and connection["countryCode"] in RENEWS_ITSELF:
        ends = dt.datetime.fromisoformat(consent_ends)
        if ends - (now or dt.datetime.now(dt.UTC)) < RENEWAL_WARNING:
            return f"ANAF's consent ends on {ends:%Y-%m-%d %H:%M} UTC: connect it again."
    return None


async def _connections_page(
    request: Request, user: SignedIn, status_code: int = 200, error: str | None = None
) -> Response:
    companies = await user.api.data("/v1/companies")
    connections = await user.api.data("/v1/connections")
    return render(
        request,
        "connections.html",
        user.session,
        status_code,
        companies=companies,
        company_names={company["id"]: company["legalName"] for company in companies},
        connections=[(one, needs_a_person(one)) for one in connections],
        countries=COUNTRIES,
        error=error,
    )


@router.get("/connections")
async def connection_list(request: Request, user: User) -> Response:
    return await _connections_page(request, user)


@router.post("/companies")
async def add_company(request: Request, user: User) -> Response:
    form = await form_of(request, user)
    body = {name: field(form, name) for name in ("legalName", "vatNumber", "country")}
    try:
        await user.api.send("POST", "/v1/companies", body)
    except ApiRefusalError as refusal:
        return await _connections_page(request, user, 400, refusal.message)
    return see_other("/dashboard/connections?notice=company-added")


@router.post("/connections")
async def connect(request: Request, user: User) -> Response:
    """RO: off to ANAF's consent page, which sends the browser back to the API's callback, and
    that back here (services.intake.connection_setup); the others: the connection's page."""
    form = await form_of(request, user)
    body = {"companyId": field(form, "companyId"), "countryCode": field(form, "countryCode")}
    try:
        connection = await user.api.send("POST", "/v1/connections", body)
    except ApiRefusalError as refusal:
        return await _connections_page(request, user, 400, refusal.message)
    if connection.get("authorizationUrl"):
        return see_other(connection["authorizationUrl"])
    return see_other(f"/dashboard/connections/{connection['id']}")


async def _connection_page(
    request: Request, user: SignedIn, connection_id: str, status_code: int = 200, **context: Any
) -> Response:
    connection = await user.api.data(f"/v1/connections/{connection_id}")
    company = await user.api.data(f"/v1/companies/{connection['companyId']}")
    return render(
        request,
        "connection.html",
        user.session,
        status_code,
        connection=connection,
        company=company,
        warning=needs_a_person(connection),
        **context,
    )


@router.get("/connections/{connection_id}")
async def connection_page(request: Request, connection_id: str, user: User) -> Response:
    return await _connection_page(request, user, connection_id)


async def _certificate_body(upload: Any, password: str) -> dict[str, Any]:
    """The API's certificate body from an uploaded .pem, or .p12/.pfx file."""
    if not isinstance(upload, UploadFile):
        return {"format": "pem", "certificate": ""}  # the API says it is missing
    data = await upload.read(MAX_CERTIFICATE_BYTES + 1)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if "-----BEGIN" in text:
        body: dict[str, Any] = {"format": "pem", "certificate": text}
    else:
        body = {"format": "pkcs12", "certificate": base64.b64encode(data).decode()}
    if password:
        body["password"] = password
    return body


async def _upload(
    request: Request, user: SignedIn, connection_id: str, step: str, body: dict[str, Any]
) -> Response:
    """One setup step's upload (certificate, ksef-token); its page says why when refused."""
    try:
        await user.api.send("POST", f"/v1/connections/{connection_id}/{step}", body)
    except ApiRefusalError as refusal:
        return await _connection_page(request, user, connection_id, 400, error=refusal.message)
    return see_other(f"/dashboard/connections/{connection_id}?notice=connected")


@router.post("/connections/{connection_id}/certificate")
async def upload_certificate(request: Request, connection_id: str, user: User) -> Response:
    form = await form_of(request, user)
    body = await _certificate_body(form.get("certificate"), field(form, "password"))
    return await _upload(request, user, connection_id, "certificate", body)


@router.post("/connections/{connection_id}/ksef-token")
async def upload_ksef_token(request: Request, connection_id: str, user: User) -> Response:
    form = await form_of(request, user)
    body = {"token": field(form, "token")}
    return await _upload(request, user, connection_id, "ksef-token", body)


@router.get("/connections/{connection_id}/delete")
async def confirm_delete(request: Request, connection_id: str, user: User) -> Response:
    return await _connection_page(request, user, connection_id, confirm_delete=True)


@router.post("/connections/{connection_id}/delete")
async def delete_connection(request: Request, connection_id: str, user: User) -> Response:
    await form_of(request, user)
    await user.api.send("DELETE", f"/v1/connections/{connection_id}")
    return see_other("/dashboard/connections?notice=connection-deleted")

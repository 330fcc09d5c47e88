"""Webhook endpoints: create, disable, rotate the secret (shown once, on the answer to the form
that made it), and each endpoint's deliveries with their attempts, sent again on request."""

from __future__ import annotations

from typing import Any

from clearway.webhooks.events import SUBSCRIBABLE_EVENTS
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.intake.dashboard.api import ApiRefusalError
from services.intake.dashboard.pages import SignedIn, User, field, form_of, render, see_other

router = APIRouter()


async def _endpoints_page(
    request: Request, user: SignedIn, status_code: int = 200, **context: Any
) -> Response:
    endpoints = await user.api.data("/v1/webhook-endpoints")
    return render(
        request,
        "webhooks.html",
        user.session,
        status_code,
        endpoints=endpoints,
        events=SUBSCRIBABLE_EVENTS,
        **context,
    )


@router.get("/webhooks")
async def endpoint_list(request: Request, user: User) -> Response:
    return await _endpoints_page(request, user)


@router.post("/webhooks")
async def create_endpoint(request: Request, user: User) -> Response:
    form = await form_of(request, user)
    events = [event for event in form.getlist("events") if isinstance(event, str)]
    body: dict[str, Any] = {"url": field(form, "url"), "enabledEvents": events or ["*"]}
    if description := field(form, "description"):
        body["description"] = description
    try:
        created = await user.api.send("POST", "/v1/webhook-endpoints", body)
    except ApiRefusalError as refusal:
        return await _endpoints_page(request, user, 400, error=refusal.message)
    # The secret is in this answer only (no-store): never in a URL, never shown again.
    return await _endpoint_page(request, user, created["id"], secret=created["secret"])


async def _endpoint_page(
    request: Request,
    user: SignedIn,
    endpoint_id: str,
    cursor: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    endpoint = await user.api.data(f"/v1/webhook-endpoints/{endpoint_id}")
    deliveries = await user.api.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries", cursor=cursor
    )
    return render(
        request,
        "webhook.html",
        user.session,
        status_code,
        endpoint=endpoint,
        deliveries=deliveries,
        **context,
    )


@router.get("/webhooks/{endpoint_id}")
async def endpoint_page(
    request: Request, endpoint_id: str, user: User, cursor: str | None = None
) -> Response:
    return await _endpoint_page(request, user, endpoint_id, cursor)


@router.post("/webhooks/{endpoint_id}/disabled")
async def set_disabled(request: Request, endpoint_id: str, user: User) -> Response:
    form = await form_of(request, user)
    disabled = field(form, "disabled") == "true"
    await user.api.send("PATCH", f"/v1/webhook-endpoints/{endpoint_id}", {"disabled": disabled})
    notice = "endpoint-disabled" if disabled else "endpoint-enabled"
    return see_other(f"/dashboard/webhooks/{endpoint_id}?notice={notice}")


@router.post("/webhooks/{endpoint_id}/rotate-secret")
async def rotate_secret(request: Request, endpoint_id: str, user: User) -> Response:
    await form_of(request, user)
    rotated = await user.api.send("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
    return await _endpoint_page(
        request,
        user,
        endpoint_id,
        secret=rotated["secret"],
        previous_secret_expires_at=rotated.get("previousSecretExpiresAt"),
    )


async def _act_on_endpoint(
    request: Request, user: SignedIn, endpoint_id: str, path: str, notice: str
) -> Response:
    await form_of(request, user)
    try:
        await user.api.send("POST", f"/v1/webhook-endpoints/{endpoint_id}/{path}")
    except ApiRefusalError as refusal:
        if refusal.status_code != 409:  # disabled, or an attempt in flight: said on the page
            raise
        return await _endpoint_page(request, user, endpoint_id, None, 409, error=refusal.message)
    return see_other(f"/dashboard/webhooks/{endpoint_id}?notice={notice}")


@router.post("/webhooks/{endpoint_id}/test")
async def send_test_event(request: Request, endpoint_id: str, user: User) -> Response:
    return await _act_on_endpoint(request, user, endpoint_id, "test", "test-sent")


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay_delivery(
    request: Request, endpoint_id: str, delivery_id: str, user: User
) -> Response:
    path = f"deliveries/{delivery_id}/retry"
    return await _act_on_endpoint(request, user, endpoint_id, path, "replayed")

"""/v1/webhook-endpoints: where an account wants its events sent, their signing secrets, and
every delivery and attempt made to them (the webhook-dispatcher service does the sending).

An endpoint belongs to the mode of the key that created it: it receives that mode's events, and
only keys of that mode see it (a test key can never redirect live events). A secret is shown
in the answer that creates it and never again; it is kept sealed (clearway.security), not
hashed, because the dispatcher signs with it.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any, Literal

from clearway.accounts import ApiKeyOwner
from clearway.accounts.connection_secrets import default_keyring
from clearway.db import Connection
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.invoice import NO_NUL
from clearway.domain.wire import WireBody, WireModel
from clearway.store import webhook_deliveries as delivery_store
from clearway.store import webhook_endpoints as endpoint_store
from clearway.store.webhook_deliveries import (
    NewDelivery,
    enqueue_deliveries,
    wake_dispatchers,
)
from clearway.store.webhook_endpoints import (
    EndpointChanges,
    add_secret,
    rotate_secret,
)
from clearway.webhooks.addresses import URL_MAX_LENGTH, URL_PATTERN, url_problem
from clearway.webhooks.events import TEST_EVENT, encode_body, webhook_test_body
from clearway.webhooks.settings import ROTATION_OVERLAP, WebhookSettings
from fastapi import APIRouter, Query, Request
from pydantic import ConfigDict, Field, StringConstraints

from services.intake.auth import Owner
from services.intake.errors import ApiError
from services.intake.invoices import ERRORS
from services.intake.resources import Data, Deleted, Page, from_row
from services.intake.settings import service_settings

MAX_ENDPOINTS_PER_ACCOUNT = 16
MAX_OVERLAP_SECONDS = 7 * 24 * 3600

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"], responses=ERRORS)

# --- what the API takes ---------------------------------------------------------------------

EndpointUrl = Annotated[
    str,
    StringConstraints(max_length=URL_MAX_LENGTH, pattern=URL_PATTERN),
    Field(examples=["https://example.com/webhooks/clearway"]),
]
# "*" or one of clearway.webhooks.events.SUBSCRIBABLE_EVENTS (a test keeps the two in step).
EnabledEvent = Literal[
    "*",
    "invoice.created",
    "invoice.validated",
    "invoice.submitted",
    "invoice.accepted",
    "invoice.rejected",
    "invoice.error",
    "invoice.received",
    "connection.active",
    "connection.expired",
    "webhook_endpoint.disabled",
]
EnabledEvents = Annotated[
    list[EnabledEvent],
    Field(min_length=1, max_length=20, examples=[["invoice.accepted", "invoice.rejected"]]),
]
Description = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]


class EndpointCreate(WireBody):
    url: EndpointUrl
    enabled_events: EnabledEvents
    description: Description | None = None


class EndpointUpdate(WireBody):
    """Only the fields sent change; `description: null` clears it."""

    url: EndpointUrl | None = None
    enabled_events: EnabledEvents | None = None
    description: Description | None = None
    disabled: bool | None = None


class SecretRotation(WireBody):
    overlap_seconds: int = Field(
        default=int(ROTATION_OVERLAP.total_seconds()),
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="How long the previous secret keeps signing beside the new one",
    )


# --- what it answers ------------------------------------------------------------------------


class _Out(WireModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpoint(_Out):
    id: str = Field(examples=["we_a1b2c3d4e5f6a1b2c3d4e5f6"])
    url: str
    description: str | None
    enabled_events: list[str]
    livemode: bool
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    failing_since: str | None  # first failure since the last success
    created_at: str
    updated_at: str


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = Field(
        description="Shown in this answer only", examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    )


class RotatedEndpoint(WebhookEndpointWithSecret):
    previous_secret_expires_at: str | None = Field(
        description="Until when the previous secret signs beside the new one"
    )


class DeliveryAttempt(_Out):
    attempted_at: str
    http_status: int | None  # None: no answer (timeout, refused, unreachable)
    duration_ms: int
    error: str | None
    response_body: str | None  # the first KiB of the answer
    next_retry_at: str | None


class WebhookDelivery(_Out):
    id: str = Field(examples=["whd_a1b2c3d4e5f6a1b2c3d4e5f6"])
    webhook_id: str  # the webhook-id header: the same on every attempt
    event_id: str
    event_type: str
    invoice_id: str | None
    status: Literal["pending", "delivered", "dead"]
    attempt_count: int
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None
    attempts: list[DeliveryAttempt]


def _iso(moment: dt.datetime | None) -> str | None:
    return iso_millis(moment) if moment is not None else None


def endpoint_resource(row: Any) -> WebhookEndpoint:
    return from_row(
        WebhookEndpoint,
        row,
        enabled_events=list(row["enabled_events"]),
        status="disabled" if row["disabled_at"] else "enabled",
        failing_since=_iso(row["failing_since"]),
        created_at=iso_millis(row["created_at"]),
        updated_at=iso_millis(row["updated_at"]),
    )


def delivery_resource(row: Any, attempts: list[Any]) -> WebhookDelivery:
    return from_row(
        WebhookDelivery,
        row,
        invoice_id=row["stream_id"],
        status=row["state"],
        attempt_count=row["attempts"],
        next_attempt_at=_iso(row["next_attempt_at"]) if row["state"] == "pending" else None,
        created_at=iso_millis(row["created_at"]),
        delivered_at=_iso(row["delivered_at"]),
        attempts=[
            from_row(
                DeliveryAttempt,
                a,
                attempted_at=iso_millis(a["attempted_at"]),
                next_retry_at=_iso(a["next_retry_at"]),
            )
            for a in attempts
        ],
    )


# --- helpers ----------------------------------------------------------------------------------


@functools.cache
def _settings() -> WebhookSettings:
    return WebhookSettings.from_config(service_settings().webhooks)


def _check_url(url: str, *, livemode: bool) -> None:
    problem = url_problem(url, livemode=livemode, policy=_settings().address_policy)
    if problem is not None:
        raise ApiError("validation_error", problem, param="/url")


async def _owned_endpoint(conn: Connection, endpoint_id: str, owner: ApiKeyOwner) -> Any:
    row = await endpoint_store.owned_endpoint(
        conn, endpoint_id, owner.account_id, livemode=owner.livemode
    )
    if row is None:
        # Another account's (or the other mode's) endpoint answers exactly like a missing one.
        raise ApiError("not_found", f"No webhook endpoint {endpoint_id}.", param="/id")
    return row


async def _delivery_page(conn: Connection, rows: list[Any]) -> list[WebhookDelivery]:
    attempts = await delivery_store.attempts_of(conn, [row["id"] for row in rows])
    by_delivery: dict[str, list[Any]] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt["delivery_id"], []).append(attempt)
    return [delivery_resource(row, by_delivery.get(row["id"], [])) for row in rows]


def _not_while_disabled(endpoint: Any) -> None:
    if endpoint["disabled_at"] is not None:
        raise ApiError(
            "conflict_error",
            "The endpoint is disabled: enable it first (PATCH with disabled: false).",
            param="/id",
        )


# --- the endpoints ----------------------------------------------------------------------------


@router.post("", status_code=201, response_model=Data[WebhookEndpointWithSecret])
async def create(request: Request, body: EndpointCreate, owner: Owner) -> dict[str, Any]:
    """Register an endpoint; the answer holds its signing secret, shown this once."""
    _check_url(body.url, livemode=owner.livemode)
    endpoint_id = new_id("we")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        # One creation at a time per account, so the limit holds under concurrent requests.
        count = await endpoint_store.lock_account_endpoints(conn, owner.account_id)
        if count >= MAX_ENDPOINTS_PER_ACCOUNT:
            raise ApiError(
                "usage_limit_exceeded",
                f"An account has at most {MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints.",
            )
        await endpoint_store.create_endpoint(
            conn,
            endpoint_id,
            account_id=owner.account_id,
            livemode=owner.livemode,
            url=body.url,
            description=body.description,
            enabled_events=sorted(set(body.enabled_events)),
        )
        secret = await add_secret(conn, default_keyring(), endpoint_id)
        row = await _owned_endpoint(conn, endpoint_id, owner)
    endpoint = endpoint_resource(row)
    return {"data": WebhookEndpointWithSecret(**endpoint.model_dump(), secret=secret)}


@router.get("", response_model=Data[list[WebhookEndpoint]])
async def list_endpoints(request: Request, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        rows = await endpoint_store.account_endpoints(
            conn, owner.account_id, livemode=owner.livemode
        )
    return {"data": [endpoint_resource(row) for row in rows]}


@router.get("/{endpoint_id}", response_model=Data[WebhookEndpoint])
async def get(request: Request, endpoint_id: str, owner: Owner) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        return {"data": endpoint_resource(await _owned_endpoint(conn, endpoint_id, owner))}


@router.patch("/{endpoint_id}", response_model=Data[WebhookEndpoint])
async def update(
    request: Request, endpoint_id: str, body: EndpointUpdate, owner: Owner
) -> dict[str, Any]:
    """Change the URL, the events, the description, or disable/enable it. Enabling it again
    sends its pending deliveries at once."""
    if body.url is not None:
        _check_url(body.url, livemode=owner.livemode)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _owned_endpoint(conn, endpoint_id, owner)
        changes: dict[str, Any] = {}
        if body.url is not None:
            changes["url"] = body.url
        if body.enabled_events is not None:
            changes["enabled_events"] = sorted(set(body.enabled_events))
        if "description" in body.model_fields_set:
            changes["description"] = body.description
        if body.disabled is True and row["disabled_at"] is None:
            changes.update(disabled_at=utcnow(), disabled_reason="Disabled through the API.")
        if body.disabled is False and row["disabled_at"] is not None:
            changes.update(disabled_at=None, disabled_reason=None, failing_since=None)
            await delivery_store.send_pending_now(conn, endpoint_id)
            await wake_dispatchers(conn)
        if changes:
            row = await endpoint_store.update_endpoint(
                conn, endpoint_id, EndpointChanges(**changes)
            )
    return {"data": endpoint_resource(row)}


@router.delete("/{endpoint_id}", response_model=Data[Deleted])
async def delete(request: Request, endpoint_id: str, owner: Owner) -> dict[str, Any]:
    """Deletes the endpoint, its secrets and its deliveries (pending ones are not sent)."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await _owned_endpoint(conn, endpoint_id, owner)
        await endpoint_store.delete_endpoint(conn, endpoint_id)
    return {"data": {"id": endpoint_id, "deleted": True}}


@router.post("/{endpoint_id}/rotate-secret", response_model=Data[RotatedEndpoint])
async def rotate(
    request: Request, endpoint_id: str, owner: Owner, body: SecretRotation | None = None
) -> dict[str, Any]:
    """A new signing secret, shown this once. The previous one keeps signing beside it for
    `overlapSeconds` (24 h unless said), so receivers can switch without losing a message."""
    overlap = dt.timedelta(seconds=(body or SecretRotation()).overlap_seconds)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _owned_endpoint(conn, endpoint_id, owner)
        secret, previous_expires_at = await rotate_secret(
            conn, default_keyring(), endpoint_id, overlap
        )
    endpoint = endpoint_resource(row)
    return {
        "data": RotatedEndpoint(
            **endpoint.model_dump(),
            secret=secret,
            previous_secret_expires_at=_iso(previous_expires_at),
        )
    }


@router.get("/{endpoint_id}/deliveries", response_model=Page[WebhookDelivery])
async def list_deliveries(  # noqa: PLR0913, PLR0917 - each filter is a query parameter
    request: Request,
    endpoint_id: str,
    owner: Owner,
    status: Literal["pending", "delivered", "dead"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Newest first, each with every attempt made (time, HTTP status, duration, error, next
    retry). `cursor` is the `nextCursor` of the previous page."""
    async with request.app.state.pool.acquire() as conn:
        await _owned_endpoint(conn, endpoint_id, owner)
        before = None
        if cursor is not None:
            position = await delivery_store.delivery_position(conn, cursor, endpoint_id)
            if position is None:
                raise ApiError(
                    "validation_error", "This cursor is not one we gave out.", param="/cursor"
                )
            before = (position["created_at"], position["id"])
        rows = await delivery_store.endpoint_deliveries(
            conn, endpoint_id, state=status, before=before, limit=limit + 1
        )
        page = rows[:limit]
        data = await _delivery_page(conn, page)
    has_more = len(rows) > limit
    return {"data": data, "hasMore": has_more, "nextCursor": page[-1]["id"] if has_more else None}


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=Data[WebhookDelivery],
)
async def retry_delivery(
    request: Request, endpoint_id: str, delivery_id: str, owner: Owner
) -> dict[str, Any]:
    """Send it again now, with the same webhook-id and body. A delivered or dead-lettered one
    gets one attempt; a pending one simply goes now and keeps its retry schedule."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        _not_while_disabled(await _owned_endpoint(conn, endpoint_id, owner))
        row = await delivery_store.retry_delivery_now(conn, delivery_id, endpoint_id)
        if row is None:
            if await delivery_store.delivery_exists(conn, delivery_id, endpoint_id):
                raise ApiError(
                    "conflict_error", "An attempt is in flight right now.", param="/deliveryId"
                )
            raise ApiError("not_found", f"No delivery {delivery_id}.", param="/deliveryId")
        await wake_dispatchers(conn)
        [delivery] = await _delivery_page(conn, [row])
    return {"data": delivery}


@router.post("/{endpoint_id}/test", status_code=202, response_model=Data[WebhookDelivery])
async def send_test_event(request: Request, endpoint_id: str, owner: Owner) -> dict[str, Any]:
    """Send a `webhook.test` event to this endpoint (whatever events it subscribed to)."""
    event_id = new_id("evt")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        endpoint = await _owned_endpoint(conn, endpoint_id, owner)
        _not_while_disabled(endpoint)
        body = webhook_test_body(
            event_id=event_id,
            endpoint_id=endpoint_id,
            livemode=endpoint["livemode"],
            timestamp=iso_millis(utcnow()),
        )
        await enqueue_deliveries(
            conn,
            [
                NewDelivery(
                    endpoint_id=endpoint_id,
                    event_id=event_id,
                    event_type=TEST_EVENT,
                    body=encode_body(body),
                )
            ],
        )
        row = await delivery_store.delivery_of_event(conn, endpoint_id, event_id)
        [delivery] = await _delivery_page(conn, [row])
    return {"data": delivery}

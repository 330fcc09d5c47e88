"""The message every invoice topic carries: one lifecycle event and the invoice it belongs to."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.domain.lifecycle import Status


class EventMessage(BaseModel):
    """Published on the stage topics and on `invoice.events` (the public stream).

    Consumers append their own transition at `version + 1` with `eventId` as its cause, which
    is what makes handling the same message twice harmless.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    invoiceId: str  # noqa: N815 - public wire names
    accountId: str  # noqa: N815
    externalId: str | None = None  # noqa: N815 - the platform's own reference, to correlate
    country: str
    livemode: bool
    eventId: str  # noqa: N815
    version: int
    event: str
    status: Status
    metadata: dict[str, Any] | None
    createdAt: str  # noqa: N815


class ConnectionEventMessage(BaseModel):
    """Published on `connection.events`, keyed by connection ID: `connection.active` (setup or
    re-authorization done), `connection.refreshed` (new tokens; the token-refresher),
    `connection.expired` (a refresh failed: the user must authorize again). Never a secret."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    eventId: str  # noqa: N815 - public wire names
    event: str
    connectionId: str  # noqa: N815
    accountId: str  # noqa: N815
    companyId: str  # noqa: N815
    countryCode: str  # noqa: N815
    status: str
    tokenExpiresAt: str | None  # noqa: N815
    lastErrorMessage: str | None  # noqa: N815
    createdAt: str  # noqa: N815

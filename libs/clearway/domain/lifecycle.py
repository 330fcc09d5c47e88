"""Invoice statuses and lifecycle events, exactly as the public API names them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    CREATED = "created"
    VALIDATED = "validated"
    CONVERTING = "converting"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ERROR = "error"


FINAL_STATUSES = frozenset({Status.ACCEPTED, Status.REJECTED, Status.ERROR})


class EventType(StrEnum):
    CREATED = "invoice.created"
    VALIDATED = "invoice.validated"
    SUBMITTED = "invoice.submitted"
    ACCEPTED = "invoice.accepted"
    REJECTED = "invoice.rejected"
    ERROR = "invoice.error"


STATUS_OF_EVENT: dict[EventType, Status] = {
    EventType.CREATED: Status.CREATED,
    EventType.VALIDATED: Status.VALIDATED,
    EventType.SUBMITTED: Status.SUBMITTED,
    EventType.ACCEPTED: Status.ACCEPTED,
    EventType.REJECTED: Status.REJECTED,
    EventType.ERROR: Status.ERROR,
}

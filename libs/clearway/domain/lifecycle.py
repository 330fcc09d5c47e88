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

# From which statuses each event may be appended (the event store refuses any other). An
# invoice in `error` is still followed to the government's decision when it was already filed
# (its connection expired while a status poll waited), and may fail again meanwhile.
ALLOWED_FROM: dict[EventType, frozenset[Status]] = {
    EventType.CREATED: frozenset(),  # only as a stream's first event
    EventType.VALIDATED: frozenset({Status.CREATED}),
    EventType.SUBMITTED: frozenset({Status.VALIDATED}),
    EventType.ACCEPTED: frozenset({Status.SUBMITTED, Status.ERROR}),
    EventType.REJECTED: frozenset(
        {Status.CREATED, Status.VALIDATED, Status.SUBMITTED, Status.ERROR}
    ),
    EventType.ERROR: frozenset({Status.VALIDATED, Status.SUBMITTED, Status.ERROR}),
}


# A received invoice's stream (GET /v1/received-invoices/:id/events) is not an invoice's
# lifecycle: it starts with this event, in this status, and nothing in the filing pipeline
# follows it.
RECEIVED_EVENT = "invoice.received"
RECEIVED_STATUS = "received"

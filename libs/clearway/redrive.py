"""Which message moves a stalled invoice on. Pure: the redriver service does the I/O.

The store, not the broker, is the source of truth: if a message was lost (the broker lost its
log, say), the invoice's status and what the store holds say which stage must see it again.
Sending it again is safe because every consumer is idempotent.
"""

from __future__ import annotations

import datetime as dt

from clearway.domain.lifecycle import Status
from clearway.messaging.topics import (
    INVOICE_CREATED,
    INVOICE_SUBMITTED,
    INVOICE_VALIDATED,
    submit_topic,
)

# A stalled invoice is sent again after these pauses, then every hour.
REDRIVE_BACKOFF = (
    dt.timedelta(seconds=0),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
)
REDRIVE_EVERY = dt.timedelta(hours=1)


def redrive_topic(
    status: Status, country: str, *, has_document: bool, has_status_poll: bool
) -> str | None:
    """The topic whose consumer must see the invoice's last event again; None: nothing to do."""
    if status is Status.CREATED:
        return INVOICE_CREATED
    if status is Status.VALIDATED:
        # The converter stored the document, so the hand-over to the submitter is what was lost.
        return submit_topic(country) if has_document else INVOICE_VALIDATED
    if status is Status.SUBMITTED:
        # With a poll row the poller follows it from the store; without, it never heard of it.
        return None if has_status_poll else INVOICE_SUBMITTED
    return None


def next_redrive_after(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th redrive before the next one."""
    return REDRIVE_BACKOFF[attempts] if attempts < len(REDRIVE_BACKOFF) else REDRIVE_EVERY

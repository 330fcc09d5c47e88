"""The event store's former home: it lives in clearway.store.events now (and `Connection` in
clearway.db). These names stay importable from here while other branches still use them."""

from __future__ import annotations

from clearway.db import Connection
from clearway.store.events import (
    AppendResult,
    ConcurrencyConflictError,
    NewEvent,
    StoredEvent,
    TransitionNotAllowedError,
    append_event,
    event_at,
    event_message,
    read_stream,
    start_stream,
)
from clearway.store.invoices import InvoiceChanges, InvoiceRef, NewInvoice
from clearway.store.outbox import OutboxMessage, enqueue

__all__ = [
    "AppendResult",
    "ConcurrencyConflictError",
    "Connection",
    "InvoiceChanges",
    "InvoiceRef",
    "NewEvent",
    "NewInvoice",
    "OutboxMessage",
    "StoredEvent",
    "TransitionNotAllowedError",
    "append_event",
    "enqueue",
    "event_at",
    "event_message",
    "read_stream",
    "start_stream",
]

"""The `outbox` table: messages written in the same transaction as what they announce, and
taken by the relay (clearway.messaging.OutboxRelay) to be published once committed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.observability.tracing import current_traceparent


class OutboxMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    key: str
    payload: dict[str, Any]
    traceparent: str | None = None


class TakenMessage(BaseModel):
    """A row the relay took: gone from the table once its transaction commits."""

    model_config = ConfigDict(frozen=True)

    id: int
    topic: str
    key: str
    payload: dict[str, Any]
    traceparent: str | None


async def enqueue(conn: Connection, messages: Sequence[OutboxMessage]) -> None:
    """Write messages to the outbox; the relay publishes them once the transaction commits.

    A message that names no span goes out as part of the current one's trace."""
    current = current_traceparent()
    await enqueue_as_named(
        conn,
        [m if m.traceparent else m.model_copy(update={"traceparent": current}) for m in messages],
    )


async def enqueue_as_named(conn: Connection, messages: Sequence[OutboxMessage]) -> None:
    """enqueue, each message in the trace it names (none: a trace of its own when published),
    whatever the current span: for a batch, whose current span is no message's."""
    if messages:
        await conn.executemany(
            "INSERT INTO outbox (topic, key, payload, traceparent) VALUES ($1, $2, $3, $4)",
            [(m.topic, m.key, m.payload, m.traceparent) for m in messages],
        )


async def take_batch(conn: Connection, limit: int) -> list[TakenMessage]:
    """Delete up to `limit` of the oldest rows no other relay holds and return them, oldest
    first. In the caller's transaction: a rollback (a publish that failed) puts them back."""
    rows = await conn.fetch(
        "DELETE FROM outbox WHERE id IN "
        "(SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, topic, key, payload, traceparent",
        limit,
    )
    return sorted((TakenMessage.model_validate(dict(row)) for row in rows), key=lambda m: m.id)

"""The event store against real PostgreSQL: append with expected version, idempotent redelivery,
clean conflicts, transitions the lifecycle refuses, and the read model moving in the same
transaction."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.domain.lifecycle import ALLOWED_FROM, EventType, Status
from clearway.store.events import (
    ConcurrencyConflictError,
    NewEvent,
    TransitionNotAllowedError,
    append_event,
    read_stream,
)
from clearway.store.invoices import InvoiceChanges

from tests.libs.store.streams import new_stream, outbox_count

pytestmark = [pytest.mark.postgres]


def validation_of(created_id: str) -> NewEvent:
    """The validation of a fresh stream, caused by its creation."""
    return NewEvent(
        type=EventType.VALIDATED,
        expected_version=1,
        causation_id=created_id,
        metadata={"rulesChecked": 1},
    )


def rejection_of(created_id: str) -> NewEvent:
    """The rejection of a fresh stream, caused by its creation."""
    return NewEvent(
        type=EventType.REJECTED,
        expected_version=1,
        causation_id=created_id,
        invoice=InvoiceChanges(error_message="1 validation error(s)"),
    )


async def test_the_same_cause_appended_twice_adds_one_event(store_db: asyncpg.Pool[Any]) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        outbox_before = await outbox_count(conn, ref)
        first = await append_event(conn, ref, validation_of(created_id))
        outbox_after_first = await outbox_count(conn, ref)
        second = await append_event(conn, ref, validation_of(created_id))
        stream = await read_stream(conn, ref.invoice_id)
        outbox_after_second = await outbox_count(conn, ref)
        status, version = await conn.fetchrow(
            "SELECT status, version FROM invoices WHERE id = $1", ref.invoice_id
        )
    assert not first.duplicate
    assert second.duplicate
    assert second.event.id == first.event.id
    assert [e.version for e in stream] == [1, 2]
    assert (status, version) == ("validated", 2)
    # The redelivery enqueued nothing either: the outbox grew only with the first append.
    assert outbox_after_first > outbox_before
    assert outbox_after_second == outbox_after_first


async def test_another_cause_at_the_same_version_is_a_conflict_that_writes_nothing(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        await append_event(
            conn,
            ref,
            NewEvent(type=EventType.VALIDATED, expected_version=1, causation_id=created_id),
        )
        with pytest.raises(ConcurrencyConflictError):
            await append_event(
                conn,
                ref,
                NewEvent(
                    type=EventType.REJECTED, expected_version=1, causation_id="evt_someone_else"
                ),
            )
        stream = await read_stream(conn, ref.invoice_id)
        status = await conn.fetchval("SELECT status FROM invoices WHERE id = $1", ref.invoice_id)
    assert [(e.version, e.type) for e in stream] == [
        (1, "invoice.created"),
        (2, "invoice.validated"),
    ]
    assert status == "validated"


async def test_a_stale_expected_version_is_a_conflict(store_db: asyncpg.Pool[Any]) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        validated = await append_event(
            conn,
            ref,
            NewEvent(type=EventType.VALIDATED, expected_version=1, causation_id=created_id),
        )
        await append_event(
            conn,
            ref,
            NewEvent(type=EventType.SUBMITTED, expected_version=2, causation_id=validated.event.id),
        )
        with pytest.raises(ConcurrencyConflictError):
            await append_event(
                conn,
                ref,
                NewEvent(type=EventType.ERROR, expected_version=1, causation_id="evt_late_writer"),
            )
        assert [e.version for e in await read_stream(conn, ref.invoice_id)] == [1, 2, 3]


async def test_an_event_the_lifecycle_does_not_allow_is_refused_and_writes_nothing(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        outbox_before = await outbox_count(conn, ref)
        # Submitted straight from created: never validated, so never filed.
        with pytest.raises(TransitionNotAllowedError) as refused:
            await append_event(
                conn,
                ref,
                NewEvent(type=EventType.SUBMITTED, expected_version=1, causation_id=created_id),
            )
        stream = await read_stream(conn, ref.invoice_id)
        status, version = await conn.fetchrow(
            "SELECT status, version FROM invoices WHERE id = $1", ref.invoice_id
        )
        outbox_after = await outbox_count(conn, ref)
    assert refused.value.status is Status.CREATED
    assert refused.value.event_type is EventType.SUBMITTED
    assert [e.type for e in stream] == ["invoice.created"]
    assert (status, version) == ("created", 1)
    assert outbox_after == outbox_before


async def test_a_final_decision_is_not_followed_by_another(store_db: asyncpg.Pool[Any]) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        rejected = await append_event(conn, ref, rejection_of(created_id))
        with pytest.raises(TransitionNotAllowedError):
            await append_event(
                conn,
                ref,
                NewEvent(
                    type=EventType.VALIDATED, expected_version=2, causation_id=rejected.event.id
                ),
            )
        # The same cause delivered again is still recognised, not refused.
        again = await append_event(conn, ref, rejection_of(created_id))
        row = await conn.fetchrow(
            "SELECT status, version, error_message FROM invoices WHERE id = $1", ref.invoice_id
        )
    assert again.duplicate
    assert again.event.id == rejected.event.id
    assert dict(row) == {
        "status": "rejected",
        "version": 2,
        "error_message": "1 validation error(s)",
    }


def test_every_event_has_its_allowed_statuses_and_created_only_starts_a_stream() -> None:
    assert set(ALLOWED_FROM) == set(EventType)
    assert ALLOWED_FROM[EventType.CREATED] == frozenset()
    # Nothing follows accepted or rejected: they are the government's last word.
    assert not any(
        {Status.ACCEPTED, Status.REJECTED} & allowed for allowed in ALLOWED_FROM.values()
    )

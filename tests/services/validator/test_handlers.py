"""The validator's consumer without the stack: an `invoice.created` message, through FastStream's
in-memory broker, validates the stored invoice (real PostgreSQL, store_db) into
`invoice.validated` with its warnings, or `invoice.rejected` with every finding; a redelivered
message appends nothing, and one naming no invoice is dead-lettered."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.domain.ids import new_id
from clearway.domain.lifecycle import EventType
from clearway.messaging.topics import INVOICE_CREATED, dlq_topic, topics_for_event
from clearway.runtime import ServiceContext

from services.validator.handlers import register_handlers
from tests.libs.validation.bodies import clean_body
from tests.libs.validation.cases import mutated
from tests.services.handlers_support import (
    DEFAULT_FORMAT,
    deliver,
    events_of,
    handler_context,
    latest,
    moved_on,
    new_invoice,
    outbox_of,
    record_published,
    wakes,
)

pytestmark = [pytest.mark.postgres]


def _validator(pool: asyncpg.Pool[Any]) -> ServiceContext:
    context = handler_context("validator", pool)
    register_handlers(context)
    return context


async def _announced(pool: asyncpg.Pool[Any], invoice_id: str, event: str) -> list[str]:
    """The topics the outbox holds `event` of the invoice for."""
    return [t for t, payload in await outbox_of(pool, invoice_id) if payload["event"] == event]


@pytest.mark.parametrize("country", sorted(DEFAULT_FORMAT))
async def test_a_valid_invoice_is_validated_once_however_often_it_comes(
    store_db: asyncpg.Pool[Any], country: str
) -> None:
    created = await new_invoice(store_db, clean_body(country), "validator")
    context = _validator(store_db)
    await deliver(context, INVOICE_CREATED, created, created)  # the second: a broker redelivery
    async with store_db.acquire() as conn:
        await moved_on(conn, await latest(store_db, created), EventType.SUBMITTED)
    await deliver(context, INVOICE_CREATED, created)  # again, after the invoice moved on

    first, validated, submitted = await events_of(store_db, created.invoice_id)
    assert (first.id, validated.type, submitted.type) == (
        created.event_id,
        EventType.VALIDATED,
        EventType.SUBMITTED,
    )
    assert (validated.version, validated.causation_id) == (2, created.event_id)
    assert validated.metadata is not None
    assert validated.metadata["format"] == DEFAULT_FORMAT[country]
    assert validated.metadata["rulesChecked"] > 0
    assert validated.metadata["warnings"] == []
    assert await _announced(store_db, created.invoice_id, EventType.VALIDATED) == (
        topics_for_event(EventType.VALIDATED)
    )
    assert wakes(context) >= 1


async def test_an_invalid_invoice_is_rejected_with_every_finding(
    store_db: asyncpg.Pool[Any],
) -> None:
    created = await new_invoice(store_db, mutated("RO", {"/lines/0/vatRate": 19}), "validator")
    context = _validator(store_db)
    await deliver(context, INVOICE_CREATED, created, created)

    _, rejected = await events_of(store_db, created.invoice_id)
    assert (rejected.type, rejected.version, rejected.causation_id) == (
        EventType.REJECTED,
        2,
        created.event_id,
    )
    assert rejected.metadata is not None
    assert rejected.metadata["stage"] == "validation"
    [error] = [e for e in rejected.metadata["errors"] if e["severity"] == "error"]
    assert (error["rule"], error["pointer"]) == ("CW-VAT-01", "/lines/0/vatRate")
    invoice = await store_db.fetchrow(
        "SELECT status, error_message, error_translated, error_fix FROM invoices WHERE id = $1",
        created.invoice_id,
    )
    assert invoice is not None
    assert (invoice["status"], invoice["error_message"]) == ("rejected", "1 validation error(s)")
    assert invoice["error_translated"] == f"CW-VAT-01: {error['message']}"
    assert invoice["error_fix"]
    assert await _announced(store_db, created.invoice_id, EventType.REJECTED) == (
        topics_for_event(EventType.REJECTED)
    )


async def test_a_rate_the_issue_date_did_not_have_is_rejected_naming_the_valid_rates(
    store_db: asyncpg.Pool[Any], seed_invoice: dict[str, Any]
) -> None:
    # The seed's 19% was Romania's rate on its issue date; on 2025-09-01 it was 21% (or 11%).
    body = {**seed_invoice, "issueDate": "2025-09-01", "dueDate": "2025-10-01"}
    created = await new_invoice(store_db, body, "validator")
    await deliver(_validator(store_db), INVOICE_CREATED, created)

    _, rejected = await events_of(store_db, created.invoice_id)
    assert rejected.type == EventType.REJECTED
    assert rejected.metadata is not None
    errors = rejected.metadata["errors"]
    pointers = {e["pointer"] for e in errors if e["severity"] == "error"}
    assert pointers == {"/lines/0/vatRate", "/lines/1/vatRate"}
    assert "21%" in errors[0]["message"]
    assert "11%" in errors[0]["message"]


async def test_a_message_naming_no_stored_invoice_is_dead_lettered(
    store_db: asyncpg.Pool[Any],
) -> None:
    created = await new_invoice(store_db, clean_body("RO"), "validator")
    unknown = created.model_copy(update={"invoice_id": new_id("inv")})
    context = _validator(store_db)
    dead = record_published(context.broker, dlq_topic(INVOICE_CREATED))[dlq_topic(INVOICE_CREATED)]
    await deliver(context, INVOICE_CREATED, unknown)

    [entry] = dead
    assert entry.key == unknown.invoice_id
    assert f"no invoice {unknown.invoice_id}" in entry.body["reason"]
    assert await events_of(store_db, unknown.invoice_id) == []
    assert len(await events_of(store_db, created.invoice_id)) == 1  # its own is left alone

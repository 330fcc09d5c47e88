"""The converter's consumer without the stack: an `invoice.validated` message, through
FastStream's in-memory broker, stores the invoice's legal document (real PostgreSQL, store_db)
and hands the invoice to `submit.<cc>` through the outbox, once however often it comes; a
document a conformance gate fails is never handed over: the invoice is rejected at the stage
conversion, the finding mapped back to the JSON field it came from."""

from __future__ import annotations

import copy
from typing import Any

import asyncpg
import pytest
from clearway.domain.lifecycle import EventType
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_VALIDATED, submit_topic
from clearway.runtime import ServiceContext
from clearway.store.documents import document_content

from services.converter.handlers import register_handlers
from tests.libs.validation.bodies import clean_body
from tests.services.handlers_support import (
    DEFAULT_FORMAT,
    deliver,
    events_of,
    handler_context,
    moved_on,
    new_invoice,
    outbox_of,
    wakes,
)

pytestmark = [pytest.mark.postgres]


async def _validated(pool: asyncpg.Pool[Any], body: dict[str, Any]) -> EventMessage:
    created = await new_invoice(pool, body, "converter")
    async with pool.acquire() as conn:
        return await moved_on(conn, created, EventType.VALIDATED)


async def _convert(pool: asyncpg.Pool[Any], *messages: EventMessage) -> ServiceContext:
    """The converter as the service registers it, given `messages` in turn."""
    context = handler_context("converter", pool)
    register_handlers(context)
    await deliver(context, INVOICE_VALIDATED, *messages)
    return context


async def _document(pool: asyncpg.Pool[Any], invoice_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT format, warnings FROM documents WHERE invoice_id = $1", invoice_id
    )


@pytest.mark.parametrize("country", sorted(DEFAULT_FORMAT))
async def test_a_validated_invoice_is_stored_as_its_document_and_handed_over_once(
    store_db: asyncpg.Pool[Any], country: str
) -> None:
    validated = await _validated(store_db, clean_body(country))
    context = await _convert(store_db, validated, validated)  # the second: a redelivery

    document = await _document(store_db, validated.invoice_id)
    assert document is not None
    assert document["format"] == DEFAULT_FORMAT[country]
    async with store_db.acquire() as conn:
        content = await document_content(conn, validated.invoice_id)
    assert content is not None
    assert content.startswith(b"<?xml")
    assert b"INV-2025-0001" in content  # the invoice's own number
    handed_over = [
        payload
        for topic, payload in await outbox_of(store_db, validated.invoice_id)
        if topic == submit_topic(country)
    ]
    assert handed_over == [validated.model_dump(mode="json")]
    # The converter appends no event: the submitter's outcome is the next one.
    assert [e.type for e in await events_of(store_db, validated.invoice_id)] == [
        EventType.CREATED,
        EventType.VALIDATED,
    ]
    assert wakes(context) >= 1


async def test_a_document_a_gate_fails_is_rejected_and_never_handed_over(
    store_db: asyncpg.Pool[Any],
) -> None:
    # No business rule limits a name; FatturaPA's schema holds 80 characters in Denominazione.
    body = copy.deepcopy(clean_body("IT"))
    body["customer"]["name"] = "Cliente " + "Esempio " * 10 + "S.p.A."
    validated = await _validated(store_db, body)
    await _convert(store_db, validated, validated)

    *_, rejected = await events_of(store_db, validated.invoice_id)
    assert (rejected.type, rejected.version, rejected.causation_id) == (
        EventType.REJECTED,
        validated.version + 1,
        validated.event_id,
    )
    assert rejected.metadata is not None
    assert rejected.metadata["stage"] == "conversion"
    [error] = rejected.metadata["errors"]
    assert (error["rule"], error["pointer"], error["severity"]) == (
        "FATTURAPA-XSD",
        "/customer",
        "error",
    )
    assert "Denominazione" in error["message"]
    assert rejected.metadata["findings"]  # the gate's own words, kept
    invoice = await store_db.fetchrow(
        "SELECT status, error_translated, error_fix FROM invoices WHERE id = $1",
        validated.invoice_id,
    )
    assert invoice is not None
    assert invoice["status"] == "rejected"
    assert "FATTURAPA-XSD (/customer)" in invoice["error_translated"]
    assert invoice["error_fix"] == "Correct /customer and send the invoice again."
    assert await _document(store_db, validated.invoice_id) is None
    assert submit_topic("IT") not in [t for t, _ in await outbox_of(store_db, validated.invoice_id)]

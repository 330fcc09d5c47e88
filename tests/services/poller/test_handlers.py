"""The poller's consumer without the stack: an `invoice.submitted` message, through FastStream's
in-memory broker, schedules the invoice's poll in PostgreSQL (store_db)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.messaging.topics import INVOICE_SUBMITTED
from faststream.kafka import TestKafkaBroker

from services.poller.handlers import register_handlers
from tests.libs.pipeline.test_polling import filed_invoice
from tests.services.handlers_support import handler_context


@pytest.mark.postgres
async def test_an_invoice_submitted_message_schedules_its_poll_once(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        filed = await filed_invoice(conn)
    context = handler_context("poller", store_db)
    register_handlers(context)
    body = filed.submitted.model_dump(mode="json")
    try:
        async with TestKafkaBroker(context.broker) as test_broker:
            await test_broker.publish(body, INVOICE_SUBMITTED, key=filed.ref.invoice_id.encode())
            await test_broker.publish(body, INVOICE_SUBMITTED, key=filed.ref.invoice_id.encode())
        rows = await store_db.fetch(
            "SELECT * FROM status_polls WHERE invoice_id = $1", filed.ref.invoice_id
        )
        assert len(rows) == 1  # the redelivery changed nothing
        assert (rows[0]["upload_id"], rows[0]["connection_id"]) == ("U1", filed.connection_id)
        assert rows[0]["country"] == "RO"
    finally:  # the poll must not reach the machine tests sharing store_db
        await store_db.execute(
            "DELETE FROM status_polls WHERE invoice_id = $1", filed.ref.invoice_id
        )

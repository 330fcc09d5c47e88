"""The submitters' consumer without the stack, for every country: a `submit.<cc>` message,
through FastStream's in-memory broker, writes the invoice's one `submissions` row (the durable
schedule, real PostgreSQL: store_db) with the company's active connection, however often it
comes; without an active connection (its setup never finished) the invoice goes to `error`
saying how to connect it.
A live invoice for a government this deployment has no live settings for is never scheduled.
Each submitter is the one its service declares (services/submitter_<cc>/handlers.py)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from clearway.accounts.connections import (
    create_active_connection,
    open_connection,
    update_connection,
)
from clearway.domain.ids import utcnow
from clearway.domain.lifecycle import EventType
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.pipeline.filing.service import Submitter
from clearway.runtime import ServiceContext
from clearway.security import Keyring

from services.submitter_be.handlers import submitter as submitter_be
from services.submitter_de.handlers import submitter as submitter_de
from services.submitter_fr.handlers import submitter as submitter_fr
from services.submitter_it.handlers import submitter as submitter_it
from services.submitter_pl.handlers import submitter as submitter_pl
from services.submitter_ro.handlers import submitter as submitter_ro
from tests.conftest import TEST_MASTER_KEYS
from tests.libs.validation.bodies import clean_body
from tests.services.handlers_support import (
    Supplier,
    deliver,
    events_of,
    handler_context,
    moved_on,
    new_supplier,
    wakes,
)

pytestmark = [pytest.mark.postgres]

SUBMITTERS = {
    s.country: s
    for s in (submitter_ro, submitter_pl, submitter_it, submitter_be, submitter_de, submitter_fr)
}


@pytest_asyncio.fixture(params=sorted(SUBMITTERS))
async def company(
    request: pytest.FixtureRequest, store_db: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Supplier]:
    """A new account's company (the clean body's supplier) in one submitter's country; its
    invoices' submissions rows are removed afterwards, so no other test's claim finds them."""
    # The process's master keys: the submitter opens a token connection's sealed secret.
    monkeypatch.setenv("CLEARWAY_MASTER_KEYS", TEST_MASTER_KEYS)
    supplier = await new_supplier(store_db, clean_body(request.param), "submitter")
    yield supplier
    await store_db.execute(
        "DELETE FROM submissions WHERE invoice_id IN "
        "(SELECT id FROM invoices WHERE account_id = $1)",
        supplier.account_id,
    )


async def _connect(pool: asyncpg.Pool[Any], company: Supplier) -> str:
    """The company's sandbox connection made active, as its country keeps it: a sealed access
    token, or an identifier or certificate (no token to read)."""
    async with pool.acquire() as conn:
        if SUBMITTERS[company.country].with_token:
            return await create_active_connection(
                conn,
                company.account_id,
                company.company_id,
                company.country,
                access_token=secrets.token_urlsafe(16),
                refresh_token=None,
                expires_at=utcnow() + dt.timedelta(hours=1),
                keyring=Keyring.parse(TEST_MASTER_KEYS),
            )
        row, _ = await open_connection(
            conn, company.account_id, company.company_id, company.country
        )
        await update_connection(conn, row["id"], status="active")
        connection_id: str = row["id"]
        return connection_id


async def _validated(
    pool: asyncpg.Pool[Any], company: Supplier, *, livemode: bool = False
) -> EventMessage:
    """The invoice the converter hands over (validated)."""
    created = await company.invoice(clean_body(company.country), livemode=livemode)
    async with pool.acquire() as conn:
        return await moved_on(conn, created, EventType.VALIDATED)


async def _scheduled(pool: asyncpg.Pool[Any], invoice_id: str) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM submissions WHERE invoice_id = $1", invoice_id))


async def _submit(
    pool: asyncpg.Pool[Any], submitter: Submitter, *messages: EventMessage
) -> tuple[int, bool]:
    """`messages` on submit.<cc> to the submitter as its service registers it; how often its
    handlers woke the relay, and whether they told this process's filing loop a row is due."""
    submitter.work_due.clear()
    context: ServiceContext = handler_context(submitter.group_id, pool)
    submitter.register_handlers(context)
    await deliver(context, submit_topic(submitter.country), *messages)
    told = submitter.work_due.is_set()
    submitter.work_due.clear()
    return wakes(context), told


async def test_submit_schedules_one_filing_with_the_active_connection(
    store_db: asyncpg.Pool[Any], company: Supplier
) -> None:
    submitter = SUBMITTERS[company.country]
    connection_id = await _connect(store_db, company)
    validated = await _validated(store_db, company)
    before = utcnow()
    # The second: a redelivery.
    woken, told = await _submit(store_db, submitter, validated, validated)

    [row] = await _scheduled(store_db, validated.invoice_id)
    assert (row["connection_id"], row["country"], row["state"]) == (
        connection_id,
        company.country,
        "pending",
    )
    assert (row["version"], row["causation_id"]) == (validated.version, validated.event_id)
    assert before - dt.timedelta(seconds=1) <= row["next_attempt_at"] <= utcnow()  # due now
    # Nothing is filed on consume: the filing machine works the row and records the outcome.
    assert [e.type for e in await events_of(store_db, validated.invoice_id)] == [
        EventType.CREATED,
        EventType.VALIDATED,
    ]
    assert told  # this process's filing loop starts on it at once
    assert woken >= 1


async def test_without_an_active_connection_the_invoice_errors_saying_how_to_connect(
    store_db: asyncpg.Pool[Any], company: Supplier
) -> None:
    submitter = SUBMITTERS[company.country]
    validated = await _validated(store_db, company)  # its connection never finished setup
    await _submit(store_db, submitter, validated, validated)

    assert await _scheduled(store_db, validated.invoice_id) == []
    *_, error = await events_of(store_db, validated.invoice_id)
    assert (error.type, error.version, error.causation_id) == (
        EventType.ERROR,
        validated.version + 1,
        validated.event_id,
    )
    assert error.metadata == {"stage": "submission", "reason": "no_active_connection"}
    invoice = await store_db.fetchrow(
        "SELECT status, error_message, error_fix FROM invoices WHERE id = $1", validated.invoice_id
    )
    assert invoice is not None
    assert invoice["status"] == "error"
    assert invoice["error_message"] == (
        f"The supplier's company has no active {submitter.government} connection."
    )
    assert "POST /v1/connections" in invoice["error_fix"]


async def test_a_live_invoice_without_live_settings_errors_naming_them_and_is_not_scheduled(
    store_db: asyncpg.Pool[Any], company: Supplier
) -> None:
    submitter = SUBMITTERS[company.country]
    await _connect(store_db, company)  # a sandbox connection: never used for a live invoice
    validated = await _validated(store_db, company, livemode=True)
    await _submit(store_db, submitter, validated, validated)

    assert await _scheduled(store_db, validated.invoice_id) == []
    *_, error = await events_of(store_db, validated.invoice_id)
    assert (error.type, error.version) == (EventType.ERROR, validated.version + 1)
    assert error.metadata is not None
    assert (error.metadata["stage"], error.metadata["reason"]) == (
        "submission",
        "live_not_configured",
    )
    missing = error.metadata["missingSettings"]
    assert missing
    assert all("_LIVE_" in variable for variable in missing)
    if company.country == "RO":  # ANAF's hosts have defaults; Clearway's credentials do not
        assert missing == ["ANAF_LIVE_CLIENT_ID", "ANAF_LIVE_CLIENT_SECRET"]
    invoice = await store_db.fetchrow(
        "SELECT status, error_message, error_translated, error_fix FROM invoices WHERE id = $1",
        validated.invoice_id,
    )
    assert invoice is not None
    assert invoice["status"] == "error"
    assert "sandbox" in invoice["error_translated"]  # never sent there instead
    for variable in missing:
        assert variable in invoice["error_message"]
        assert variable in invoice["error_fix"]

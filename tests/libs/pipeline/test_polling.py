"""The poll machine without the stack: its transition table, and the machine itself against a
scripted follower with real PostgreSQL (store_db: no service reads it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from clearway.accounts import create_account, create_company
from clearway.accounts.connections import open_connection
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.domain.company import CompanyRequest
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.lifecycle import EventType, Status
from clearway.messaging.envelope import EventMessage
from clearway.pipeline.decisions import Accepted, Decided, Outcome, Pending, Rejected
from clearway.pipeline.polling import (
    TRANSITIONS,
    Cadence,
    Followed,
    PollMachine,
    PollState,
    PollTimings,
    PollTransitionError,
    state_after,
    transition,
)
from clearway.store.events import NewEvent, append_event, read_stream, start_stream
from clearway.store.invoices import InvoiceRef
from clearway.store.status_polls import Poll

from tests.libs.store.streams import ron_invoice

FINAL = {PollState.ACCEPTED, PollState.REJECTED, PollState.MISSED_DEADLINE}
NOW = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
PENDING = Pending("still processing")
ACCEPTED = Accepted(
    gov_id="G1", gov_message="ok", receipt=b"PK", content_type="application/zip", file_name="G1.zip"
)
REJECTED = Rejected(gov_id=None, messages=("E1: wrong",), report=None)


# --- the transition table and the decision, pure ---------------------------------------------


def test_a_poll_is_claimed_only_from_the_schedule_and_decided_only_once_claimed() -> None:
    assert TRANSITIONS[PollState.SCHEDULED] == {PollState.SCHEDULED, PollState.CLAIMED}
    assert TRANSITIONS[PollState.CLAIMED] == {PollState.SCHEDULED} | FINAL
    for final in FINAL:
        assert TRANSITIONS[final] == frozenset()
        with pytest.raises(PollTransitionError):
            transition(PollState.SCHEDULED, final)
        with pytest.raises(PollTransitionError):
            transition(final, PollState.SCHEDULED)
    assert transition(PollState.CLAIMED, PollState.ACCEPTED) is PollState.ACCEPTED


def test_every_state_is_in_the_table_and_reachable_from_the_schedule() -> None:
    assert set(TRANSITIONS) == set(PollState)
    reached, frontier = {PollState.SCHEDULED}, [PollState.SCHEDULED]
    while frontier:
        for target in TRANSITIONS[frontier.pop()] - reached:
            reached.add(target)
            frontier.append(target)
    assert reached == set(PollState)


def test_a_decision_counts_past_the_deadline_and_no_decision_then_misses_it() -> None:
    past = NOW - dt.timedelta(seconds=1)
    assert state_after(ACCEPTED, now=NOW, deadline=past) is PollState.ACCEPTED
    assert state_after(REJECTED, now=NOW, deadline=past) is PollState.REJECTED
    assert state_after(PENDING, now=NOW, deadline=past) is PollState.MISSED_DEADLINE
    assert state_after(PENDING, now=NOW, deadline=NOW) is PollState.MISSED_DEADLINE
    assert state_after(PENDING, now=NOW, deadline=NOW + dt.timedelta(1)) is PollState.SCHEDULED
    assert state_after(PENDING, now=NOW, deadline=None) is PollState.SCHEDULED


def test_a_cadence_takes_the_deployments_timings_but_keeps_a_longer_deadline_of_its_own() -> None:
    timings = PollTimings(
        first=dt.timedelta(seconds=2), cap=dt.timedelta(seconds=30), deadline=dt.timedelta(hours=1)
    )
    slow = dt.timedelta(hours=1), dt.timedelta(minutes=10)
    plain = Cadence(*slow).tuned(timings)
    assert (plain.first, plain.cap, plain.deadline) == (
        timings.first,
        timings.cap,
        timings.deadline,
    )
    assert [plain.delay(n, dt.timedelta(0)).total_seconds() for n in range(1, 6)] == [
        2,
        4,
        8,
        16,
        30,
    ]
    assert plain.delay(3, dt.timedelta(hours=2)) == dt.timedelta(minutes=10)
    eleven_days = dt.timedelta(days=11)
    assert Cadence(*slow, shortest_deadline=eleven_days).tuned(timings).deadline == eleven_days


# --- RO's cadence against ANAF's daily quota --------------------------------------------------


RO_CADENCE = Cadence(
    first=dt.timedelta(seconds=1),
    cap=dt.timedelta(seconds=60),
    slow_after=dt.timedelta(minutes=30),
    slow_every=dt.timedelta(minutes=25),
    deadline=dt.timedelta(hours=72),
)


def test_the_cadence_doubles_to_its_cap_then_slows_down() -> None:
    hour = dt.timedelta(hours=1)
    assert [RO_CADENCE.delay(n, dt.timedelta(0)).total_seconds() for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]
    assert RO_CADENCE.delay(50, hour) == dt.timedelta(minutes=25)


def test_a_whole_day_of_ro_polling_stays_within_anafs_100_status_checks() -> None:
    age, checks = dt.timedelta(0), 0
    while age < dt.timedelta(days=1):
        checks += 1
        age += RO_CADENCE.delay(checks, age)
    assert checks <= 100


# --- the machine against a scripted follower, real PostgreSQL ---------------------------------


class ScriptedFollower:
    """Answers each poll with the next outcome scripted for its invoice (an exception is
    raised), one call recorded per answer; remembers the polls it was asked about."""

    def __init__(self) -> None:
        self.script: dict[str, list[Outcome | Exception]] = {}
        self.asked: list[Poll] = []

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - nothing stored
        self.asked.append(poll)
        calls.append(GovCall(endpoint="GET /status", http_status=200, duration_ms=3, outcome="ok"))
        answer = self.script[poll.invoice_id].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class Filed:
    ref: InvoiceRef
    connection_id: str
    submitted: EventMessage


async def filed_invoice(conn: Connection) -> Filed:
    """An invoice at `submitted` (version 2), with the connection it was filed with."""
    account_id = await create_account(conn, "poll machine test")
    company_id = await create_company(
        conn, account_id, CompanyRequest(legal_name="Test SRL", vat_number="RO123", country="RO")
    )
    connection, _ = await open_connection(conn, account_id, company_id, "RO")
    ref = InvoiceRef(invoice_id=new_id("inv"), account_id=account_id, country="RO", livemode=False)
    await start_stream(
        conn, ref, ron_invoice("RO123", "RO456", net=Decimal("100.00"), vat=Decimal("21.00"))
    )
    metadata = {"uploadId": "U1", "connectionId": connection["id"]}
    # the lifecycle files only what was validated
    await append_event(
        conn,
        ref,
        NewEvent(type=EventType.VALIDATED, expected_version=1, causation_id="test-validated"),
    )
    appended = await append_event(
        conn,
        ref,
        NewEvent(
            type=EventType.SUBMITTED, expected_version=2, metadata=metadata, causation_id="test"
        ),
    )
    message = EventMessage(
        invoice_id=ref.invoice_id,
        account_id=account_id,
        country="RO",
        livemode=False,
        event_id=appended.event.id,
        version=appended.event.version,
        event=EventType.SUBMITTED,
        status=Status.SUBMITTED,
        metadata=metadata,
        created_at=iso_millis(utcnow()),
    )
    return Filed(ref=ref, connection_id=connection["id"], submitted=message)


@pytest_asyncio.fixture
async def filed(store_db: asyncpg.Pool[Any]) -> AsyncIterator[Filed]:
    async with store_db.acquire() as conn:
        invoice = await filed_invoice(conn)
    yield invoice
    async with store_db.acquire() as conn:  # a poll left scheduled must not reach another test
        await conn.execute("DELETE FROM status_polls WHERE invoice_id = $1", invoice.ref.invoice_id)


def _machine(
    pool: asyncpg.Pool[Any],
    follower: ScriptedFollower,
    *,
    deadline: dt.timedelta = dt.timedelta(hours=72),
) -> PollMachine:
    # `first` 0: a scheduled poll is due at once; a claim leases it for a minute.
    timings = PollTimings(first=dt.timedelta(0), cap=dt.timedelta(seconds=60), deadline=deadline)
    return PollMachine(
        pool,
        timings=timings,
        lease=dt.timedelta(seconds=60),
        followed={"RO": Followed(Cadence(dt.timedelta(hours=1), dt.timedelta(minutes=10)), "ro")},
        followers={False: {"RO": follower}},
    )


async def _poll_row(pool: asyncpg.Pool[Any], invoice_id: str) -> Any:
    return await pool.fetchrow("SELECT * FROM status_polls WHERE invoice_id = $1", invoice_id)


async def _events(pool: asyncpg.Pool[Any], invoice_id: str) -> list[Any]:
    async with pool.acquire() as conn:
        return await read_stream(conn, invoice_id)


@pytest.mark.postgres
async def test_a_submitted_invoice_is_scheduled_once_with_its_metadata(
    store_db: asyncpg.Pool[Any], filed: Filed
) -> None:
    machine = _machine(store_db, ScriptedFollower(), deadline=dt.timedelta(hours=2))
    before = utcnow()
    assert await machine.schedule(filed.submitted)
    assert await machine.schedule(filed.submitted)  # a redelivery: the same row
    row = await _poll_row(store_db, filed.ref.invoice_id)
    assert (row["connection_id"], row["upload_id"], row["version"]) == (
        filed.connection_id,
        "U1",
        filed.submitted.version,  # 3: created, validated, submitted
    )
    assert row["submitted"] == {"uploadId": "U1", "connectionId": filed.connection_id}
    assert row["attempts"] == 0
    assert before + dt.timedelta(hours=2) <= row["deadline_at"] <= utcnow() + dt.timedelta(hours=2)


@pytest.mark.postgres
async def test_an_invoice_submitted_without_its_connection_is_not_scheduled(
    store_db: asyncpg.Pool[Any], filed: Filed
) -> None:
    machine = _machine(store_db, ScriptedFollower())
    unknown = filed.submitted.model_copy(update={"metadata": {"uploadId": "U1"}})
    assert not await machine.schedule(unknown)
    assert not await machine.schedule(filed.submitted.model_copy(update={"country": "XX"}))
    assert await _poll_row(store_db, filed.ref.invoice_id) is None


@pytest.mark.postgres
async def test_pending_then_accepted_keeps_the_receipt_and_ends_the_poll(
    store_db: asyncpg.Pool[Any], filed: Filed
) -> None:
    follower = ScriptedFollower()
    follower.script[filed.ref.invoice_id] = [
        Pending("seen", at=utcnow(), decided=Decided("ok", "D1")),
        ACCEPTED,
    ]
    machine = _machine(store_db, follower)
    await machine.schedule(filed.submitted)

    assert await machine.poll_due() >= 1
    row = await _poll_row(store_db, filed.ref.invoice_id)
    assert (row["attempts"], row["last_answer"]) == (1, "seen")
    assert (row["decided_state"], row["decided_document"]) == ("ok", "D1")
    assert await machine.poll_due() >= 1
    # The decision seen by the first poll reached the second.
    [first, second] = [p for p in follower.asked if p.invoice_id == filed.ref.invoice_id]
    assert (first.decided_state, second.decided_state) == (None, "ok")
    assert (second.decided_document, second.attempts) == ("D1", 2)

    assert await _poll_row(store_db, filed.ref.invoice_id) is None
    accepted = (await _events(store_db, filed.ref.invoice_id))[-1]
    assert (accepted.type, accepted.version) == ("invoice.accepted", filed.submitted.version + 1)
    assert accepted.causation_id == "ro-status:U1"
    assert accepted.metadata is not None
    assert accepted.metadata["govId"] == "G1"
    assert [a["endpoint"] for a in accepted.metadata["attempts"]] == ["GET /status"] * 2
    receipt = await store_db.fetchrow(
        "SELECT * FROM gov_receipts WHERE invoice_id = $1", filed.ref.invoice_id
    )
    assert (receipt["content"], receipt["file_name"]) == (b"PK", "G1.zip")


@pytest.mark.postgres
async def test_a_rejection_is_recorded_in_the_governments_words(
    store_db: asyncpg.Pool[Any], filed: Filed
) -> None:
    machine = await _scheduled(store_db, filed, [REJECTED])
    assert await _poll_once(machine, filed) is PollState.REJECTED
    rejected = (await _events(store_db, filed.ref.invoice_id))[-1]
    assert rejected.type == "invoice.rejected"
    assert rejected.metadata is not None
    assert rejected.metadata["stage"] == "government"
    invoice = await store_db.fetchrow("SELECT * FROM invoices WHERE id = $1", filed.ref.invoice_id)
    assert (invoice["status"], invoice["error_message"]) == ("rejected", "E1: wrong")
    assert await _poll_row(store_db, filed.ref.invoice_id) is None


@pytest.mark.postgres
async def test_no_decision_by_the_deadline_puts_the_invoice_in_error(
    store_db: asyncpg.Pool[Any], filed: Filed
) -> None:
    machine = await _scheduled(store_db, filed, [PENDING], deadline=dt.timedelta(0))
    assert await _poll_once(machine, filed) is PollState.MISSED_DEADLINE
    error = (await _events(store_db, filed.ref.invoice_id))[-1]
    assert (error.type, error.causation_id) == ("invoice.error", "status-deadline:U1")
    assert error.metadata is not None
    assert (error.metadata["reason"], error.metadata["lastAnswer"]) == (
        "decision_deadline",
        "still processing",
    )
    assert await _poll_row(store_db, filed.ref.invoice_id) is None


@pytest.mark.postgres
async def test_a_failed_poll_keeps_its_lease_and_is_not_claimed_again_before_it_lapses(
    store_db: asyncpg.Pool[Any], filed: Filed
) -> None:
    hung_up = RuntimeError("the government hung up")
    machine = await _scheduled(store_db, filed, [hung_up, ACCEPTED])
    assert await _poll_once(machine, filed) is PollState.CLAIMED
    assert await _claimed(machine, filed) == []
    row = await _poll_row(store_db, filed.ref.invoice_id)
    assert row["next_poll_at"] > utcnow()  # leased
    await store_db.execute(  # as if the lease had lapsed
        "UPDATE status_polls SET next_poll_at = now() WHERE invoice_id = $1", filed.ref.invoice_id
    )
    [again] = await _claimed(machine, filed)
    assert again.attempts == 2
    assert await machine.poll(again) is PollState.ACCEPTED


@pytest.mark.postgres
async def test_pending_is_asked_again_at_the_cadence_never_past_the_deadline(
    store_db: asyncpg.Pool[Any], filed: Filed
) -> None:
    far = Pending("come back tomorrow", at=utcnow() + dt.timedelta(days=1))
    machine = await _scheduled(store_db, filed, [PENDING, far], deadline=dt.timedelta(seconds=30))
    before = utcnow()
    assert await _poll_once(machine, filed) is PollState.SCHEDULED
    row = await _poll_row(store_db, filed.ref.invoice_id)
    # The first retry waits `first` (0 s here), doubled by nothing yet.
    assert before <= row["next_poll_at"] <= utcnow()

    assert await _poll_once(machine, filed) is PollState.SCHEDULED
    row = await _poll_row(store_db, filed.ref.invoice_id)
    assert row["next_poll_at"] == row["deadline_at"]


async def _scheduled(
    pool: asyncpg.Pool[Any],
    filed: Filed,
    answers: list[Outcome | Exception],
    *,
    deadline: dt.timedelta = dt.timedelta(hours=72),
) -> PollMachine:
    """A machine whose follower gives `answers` in turn, the invoice's poll scheduled."""
    follower = ScriptedFollower()
    follower.script[filed.ref.invoice_id] = answers
    machine = _machine(pool, follower, deadline=deadline)
    await machine.schedule(filed.submitted)
    return machine


async def _poll_once(machine: PollMachine, filed: Filed) -> PollState:
    [poll] = await _claimed(machine, filed)
    return await machine.poll(poll)


async def _claimed(machine: PollMachine, filed: Filed) -> list[Poll]:
    """The invoice's poll if it is due now, claimed (without asking); other tests' polls are
    left to their own leases."""
    return [poll for poll in await machine.claim() if poll.invoice_id == filed.ref.invoice_id]

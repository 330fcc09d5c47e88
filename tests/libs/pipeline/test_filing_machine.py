"""The filing machine against real PostgreSQL and a fake government (a scripted Filer), with no
broker and no service: each outcome moves the row and ends in the event it should, a lost
answer is looked for and never sent twice, a limit holds the upload back, a worker that lost
its lease changes nothing, and a Filer that skips the in-flight mark cannot file."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from clearway.config import LiveNotConfiguredError, Settings
from clearway.connectors import GovCall
from clearway.pipeline.filing import outcomes
from clearway.pipeline.filing.machine import FilingMachine
from clearway.resilience.ratelimit import TokenBucket, take_token
from clearway.store import submissions
from clearway.store.events import read_stream
from clearway.store.submissions import ClaimedSubmission

from tests.libs.pipeline.filing_rows import connected_company, schedule_filing
from tests.libs.store.streams import new_stream

pytestmark = [pytest.mark.postgres]

DOCUMENT = b"<Invoice>machine test</Invoice>"
UPLOAD = "POST /upload"
LOOKUP = "GET /lookup"
LEASE = dt.timedelta(seconds=30)


def _call(endpoint: str, status: int | None) -> GovCall:
    return GovCall(endpoint=endpoint, http_status=status, duration_ms=1, outcome=f"http_{status}")


@dataclass
class FakeFiler:
    """A government that answers what the test scripted, and counts what reached it."""

    uploads: list[outcomes.UploadOutcome] = field(default_factory=list)
    finds: list[outcomes.FindOutcome] = field(default_factory=list)
    marks_in_flight: bool = True
    limits: outcomes.CallLimits = field(default_factory=lambda: outcomes.CallLimits(UPLOAD))
    sent: list[bytes] = field(default_factory=list)
    looked: int = 0
    government: str = "Testland"
    first_look_after: dt.timedelta = dt.timedelta(0)
    reconcile_window: dt.timedelta | None = None

    def upload_limits(self, submission: ClaimedSubmission) -> outcomes.CallLimits:  # noqa: ARG002
        return self.limits

    def find_limits(self, submission: ClaimedSubmission) -> outcomes.CallLimits:  # noqa: ARG002
        return outcomes.CallLimits(LOOKUP)

    async def upload(self, attempt: outcomes.Attempt, document: bytes) -> outcomes.UploadOutcome:
        if self.marks_in_flight:
            await attempt.in_flight()
        self.sent.append(document)
        outcome = self.uploads.pop(0)
        attempt.calls.append(_call(UPLOAD, 200 if isinstance(outcome, outcomes.Uploaded) else 503))
        return outcome

    async def find(self, attempt: outcomes.Attempt) -> outcomes.FindOutcome:
        self.looked += 1
        attempt.calls.append(_call(LOOKUP, 200))
        return self.finds.pop(0)


@dataclass(frozen=True)
class Scheduled:
    invoice_id: str
    queue: str  # the rows' country: a queue of this test's own


async def _scheduled(db: asyncpg.Pool[Any]) -> Scheduled:
    """An invoice validated (version 2) with its document, an active connection and its due row."""
    async with db.acquire() as conn:
        ref, created_id = await new_stream(conn, "filing machine test")
        connection_id = await connected_company(conn, ref.account_id, "RO")
        queue = await schedule_filing(conn, ref, created_id, connection_id, DOCUMENT)
    return Scheduled(ref.invoice_id, queue)


def _machine(db: asyncpg.Pool[Any], filer: Any, **settings: Any) -> FilingMachine:
    configured = Settings(database_url="unused", kafka_bootstrap="unused", **settings)
    return FilingMachine(db, configured, lambda _request: filer)


async def _work_due(db: asyncpg.Pool[Any], machine: FilingMachine, row: Scheduled) -> int:
    """Make the row due now, claim it and work it; how many rows were claimed."""
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE submissions SET next_attempt_at = now() WHERE invoice_id = $1 "
            "AND next_attempt_at IS NOT NULL",
            row.invoice_id,
        )
        claimed = await submissions.claim_due(conn, row.queue, 6, LEASE)
    for submission in claimed:
        await machine.work(submission)
    return len(claimed)


async def _row(db: asyncpg.Pool[Any], invoice_id: str) -> asyncpg.Record:
    row = await db.fetchrow("SELECT * FROM submissions WHERE invoice_id = $1", invoice_id)
    assert row is not None
    return row


async def _events(db: asyncpg.Pool[Any], invoice_id: str) -> Sequence[Any]:
    async with db.acquire() as conn:
        return await read_stream(conn, invoice_id)


async def test_an_upload_taken_is_submitted_with_its_attempts(store_db: asyncpg.Pool[Any]) -> None:
    scheduled = await _scheduled(store_db)
    filer = FakeFiler(uploads=[outcomes.Uploaded(upload_id="up-1", details={"fileName": "a.xml"})])
    assert await _work_due(store_db, _machine(store_db, filer), scheduled) == 1

    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["upload_id"], row["attempts"]) == ("uploaded", "up-1", 1)
    assert row["next_attempt_at"] is None
    assert filer.sent == [DOCUMENT]
    submitted = (await _events(store_db, scheduled.invoice_id))[-1]
    assert submitted.type == "invoice.submitted"
    assert submitted.metadata["govEndpoint"] == "Testland"
    assert submitted.metadata["fileName"] == "a.xml"
    assert submitted.metadata["uploadId"] == "up-1"
    assert "reconciled" not in submitted.metadata
    assert [(a["attempt"], a["endpoint"]) for a in submitted.metadata["attempts"]] == [(1, UPLOAD)]
    assert await _work_due(store_db, _machine(store_db, filer), scheduled) == 0  # final


async def test_a_lost_answer_is_looked_for_and_adopted_never_sent_again(
    store_db: asyncpg.Pool[Any],
) -> None:
    scheduled = await _scheduled(store_db)
    filer = FakeFiler(
        uploads=[outcomes.AnswerLost(reason="read timeout")],
        finds=[
            outcomes.LookAgain(reason="not listed yet", at=dt.datetime.now(dt.UTC)),
            outcomes.Uploaded(upload_id="up-2"),
        ],
    )
    machine = _machine(store_db, filer)
    await _work_due(store_db, machine, scheduled)
    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["last_error"]) == ("reconciling", "read timeout")
    await _work_due(store_db, machine, scheduled)
    assert (await _row(store_db, scheduled.invoice_id))["state"] == "reconciling"
    await _work_due(store_db, machine, scheduled)

    assert len(filer.sent) == 1
    assert filer.looked == 2
    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["upload_id"]) == ("uploaded", "up-2")
    submitted = (await _events(store_db, scheduled.invoice_id))[-1]
    assert submitted.metadata["reconciled"] is True
    assert [a["endpoint"] for a in submitted.metadata["attempts"]] == [UPLOAD, LOOKUP, LOOKUP]


async def test_a_row_found_in_flight_is_looked_for_not_sent(store_db: asyncpg.Pool[Any]) -> None:
    scheduled = await _scheduled(store_db)
    filer = FakeFiler(
        finds=[outcomes.NotFound(reason="never arrived")],
        uploads=[outcomes.Uploaded(upload_id="u")],
    )
    await store_db.execute(  # what a worker killed mid-upload leaves
        "UPDATE submissions SET state = 'uploading', attempts = 1 WHERE invoice_id = $1",
        scheduled.invoice_id,
    )
    machine = _machine(store_db, filer)
    await _work_due(store_db, machine, scheduled)
    assert (await _row(store_db, scheduled.invoice_id))["state"] == "reconciling"
    assert (filer.sent, filer.looked) == ([], 0)
    await _work_due(store_db, machine, scheduled)  # not there: pending, sent again
    assert (await _row(store_db, scheduled.invoice_id))["state"] == "pending"
    await _work_due(store_db, machine, scheduled)
    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["attempts"], len(filer.sent)) == ("uploaded", 2, 1)


async def test_not_taken_is_retried_after_a_backoff_then_given_up(
    store_db: asyncpg.Pool[Any],
) -> None:
    scheduled = await _scheduled(store_db)
    filer = FakeFiler(
        uploads=[outcomes.NotTaken(reason="503"), outcomes.NotTaken(reason="503 again")]
    )
    machine = _machine(store_db, filer, submit_max_attempts=2, submit_retry_base=60.0)
    before = dt.datetime.now(dt.UTC)
    await _work_due(store_db, machine, scheduled)
    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 1, "503")
    assert row["next_attempt_at"] >= before + dt.timedelta(seconds=30)  # half the base at least
    await _work_due(store_db, machine, scheduled)

    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["attempts"]) == ("failed", 2)
    failed = (await _events(store_db, scheduled.invoice_id))[-1]
    assert failed.type == "invoice.error"
    assert failed.metadata["reason"] == "government_unavailable"
    assert failed.metadata["govEndpoint"] == "Testland"
    assert [a["httpStatus"] for a in failed.metadata["attempts"]] == [503, 503]


async def test_a_refusal_ends_in_error_with_the_governments_words(
    store_db: asyncpg.Pool[Any],
) -> None:
    scheduled = await _scheduled(store_db)
    filer = FakeFiler(uploads=[outcomes.Refused(messages=["E1: the buyer is wrong"])])
    await _work_due(store_db, _machine(store_db, filer), scheduled)
    assert (await _row(store_db, scheduled.invoice_id))["state"] == "failed"
    failed = (await _events(store_db, scheduled.invoice_id))[-1]
    assert failed.type == "invoice.error"
    assert failed.metadata["stage"] == "submission"
    assert failed.metadata["reason"] == "upload_refused"
    invoice = await store_db.fetchrow(
        "SELECT error_message FROM invoices WHERE id = $1", scheduled.invoice_id
    )
    assert "the buyer is wrong" in invoice["error_message"]


async def test_a_filer_that_does_not_mark_the_upload_in_flight_cannot_file(
    store_db: asyncpg.Pool[Any],
) -> None:
    scheduled = await _scheduled(store_db)
    filer = FakeFiler(uploads=[outcomes.Uploaded(upload_id="u")], marks_in_flight=False)
    await _work_due(store_db, _machine(store_db, filer), scheduled)  # pending -> uploaded: refused
    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["upload_id"]) == ("pending", None)
    assert [e.type for e in await _events(store_db, scheduled.invoice_id)] == [
        "invoice.created",
        "invoice.validated",
    ]


async def test_a_worker_that_lost_its_lease_changes_nothing(store_db: asyncpg.Pool[Any]) -> None:
    scheduled = await _scheduled(store_db)
    filer = FakeFiler(uploads=[outcomes.Uploaded(upload_id="u")])
    async with store_db.acquire() as conn:
        [claimed] = await submissions.claim_due(conn, scheduled.queue, 6, LEASE)
        await conn.execute(  # another worker claimed it since
            "UPDATE submissions SET next_attempt_at = next_attempt_at + interval '1 second' "
            "WHERE invoice_id = $1",
            scheduled.invoice_id,
        )
    await _machine(store_db, filer).work(claimed)
    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["attempts"]) == ("pending", 0)
    assert filer.sent == []


async def test_a_spent_call_limit_holds_the_upload_back(store_db: asyncpg.Pool[Any]) -> None:
    scheduled = await _scheduled(store_db)
    spent = TokenBucket(f"test:{secrets.token_hex(4)}", capacity=1, per_second=0.01)
    filer = FakeFiler(
        uploads=[outcomes.Uploaded(upload_id="u")], limits=outcomes.CallLimits(UPLOAD, (spent,))
    )
    machine = _machine(store_db, filer)
    async with store_db.acquire() as conn:
        assert await take_token(conn, spent) == 0  # the bucket's only token, taken elsewhere
    before = dt.datetime.now(dt.UTC)
    await _work_due(store_db, machine, scheduled)
    row = await _row(store_db, scheduled.invoice_id)
    assert (row["state"], row["last_error"]) == ("pending", f"call limit {spent.key}")
    assert row["next_attempt_at"] > before + dt.timedelta(seconds=30)
    assert filer.sent == []


async def test_a_live_invoice_without_live_configuration_goes_to_error_unsent(
    store_db: asyncpg.Pool[Any],
) -> None:
    scheduled = await _scheduled(store_db)

    def route(_request: Any) -> Any:
        raise LiveNotConfiguredError("Testland", ("TESTLAND_LIVE_URL",))

    settings = Settings(database_url="unused", kafka_bootstrap="unused")
    await _work_due(store_db, FilingMachine(store_db, settings, route), scheduled)
    assert (await _row(store_db, scheduled.invoice_id))["state"] == "failed"
    failed = (await _events(store_db, scheduled.invoice_id))[-1]
    assert failed.metadata["reason"] == "live_not_configured"
    assert failed.metadata["missingSettings"] == ["TESTLAND_LIVE_URL"]

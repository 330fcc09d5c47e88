"""The poll machine: follows every filed invoice to its government's decision, for every country.

A poll is a row of the durable schedule (clearway.store.status_polls), so a poller killed at any
point loses nothing: a claimed row is leased, and a lapsed lease makes it due again.

    SCHEDULED --claim, when due--> CLAIMED --the government's answer--> one of
        SCHEDULED        no decision yet: asked again at the country's cadence (or when the
                         government said), never later than the deadline
        ACCEPTED         invoice.accepted, the receipt kept
        REJECTED         invoice.rejected, in the government's words and translated
        MISSED_DEADLINE  still no decision at the deadline: invoice.error

Each government supplies its Follower (what its answer means) and declares its Cadence, both
in its governments/<cc>/status.py, reached through its Government (clearway.governments);
nothing here depends on the country.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import asyncpg

from clearway.config import Settings
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.messaging.envelope import EventMessage
from clearway.observability.logs import log_context
from clearway.observability.metrics import RETRIES
from clearway.observability.tracing import continued, current_traceparent, tracer
from clearway.pipeline.decisions import Accepted, Follower, Outcome, Pending, Rejected
from clearway.pipeline.poll_outcomes import (
    record_accepted,
    record_missed_deadline,
    record_rejected,
)
from clearway.runtime import work_in_rounds
from clearway.store import status_polls
from clearway.store.gov_calls import record_calls
from clearway.store.status_polls import Poll

log = logging.getLogger(__name__)

CLAIM_BATCH = 20
IDLE_PAUSE_SECONDS = 0.2


class PollState(StrEnum):
    SCHEDULED = "scheduled"  # a row, due at its next_poll_at
    CLAIMED = "claimed"  # leased by one poller while it asks the government
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MISSED_DEADLINE = "missed_deadline"


# A SCHEDULED poll also stays SCHEDULED when the connection it uses changes (made due at once
# when it is active again, or its invoice put in `error` when it expired: status_polls.py).
TRANSITIONS: Mapping[PollState, frozenset[PollState]] = {
    PollState.SCHEDULED: frozenset({PollState.SCHEDULED, PollState.CLAIMED}),
    PollState.CLAIMED: frozenset(
        {PollState.SCHEDULED, PollState.ACCEPTED, PollState.REJECTED, PollState.MISSED_DEADLINE}
    ),
    PollState.ACCEPTED: frozenset(),
    PollState.REJECTED: frozenset(),
    PollState.MISSED_DEADLINE: frozenset(),
}


class PollTransitionError(Exception):
    """A poll was asked to move where the machine never takes one."""


def transition(current: PollState, target: PollState) -> PollState:
    if target not in TRANSITIONS[current]:
        raise PollTransitionError(f"a {current} poll cannot become {target}")
    return target


def state_after(outcome: Outcome, *, now: dt.datetime, deadline: dt.datetime | None) -> PollState:
    """Where a claimed poll goes with the government's answer. A decision counts even when it
    comes past the deadline."""
    if isinstance(outcome, Accepted):
        return PollState.ACCEPTED
    if isinstance(outcome, Rejected):
        return PollState.REJECTED
    if deadline is not None and now >= deadline:
        return PollState.MISSED_DEADLINE
    return PollState.SCHEDULED


@dataclass(frozen=True)
class PollTimings:
    """The deployment's timings (POLL_INTERVAL_INITIAL, POLL_INTERVAL_MAX, POLL_DEADLINE_HOURS)."""

    first: dt.timedelta
    cap: dt.timedelta
    deadline: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> PollTimings:
        return cls(
            first=dt.timedelta(seconds=settings.poll_interval_initial),
            cap=dt.timedelta(seconds=settings.poll_interval_max),
            deadline=dt.timedelta(hours=settings.poll_deadline_hours),
        )


@dataclass(frozen=True)
class Cadence:
    """How often to ask: doubling from `first` to `cap`, every `slow_every` once the invoice is
    `slow_after` old, and not past `deadline`. A government declares its slow pace (and a
    deadline its own rules make longer, `shortest_deadline`); the rest is the deployment's."""

    slow_after: dt.timedelta
    slow_every: dt.timedelta
    first: dt.timedelta = dt.timedelta(seconds=1)
    cap: dt.timedelta = dt.timedelta(seconds=60)
    deadline: dt.timedelta = dt.timedelta(hours=72)
    shortest_deadline: dt.timedelta = dt.timedelta(0)

    def delay(self, attempts: int, age: dt.timedelta) -> dt.timedelta:
        if age >= self.slow_after:
            return self.slow_every
        doublings = min(max(attempts - 1, 0), 32)  # bounded: the cap is reached long before
        return min(self.first * (1 << doublings), self.cap)

    def tuned(self, timings: PollTimings) -> Cadence:
        return replace(
            self,
            first=timings.first,
            cap=timings.cap,
            deadline=max(timings.deadline, self.shortest_deadline),
        )


# A government that publishes no call limit (its 429s carry Retry-After, which is honoured):
# doubling to the cap, then every 10 minutes.
NO_PUBLISHED_LIMIT = Cadence(slow_after=dt.timedelta(hours=1), slow_every=dt.timedelta(minutes=10))


@dataclass(frozen=True)
class Followed:
    """What the machine knows of one country: its government's cadence, and the name its
    decisions are caused by (`<cause>-status:<uploadId>`)."""

    cadence: Cadence
    cause: str


class PollMachine:
    """Schedules, claims and asks about polls; records each outcome. `followers[livemode]`
    follow each country's invoices of that mode; `recorded` is called after each outcome."""

    def __init__(  # noqa: PLR0913 - the machine's parts, all named
        self,
        pool: asyncpg.Pool[Any],
        *,
        timings: PollTimings,
        lease: dt.timedelta,
        followed: Mapping[str, Followed],
        followers: Mapping[bool, Mapping[str, Follower]],
        recorded: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._lease = lease
        self._cadences = {country: f.cadence.tuned(timings) for country, f in followed.items()}
        self._causes = {country: f.cause for country, f in followed.items()}
        self._followers = followers
        self._recorded = recorded

    async def schedule(self, message: EventMessage) -> bool:
        """The first poll of a filed invoice, from its invoice.submitted; False when it cannot
        be followed (nothing to follow it by, or an unknown country)."""
        submitted = message.metadata or {}
        upload_id, connection_id = submitted.get("uploadId"), submitted.get("connectionId")
        cadence = self._cadences.get(message.country)
        if upload_id is None or connection_id is None or cadence is None:
            log.error("invoice.submitted for %s cannot be followed", message.invoice_id)
            return False
        async with self._pool.acquire() as conn:
            await status_polls.schedule(
                conn,
                invoice_id=message.invoice_id,
                connection_id=str(connection_id),
                upload_id=str(upload_id),
                version=message.version,
                country=message.country,
                deadline_at=utcnow() + cadence.deadline,
                next_poll_at=utcnow() + cadence.first,
                traceparent=current_traceparent(),
                submitted=submitted,
            )
        return True

    async def run(self) -> None:
        """Claim due polls and ask about them, for ever."""
        await work_in_rounds(
            self.poll_due, pause=IDLE_PAUSE_SECONDS, log=log, failure="poll loop failed; retrying"
        )

    async def poll_due(self) -> int:
        """One round: the due polls claimed and asked about at once; how many there were."""
        claimed = await self.claim()
        await asyncio.gather(*(self.poll(poll) for poll in claimed))
        return len(claimed)

    async def claim(self) -> list[Poll]:
        """Lease the due polls (SCHEDULED -> CLAIMED); each counts the check it is claimed for."""
        async with self._pool.acquire() as conn:
            return await status_polls.claim_due(conn, limit=CLAIM_BATCH, lease=self._lease)

    async def poll(self, poll: Poll) -> PollState:
        """One status check of a claimed poll, as a span of the invoice's trace. A failure
        leaves the poll CLAIMED: its lease brings it back."""
        with (
            continued(poll.traceparent),
            tracer().start_as_current_span(
                f"poll {poll.country} status", attributes={"clearway.invoice_id": poll.invoice_id}
            ),
            log_context(invoice_id=poll.invoice_id, account_id=poll.ref.account_id),
        ):
            follower = self._followers.get(poll.ref.livemode, {}).get(poll.country)
            if follower is None or poll.country not in self._cadences:
                log.error("no follower for %s invoices (%s)", poll.country, poll.invoice_id)
                return PollState.CLAIMED  # a poller that knows the country will take it
            calls: list[GovCall] = []
            try:
                async with self._pool.acquire() as conn:
                    outcome = await follower.follow(conn, poll, calls)
                    state = await self._record(conn, poll, outcome, calls)
            except Exception:
                RETRIES.labels("status", poll.country, "error").inc()
                log.exception("following %s failed; the lease brings it back", poll.invoice_id)
                return PollState.CLAIMED
        self._recorded()
        return state

    async def _record(
        self, conn: Connection, poll: Poll, outcome: Outcome, calls: list[GovCall]
    ) -> PollState:
        now = utcnow()
        state = transition(
            PollState.CLAIMED, state_after(outcome, now=now, deadline=poll.deadline_at)
        )
        cause = f"{self._causes[poll.country]}-status:{poll.upload_id}"
        async with conn.transaction():
            await record_calls(conn, poll.invoice_id, "status", calls)
            match outcome:
                case Pending() if state is PollState.SCHEDULED:
                    await self._reschedule(conn, poll, outcome, now)
                    return state
                case Pending():
                    await record_missed_deadline(conn, poll, outcome)
                case Accepted():
                    log.info("%s decided: accepted", poll.country)
                    await record_accepted(conn, poll, outcome, cause)
                case Rejected():
                    log.info("%s decided: rejected", poll.country)
                    await record_rejected(conn, poll, outcome, cause)
            await status_polls.finish(conn, poll.invoice_id)
        return state

    async def _reschedule(
        self, conn: Connection, poll: Poll, pending: Pending, now: dt.datetime
    ) -> None:
        cadence = self._cadences[poll.country]
        at = pending.at or now + cadence.delay(poll.attempts, now - poll.created_at)
        if poll.deadline_at is not None:
            at = min(at, poll.deadline_at)
        await status_polls.reschedule(
            conn,
            poll.invoice_id,
            at=at,
            last_answer=pending.reason[:1000],
            decided_state=pending.decided.state if pending.decided else None,
            decided_document=pending.decided.document_id if pending.decided else None,
        )

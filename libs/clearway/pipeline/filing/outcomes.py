"""What a government provides to the filing machine (a Filer) and what it answers: typed
outcomes the machine applies. Everything else (the states, the lease, the retries, the limits,
the events) is the machine's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentError,
    GovernmentOutcomeUnknownError,
    GovernmentRefusedError,
    GovernmentTransientError,
)
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import scenario_headers
from clearway.pipeline.filing.gate import SubmissionGate
from clearway.pipeline.filing.states import SubmissionState
from clearway.resilience.ratelimit import DailyQuota, TokenBucket
from clearway.store import submissions
from clearway.store.gov_calls import record_calls
from clearway.store.submissions import ClaimedSubmission

STAGE = "submission"  # the calls' stage in gov_calls


@dataclass(frozen=True, kw_only=True)
class Outcome:
    # How the step's endpoint went, for its breaker: failed, answered, or None (not told).
    endpoint_failed: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Explained(Outcome):
    reason: str  # why, in words: the row's last error, or the event's reason


# --- what an upload (or a lookup for a lost one) comes to --------------------------------------


@dataclass(frozen=True, kw_only=True)
class Uploaded(Outcome):
    """The government has it: `invoice.submitted`."""

    upload_id: str
    details: Mapping[str, Any] = field(default_factory=dict)  # its metadata but govEndpoint
    endpoint_failed: bool | None = False


@dataclass(frozen=True, kw_only=True)
class Refused(Outcome):
    """The government refused the upload in its own words: `invoice.error`, translated."""

    messages: Sequence[str]
    reason: str = "upload_refused"


@dataclass(frozen=True, kw_only=True)
class RejectedUnfiled(Explained):
    """The network refused the invoice itself (its receiver is not on Peppol, say):
    `invoice.rejected` with the three error fields; nothing was filed."""

    messages: Sequence[str]


@dataclass(frozen=True, kw_only=True)
class NotTaken(Explained):
    """The government took nothing: upload again after a backoff, or give up after the last."""

    retry_after: float | None = None  # the government's own word on when
    endpoint_failed: bool | None = True


@dataclass(frozen=True, kw_only=True)
class AnswerLost(Explained):
    """The upload left and its answer was lost: look for it before anything is sent again."""

    endpoint_failed: bool | None = True


@dataclass(frozen=True, kw_only=True)
class ConnectionLost(Explained):
    """The government refused the company's credential and it could not be renewed."""


@dataclass(frozen=True, kw_only=True)
class ConnectionInactive(Outcome):
    """The company's connection is not active (or holds no credential): nothing was sent."""


@dataclass(frozen=True, kw_only=True)
class NotFound(Explained):
    """The lost upload is not at the government: it never arrived, and is sent again."""

    endpoint_failed: bool | None = False


@dataclass(frozen=True, kw_only=True)
class LookAgain(Explained):
    """The lookup could not tell yet: look again at `at`."""

    at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class Unconfirmed(Outcome):
    """A lost upload cannot be looked for (the connection is gone): `error`, never resent."""

    where_to_check: str


UploadOutcome = (
    Uploaded
    | Refused
    | RejectedUnfiled
    | NotTaken
    | AnswerLost
    | ConnectionLost
    | ConnectionInactive
)
FindOutcome = Uploaded | NotFound | LookAgain | Unconfirmed


def upload_failed(exc: GovernmentError, *, sent: bool = True) -> UploadOutcome:
    """What an upload whose call failed comes to: its answer lost (looked for before anything
    is sent again; unless the call could not have filed it, `sent=False`), not taken (again
    after a backoff, no sooner than a Retry-After), or refused in the government's words."""
    if isinstance(exc, GovernmentOutcomeUnknownError) and sent:
        return AnswerLost(reason=str(exc))
    if isinstance(exc, GovernmentTransientError):
        return NotTaken(reason=str(exc), retry_after=exc.retry_after)
    return Refused(messages=[exc.message if isinstance(exc, GovernmentRefusedError) else str(exc)])


def look_again_after(exc: GovernmentError, pause: dt.timedelta) -> LookAgain:
    """A lookup whose call failed: again after `pause`, or the Retry-After if it is longer."""
    pause = max(pause, dt.timedelta(seconds=exc.retry_after or 0))
    return LookAgain(
        reason=str(exc),
        at=utcnow() + pause,
        endpoint_failed=isinstance(exc, GovernmentTransientError),
    )


@dataclass(frozen=True)
class CallLimits:
    """What a step's call must get past first: its endpoint's breaker and the call limits."""

    endpoint: str
    buckets: tuple[TokenBucket, ...] = ()
    quota: DailyQuota | None = None


class Attempt:
    """One claimed row while a Filer works it: the row, the calls made for it so far, and the
    one change a Filer makes to the row itself (`in_flight`)."""

    def __init__(
        self, conn: Connection, submission: ClaimedSubmission, gate: SubmissionGate
    ) -> None:
        self.conn = conn
        self.submission = submission
        self.calls: list[GovCall] = []  # every call, recorded with the outcome it led to
        self._gate = gate

    @property
    def scenario_headers(self) -> dict[str, str]:
        """The sandbox scenario's headers for the upload (none for a live invoice)."""
        row = self.submission
        return scenario_headers(row.sandbox_scenario, row.ref.invoice_id, livemode=row.ref.livemode)

    async def document(self) -> bytes | None:
        """The converted document filed for the invoice."""
        content: bytes | None = await self.conn.fetchval(
            "SELECT xml FROM documents WHERE invoice_id = $1", self.submission.ref.invoice_id
        )
        return content

    async def in_flight(self, *, gov_session: str | None = None) -> None:
        """Mark the upload in flight, committed before it leaves: a crash from here on is
        looked for, never sent again blind. The lease is renewed so that the upload has all of
        it; `gov_session` records where the upload goes when that is not the invoice itself
        (KSeF's session, SDI's file name). The calls made so far are recorded with it."""
        row = self.submission
        async with self.conn.transaction():
            self.submission = await submissions.move(
                self.conn,
                row,
                SubmissionState.UPLOADING,
                attempts=row.attempts + 1,
                next_attempt_at=self._gate.lease,
                gov_session=gov_session or row.gov_session,
            )
            await record_calls(self.conn, row.ref.invoice_id, STAGE, self.calls)
        self.calls.clear()

    async def may_call(
        self, endpoint: str, *buckets: TokenBucket, quota: DailyQuota | None = None
    ) -> None:
        """For a further call within a step (a page, a download): HeldBackError unless it may
        go out now."""
        await self._gate.may_call(self.conn, endpoint, *buckets, quota=quota)


class Filer(Protocol):
    """One government's part of a filing: its upload, and its lookup for an upload whose answer
    was lost. Implemented in governments/<cc>/filing.py."""

    @property
    def government(self) -> str:
        """govEndpoint on the events, and how their texts name the government."""
        ...

    @property
    def first_look_after(self) -> dt.timedelta:
        """After a lost answer, the pause before looking for the upload."""
        ...

    @property
    def reconcile_window(self) -> dt.timedelta | None:
        """How long a lost upload is looked for before it counts as lost (ANAF lists late);
        None: the lookup's own NotFound says so."""
        ...

    def upload_limits(self, submission: ClaimedSubmission) -> CallLimits: ...

    def find_limits(self, submission: ClaimedSubmission) -> CallLimits: ...

    async def upload(self, attempt: Attempt, document: bytes) -> UploadOutcome:
        """Send the document; `attempt.in_flight()` before anything that files leaves."""
        ...

    async def find(self, attempt: Attempt) -> FindOutcome:
        """Look for the upload whose answer was lost."""
        ...

"""What following a submitted invoice can come to: still pending, accepted or rejected."""

from __future__ import annotations

import datetime as dt
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from clearway.config import GovernmentEndpoints, LiveNotConfiguredError
from clearway.connectors import GovCall
from clearway.connectors.calls import GovernmentError
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.store.status_polls import Poll

log = logging.getLogger(__name__)
T = TypeVar("T")
# A live invoice whose government lost its live configuration: asked about again this often,
# until the operator restores it or the deadline puts the invoice in `error`.
NOT_CONFIGURED_RETRY = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Decided:
    """The government's decision, seen; the document that carries it (a receipt or an error
    report) is still to be fetched, by its id."""

    state: str
    document_id: str


@dataclass(frozen=True)
class Pending:
    """No outcome yet; ask again at `at` (None: at the country's cadence). `decided`: the
    decision was seen and only its document is missing; the next poll fetches it directly."""

    reason: str
    at: dt.datetime | None = None
    decided: Decided | None = None


@dataclass(frozen=True)
class Accepted:
    gov_id: str
    gov_message: str
    receipt: bytes  # the government's proof (ANAF: the ZIP with the invoice and its seal)
    content_type: str
    file_name: str


@dataclass(frozen=True)
class Rejected:
    gov_id: str | None
    messages: tuple[str, ...]  # the government's own words, one per error
    report: bytes | None  # the error report as downloaded, when there is one


Outcome = Pending | Accepted | Rejected


def accepted_with_record(gov_id: str, gov_message: str, record: bytes, file_name: str) -> Accepted:
    """Accepted, the receipt being the government's own record of the invoice, as JSON."""
    return Accepted(
        gov_id=gov_id,
        gov_message=gov_message,
        receipt=record,
        content_type="application/json",
        file_name=file_name,
    )


def pending_after(exc: GovernmentError, decided: Decided | None = None) -> Pending:
    """Ask again, no sooner than a Retry-After the government gave (else at the cadence)."""
    retry_after = exc.retry_after
    at = utcnow() + dt.timedelta(seconds=retry_after) if retry_after else None
    return Pending(str(exc), at=at, decided=decided)


class Follower(Protocol):
    """A government's side of following a filed invoice: what its answer to one due poll means.
    Each government's status.py implements it; the poll machine (polling.py) does the rest."""

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome: ...


class NotConfiguredFollower:
    """Stands for a live follower this deployment has no configuration for: nothing is asked
    of any government (never the sandbox); the invoice waits, saying why."""

    def __init__(self, error: LiveNotConfiguredError) -> None:
        self._error = error

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:  # noqa: ARG002 - nothing to ask
        log.error("cannot follow live invoice %s: %s", poll.invoice_id, self._error)
        return Pending(str(self._error), at=utcnow() + NOT_CONFIGURED_RETRY)


def follower_in_mode(
    endpoints: GovernmentEndpoints[T], make: Callable[[T], Follower], *, livemode: bool
) -> Follower:
    """The mode's follower: a sandbox invoice followed at the sandbox, a live one at the live
    system, or by a NotConfiguredFollower when this deployment has none."""
    try:
        return make(endpoints.for_mode(livemode))
    except LiveNotConfiguredError as exc:
        return NotConfiguredFollower(exc)


class AskingFollower(ABC):
    """A government asked about one upload over its API: what its answer means is its own
    (`ask`); a call that failed is asked again, no sooner than a Retry-After it gave."""

    async def follow(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:
        try:
            return await self.ask(conn, poll, calls)
        except GovernmentError as exc:
            return pending_after(exc)

    @abstractmethod
    async def ask(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:
        """The government's answer about the poll's upload and what it means; a failed call
        raises GovernmentError."""

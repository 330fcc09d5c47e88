"""The responding machine: sends each buyer's response (POST /v1/received-invoices/:id/response
recorded it, clearway.store.received_responses) through the network that delivered the invoice,
once, for every country.

A response is a row of a durable schedule, so a responder killed at any point loses nothing: a
claimed row is leased, and a lapsed lease makes it due again.

    REQUESTED --claim--> the government's Responder sends it, then one of
        SENT         the network took it: `invoice.response_sent` with its receipt
        FAILED       the network refused it in its own words, or the invoice lacks what the
                     network needs, or transient failures went on past the backoff's attempts:
                     `invoice.response_failed` with the reason
        REQUESTED    a transient failure (down, throttled, the answer lost): sent again after a
                     backoff with jitter, or when the network said; the responder is told how
                     many attempts failed, and looks before sending again

The ending event is caused by the `invoice.response_requested` event and is written in one
transaction with the row's move, fenced by the lease: a response is ended once, and a responder
that outlived its lease writes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from clearway.connectors.calls import GovernmentRefusedError
from clearway.domain.ids import utcnow
from clearway.domain.responses import (
    RESPONSE_FAILED,
    RESPONSE_SENT,
    ResponseReceipt,
    ResponseStatus,
)
from clearway.governments.responding import Responder, ResponseImpossibleError
from clearway.observability.logs import log_context
from clearway.observability.metrics import RETRIES
from clearway.pipeline.receiving import after_failure
from clearway.resilience.backoff import Backoff
from clearway.runtime import work_in_rounds
from clearway.store import received_responses
from clearway.store.received_events import append_received_event
from clearway.store.received_invoices import received_row
from clearway.store.received_responses import ResponseClaim

log = logging.getLogger(__name__)

CLAIM_BATCH = 20

# A received invoice's row (with its document) → its government's Responder (None: it has none).
ResponderFor = Callable[[Mapping[str, Any]], Responder | None]


@dataclass(frozen=True)
class RespondingTimings:
    """How long a claim is leased, and when a transient failure is tried again (`backoff`; its
    `max_attempts` transient failures end the response as failed)."""

    lease: dt.timedelta
    backoff: Backoff
    idle_pause: float = 1.0  # seconds between rounds that found nothing due


class RespondingMachine:
    """Claims due responses to invoices of `countries` and sends each. `recorded` is called
    after each ending recorded (the outbox relay's wake-up)."""

    def __init__(  # noqa: PLR0913 - the machine's parts, all named
        self,
        pool: asyncpg.Pool[Any],
        *,
        countries: Sequence[str],
        responder_for: ResponderFor,
        timings: RespondingTimings,
        rng: random.Random | None = None,
        recorded: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._countries = list(countries)
        self._responder_for = responder_for
        self._timings = timings
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._recorded = recorded

    async def run(self) -> None:
        """Claim due responses and send them, for ever."""
        await work_in_rounds(
            self.respond_due,
            pause=self._timings.idle_pause,
            log=log,
            failure="responding loop failed; retrying",
        )

    async def respond_due(self) -> int:
        """One round: the due responses claimed and sent at once; how many there were."""
        async with self._pool.acquire() as conn:
            claims = await received_responses.claim_due(
                conn,
                countries=self._countries,
                owner=secrets.token_hex(8),
                lease=self._timings.lease,
                limit=CLAIM_BATCH,
            )
        await asyncio.gather(*(self.respond(claim) for claim in claims))
        return len(claims)

    async def respond(self, claim: ResponseClaim) -> ResponseStatus:
        """One attempt at a claimed response; where it stands after it."""
        async with self._pool.acquire() as conn:
            row = await received_row(conn, claim.received_invoice_id)
        with log_context(invoice_id=None, account_id=row["account_id"]):
            try:
                receipt = await self._send(row, claim)
            except (GovernmentRefusedError, ResponseImpossibleError) as refused:
                return await self._failed(claim, str(refused))
            except Exception as exc:  # noqa: BLE001 - anything else may pass: tried again
                return await self._again(claim, row["country"], exc)
            return await self._sent(claim, receipt)

    async def _send(self, row: Mapping[str, Any], claim: ResponseClaim) -> ResponseReceipt:
        responder = self._responder_for(row)
        if responder is None:
            raise ResponseImpossibleError(f"the {row['country']} network has no buyer response")
        return await responder.respond(claim.response, attempts=claim.attempts)

    async def _sent(self, claim: ResponseClaim, receipt: ResponseReceipt) -> ResponseStatus:
        metadata = {**claim.response.metadata(), **receipt.metadata()}
        await self._end(
            claim, ResponseStatus.SENT, RESPONSE_SENT, metadata, receipt=receipt.metadata()
        )
        return ResponseStatus.SENT

    async def _failed(self, claim: ResponseClaim, reason: str) -> ResponseStatus:
        log.warning("the response to %s failed: %s", claim.received_invoice_id, reason)
        metadata = {**claim.response.metadata(), "failure": reason}
        await self._end(claim, ResponseStatus.FAILED, RESPONSE_FAILED, metadata, failure=reason)
        return ResponseStatus.FAILED

    async def _again(self, claim: ResponseClaim, country: str, error: Exception) -> ResponseStatus:
        reason = f"{type(error).__name__}: {error}"[:1000]
        failures = claim.attempts + 1
        # A throttle (the network, or Clearway's count of its limits, said when) sent nothing:
        # it is not a failed attempt, and a response is not given up for waiting its turn.
        throttled = isinstance(getattr(error, "retry_after", None), int | float)
        if not throttled and self._timings.backoff.exhausted(failures):
            return await self._failed(claim, f"gave up after {failures} attempts: {reason}")
        log.warning("sending the response to %s failed: %s", claim.received_invoice_id, reason)
        RETRIES.labels("respond", country, "throttled" if throttled else "error").inc()
        at = after_failure(
            error, failures, now=utcnow(), backoff=self._timings.backoff, rng=self._rng
        )
        async with self._pool.acquire() as conn:
            await received_responses.later(
                conn, claim, next_attempt_at=at, error=reason, counted=not throttled
            )
        return ResponseStatus.REQUESTED

    async def _end(  # noqa: PLR0913 - the ending's parts
        self,
        claim: ResponseClaim,
        status: ResponseStatus,
        event_type: str,
        metadata: dict[str, Any],
        *,
        receipt: dict[str, Any] | None = None,
        failure: str | None = None,
    ) -> None:
        """The row's move and its event, together; nothing when the lease was lost."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await received_responses.settle(
                conn, claim, status=status, receipt=receipt, failure=failure
            ):
                log.warning("the lease on %s lapsed: its ending is left", claim.received_invoice_id)
                return
            await append_received_event(
                conn,
                claim.received_invoice_id,
                event_type,
                causation_id=claim.requested_event_id,
                metadata=metadata,
            )
        self._recorded()

"""A submitter process, the same for every government: `submit.<cc>` consumed into the durable
schedule (the partition moves on at once), and a loop that claims the due rows and works each
with its invoice's mode's filing machine. A government's handlers.py declares a Submitter for its
Government (clearway.governments), which gives the Filers and the rest.

A retry is the row's `next_attempt_at`, never a sleep: a restart loses nothing and other
invoices go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from clearway.accounts import active_connection
from clearway.config import GovernmentEndpoints, LiveNotConfiguredError
from clearway.db import Connection
from clearway.domain.lifecycle import EventType
from clearway.invoices import load_invoice
from clearway.messaging.batches import Delivered, subscribe_event_batches
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.observability.logs import log_context
from clearway.observability.tracing import continued, current_traceparent, tracer
from clearway.pipeline.filing.endings import (
    live_not_configured_fields,
    live_not_configured_metadata,
)
from clearway.pipeline.filing.machine import FilingMachine
from clearway.pipeline.filing.outcomes import Filer
from clearway.runtime import ServiceContext
from clearway.store import submissions
from clearway.store.connections import active_connection_id
from clearway.store.events import NewEvent, append_event
from clearway.store.invoices import InvoiceChanges, InvoiceRef
from clearway.store.submissions import ClaimedSubmission

if TYPE_CHECKING:
    from clearway.governments.base import Government

log = logging.getLogger(__name__)

Work = Callable[[ClaimedSubmission], Awaitable[None]]  # what a submitter does with one row
# The invoice's request -> the government its submission goes to (DE: ZRE or Peppol).
GovernmentOf = Callable[[Mapping[str, Any]], GovernmentEndpoints[Any]]
CLAIM_BATCH = 6  # rows worked at once per process: each holds a pool connection while it calls
IDLE_PAUSE_SECONDS = 0.5  # how often an idle replica looks for rows others scheduled
T = TypeVar("T")
F = TypeVar("F", bound=Filer)


@dataclass(frozen=True)
class FilerSetup:
    """What a government's Filers are made with, once per mode and process."""

    context: ServiceContext
    http: httpx.AsyncClient  # the government calls' client (SDI's channels hold their own)
    livemode: bool
    closing: contextlib.AsyncExitStack  # what to close when the submitter stops


def filer_in_mode(
    endpoints: GovernmentEndpoints[T], make: Callable[[T], F], *, livemode: bool
) -> Callable[[], F]:
    """The mode's Filer, made once; a live one not configured raises LiveNotConfiguredError
    when asked for (the machine then puts the invoice in `error`, sending nothing)."""
    try:
        filer = make(endpoints.for_mode(livemode))
    except LiveNotConfiguredError as exc:
        not_configured = exc

        def refuse() -> F:
            raise not_configured

        return refuse
    return lambda: filer


def work_by_mode(sandbox: Work, live: Work) -> Work:
    """A row goes to its invoice's mode's machine."""

    async def work(submission: ClaimedSubmission) -> None:
        await (live if submission.ref.livemode else sandbox)(submission)

    return work


async def take_submission(
    conn: Connection,
    message: EventMessage,
    *,
    government: str,
    endpoints: GovernmentOf,
    with_token: bool = True,
) -> None:
    """What every submitter does with a `submit.<cc>` message: schedule the upload with the
    supplier's company's active connection of the invoice's mode, or put the invoice in
    `error` without one, or when it is live and its government's live endpoint is not
    configured (checked first: nothing is sent anywhere). `with_token=False` for networks
    whose connection is an identifier or a certificate, not a token."""
    invoice = await load_invoice(conn, message)
    livemode = invoice.ref.livemode
    if livemode:
        not_configured: LiveNotConfiguredError | None = None
        try:
            endpoints(invoice.request.model_dump(mode="json")).for_mode(livemode)
        except LiveNotConfiguredError as exc:
            not_configured = exc
        if not_configured is not None:
            log.error("live invoice %s not sent: %s", message.invoice_id, not_configured)
            await _not_scheduled(
                conn,
                invoice.ref,
                message,
                live_not_configured_metadata(not_configured),
                InvoiceChanges(**live_not_configured_fields(not_configured)),
            )
            return
    connection_id: str | None = None
    if invoice.company_id is not None and with_token:
        connection = await active_connection(
            conn, invoice.company_id, message.country, livemode=livemode
        )
        connection_id = connection.id if connection is not None else None
    elif invoice.company_id is not None:
        connection_id = await active_connection_id(
            conn, invoice.company_id, message.country, livemode=livemode
        )
    if connection_id is not None:
        await submissions.schedule(
            conn,
            invoice_id=message.invoice_id,
            connection_id=connection_id,
            country=message.country,
            version=message.version,
            causation_id=message.event_id,
            traceparent=current_traceparent(),
        )
        return
    await _not_scheduled(
        conn,
        invoice.ref,
        message,
        {"reason": "no_active_connection"},
        InvoiceChanges(
            error_message=f"The supplier's company has no active {government} connection.",
            error_fix=f"Connect the company to {government} (POST /v1/connections), "
            "then send the invoice again.",
        ),
    )


async def _not_scheduled(
    conn: Connection,
    ref: InvoiceRef,
    message: EventMessage,
    metadata: Mapping[str, Any],
    changes: InvoiceChanges,
) -> None:
    """The invoice goes to `error` at the submission stage, nothing scheduled or sent."""
    await append_event(
        conn,
        ref,
        NewEvent(
            type=EventType.ERROR,
            expected_version=message.version,
            causation_id=message.event_id,
            metadata={"stage": "submission", **metadata},
            invoice=changes,
        ),
    )


async def work_due_submissions(
    context: ServiceContext, country: str, work: Work, due: asyncio.Event
) -> None:
    """A submitter's loop: claim due rows (any replica's), work each; sleep only when none is
    due, until `due` is set (this process scheduled a row) or the idle pause ends."""
    lease = dt.timedelta(seconds=context.settings.work_lease_seconds)
    while True:
        try:
            async with context.pool.acquire() as conn:
                claimed = await submissions.claim_due(conn, country, CLAIM_BATCH, lease)
            if claimed:
                await asyncio.gather(*(_traced(country, work, row) for row in claimed))
                context.relay.wake()
                continue
        except Exception:
            log.exception("the %s submission loop failed; retrying", country)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(due.wait(), timeout=IDLE_PAUSE_SECONDS)
        due.clear()


async def _traced(country: str, work: Work, row: ClaimedSubmission) -> None:
    """One submission's work, as a span of the invoice's trace, its log lines naming it."""
    with (
        continued(row.traceparent),
        tracer().start_as_current_span(
            f"submit {country}", attributes={"clearway.invoice_id": row.ref.invoice_id}
        ),
        log_context(invoice_id=row.ref.invoice_id, account_id=row.ref.account_id),
    ):
        await work(row)


@dataclass(frozen=True)
class Submitter:
    """One government's submitter process (services/submitter_<cc>): its consumer group on
    `submit.<cc>`, and its government's Filers on the filing machine."""

    files_with: Government
    group_id: str
    # Set when this process scheduled a row, so its loop starts on it at once.
    work_due: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def for_government(cls, government: Government, *, group_id: str) -> Submitter:
        return cls(government, group_id)

    @property
    def country(self) -> str:
        return self.files_with.code

    @property
    def government(self) -> str:
        """How the error for a company with no connection names what to connect to."""
        return self.files_with.connected_with or self.files_with.system

    @property
    def with_token(self) -> bool:
        """False: the connection is an identifier or a certificate."""
        return self.files_with.with_token

    def register_handlers(self, context: ServiceContext) -> None:
        governments = context.settings.governments()
        files_with = self.files_with

        async def schedule_filings(batch: Sequence[Delivered[EventMessage]]) -> None:
            # Each message's submission is scheduled (or its invoice put in error) on its own,
            # idempotently; the batch is acknowledged once, when all are.
            async with context.pool.acquire() as conn:
                for delivered in batch:
                    with delivered.handling():
                        await take_submission(
                            conn,
                            delivered.message,
                            government=self.government,
                            endpoints=lambda r: files_with.filing_endpoints(governments, r),
                            with_token=self.with_token,
                        )
            context.relay.wake()
            self.work_due.set()

        subscribe_event_batches(
            context.broker,
            submit_topic(self.country),
            group_id=self.group_id,
            handle=schedule_filings,
        )

    async def work_submissions(self, context: ServiceContext) -> None:
        timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
        async with (
            httpx.AsyncClient(timeout=timeout) as http,
            contextlib.AsyncExitStack() as closing,
        ):
            sandbox, live = (
                FilingMachine(
                    context.pool,
                    context.settings,
                    self.files_with.route(FilerSetup(context, http, livemode, closing)),
                )
                for livemode in (False, True)
            )
            work = work_by_mode(sandbox.work, live.work)
            await work_due_submissions(context, self.country, work, self.work_due)

"""poller: follows every submitted invoice until its government decides.

Consumes  `invoice.submitted`: a poll in the durable schedule, with the country's deadline,
          following the upload (uploadId) with the connection (connectionId) the metadata names.
Decides   the poll machine (clearway.pipeline.polling) claims due polls and asks each one's
          government (its status follower, from the registry clearway.governments), at the
          cadence that government declares;
          past the deadline without a decision, the invoice goes to `error`.
Emits     `invoice.accepted` (govId, govMessage; the receipt stored for
          GET /v1/invoices/:id/receipt) or `invoice.rejected` (the government's words in
          errorMessage, their translation and the fix), each with the status calls as
          `attempts`, through the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import httpx
from clearway.governments import GOVERNMENTS
from clearway.messaging.batches import Delivered, subscribe_event_batches
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_SUBMITTED
from clearway.pipeline.decisions import Follower
from clearway.pipeline.polling import Followed, PollMachine, PollTimings
from clearway.runtime import ServiceContext

GROUP_ID = "poller"

# Each country's cadence, as its government declares it, and the name its decisions are caused by.
FOLLOWED: dict[str, Followed] = {code: g.followed() for code, g in GOVERNMENTS.items()}


def followers_for(
    context: ServiceContext, http: httpx.AsyncClient, *, livemode: bool
) -> dict[str, Follower]:
    """Each country's follower for one mode, with that mode's endpoints: a sandbox invoice is
    followed at the sandbox, a live one at the live system (or not at all: never the sandbox)."""
    return {
        code: g.status_follower(context, http, livemode=livemode) for code, g in GOVERNMENTS.items()
    }


def poll_machine(context: ServiceContext, http: httpx.AsyncClient | None = None) -> PollMachine:
    """The machine with this deployment's timings; without `http` it can schedule, not ask."""
    followers = (
        {}
        if http is None
        else {
            livemode: followers_for(context, http, livemode=livemode) for livemode in (False, True)
        }
    )
    return PollMachine(
        context.pool,
        timings=PollTimings.from_settings(context.settings),
        # A claimed poll not finished within the lease is taken up again (its poller died).
        lease=dt.timedelta(seconds=context.settings.work_lease_seconds),
        followed=FOLLOWED,
        followers=followers,
        recorded=context.relay.wake,
    )


def register_handlers(context: ServiceContext) -> None:
    machine = poll_machine(context)

    async def schedule_status_polls(batch: Sequence[Delivered[EventMessage]]) -> None:
        # A batch is acknowledged at once when all its polls are scheduled (each is idempotent).
        for delivered in batch:
            with delivered.handling():
                await machine.schedule(delivered.message)

    subscribe_event_batches(
        context.broker, INVOICE_SUBMITTED, group_id=GROUP_ID, handle=schedule_status_polls
    )


async def follow_uploads(context: ServiceContext) -> None:
    """The poll loop: claim due polls, ask each one's government, record decisions."""
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        await poll_machine(context, http).run()

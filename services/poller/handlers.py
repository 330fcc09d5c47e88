"""poller: follows every submitted invoice until its government decides.

Consumes  `invoice.submitted`: a poll in the durable schedule, with the country's deadline,
          following the upload (uploadId) with the connection (connectionId) the metadata names.
Decides   the poll machine (clearway.pipeline.polling) claims due polls and asks each one's
          government (its governments/<cc>/status.py), at the cadence that government declares;
          past the deadline without a decision, the invoice goes to `error`.
Emits     `invoice.accepted` (govId, govMessage; the receipt stored for
          GET /v1/invoices/:id/receipt) or `invoice.rejected` (the government's words in
          errorMessage, their translation and the fix), each with the status calls as
          `attempts`, through the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import httpx
from clearway.config import GovernmentEndpoints, LiveNotConfiguredError
from clearway.governments.de import status as de_status
from clearway.governments.fr import status as fr_status
from clearway.governments.it import status as it_status
from clearway.governments.peppol import status as peppol_status
from clearway.governments.pl import status as pl_status
from clearway.governments.ro import status as ro_status
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_SUBMITTED
from clearway.pipeline.decisions import Follower, NotConfiguredFollower
from clearway.pipeline.polling import Followed, PollMachine, PollTimings
from clearway.runtime import ServiceContext

GROUP_ID = "poller"
T = TypeVar("T")

# Each country's cadence, as its government declares it, and the name its decisions are caused
# by (ANAF's as the walking skeleton recorded it).
FOLLOWED = {
    "RO": Followed(ro_status.CADENCE, cause="anaf"),
    "PL": Followed(pl_status.CADENCE, cause="pl"),
    "FR": Followed(fr_status.CADENCE, cause="fr"),
    "BE": Followed(peppol_status.CADENCE, cause="be"),
    "DE": Followed(de_status.CADENCE, cause="de"),
    "IT": Followed(it_status.CADENCE, cause="it"),
}


def followers_for(
    context: ServiceContext, http: httpx.AsyncClient, *, livemode: bool
) -> dict[str, Follower]:
    """Each country's follower for one mode, with that mode's endpoints: a sandbox invoice is
    followed at the sandbox, a live one at the live system (or not at all: never the sandbox)."""
    governments = context.settings.governments()

    def in_mode(endpoints: GovernmentEndpoints[T], make: Callable[[T], Follower]) -> Follower:
        try:
            return make(endpoints.for_mode(livemode))
        except LiveNotConfiguredError as exc:
            return NotConfiguredFollower(exc)

    def peppol(country: str) -> Follower:
        return in_mode(
            governments.peppol,
            lambda e: peppol_status.PeppolStatusFollower(context, http, e, country=country),
        )

    return {
        "RO": in_mode(governments.anaf, lambda e: ro_status.AnafStatusFollower(context, http, e)),
        "PL": in_mode(governments.ksef, lambda e: pl_status.KsefStatusFollower(context, http, e)),
        "FR": in_mode(governments.fr_pa, lambda e: fr_status.PaStatusFollower(context, http, e)),
        "BE": peppol("BE"),
        "DE": de_status.GermanStatusFollower(
            zre=in_mode(governments.zre, lambda e: de_status.ZreStatusFollower(context, http, e)),
            peppol=peppol("DE"),
        ),
        "IT": in_mode(governments.sdi, lambda e: it_status.SdiStatusFollower(context, http, e)),
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

    async def schedule_status_poll(message: EventMessage) -> None:
        await machine.schedule(message)

    subscribe_events(
        context.broker, INVOICE_SUBMITTED, group_id=GROUP_ID, handle=schedule_status_poll
    )


async def follow_uploads(context: ServiceContext) -> None:
    """The poll loop: claim due polls, ask each one's government, record decisions."""
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        await poll_machine(context, http).run()

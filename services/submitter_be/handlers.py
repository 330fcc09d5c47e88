"""submitter-be: sends Belgian invoices over Peppol to the buyer's access point.

Consumes  `submit.be`: a validated invoice whose Peppol BIS Billing 3.0 document the converter
          stored. Its `submissions` row (the durable schedule) is written and the partition
          moves on. The connection is the company's participant id (0208:<enterprise number>):
          no token.
Decides   a loop works the due rows (`work_submissions`, clearway.governments.peppol.filing): the
          buyer (its peppolId, else 0208 and its enterprise number) looked up in the SMP, the
          send through Clearway's access point with the SBDH InstanceIdentifier derived from
          the invoice id, retries with backoff, a lost answer reconciled by that identifier.
Emits     `invoice.submitted` (uploadId: the access point's document id; instanceIdentifier;
          attempts), `invoice.rejected` (a buyer not on Peppol, naming the field) or
          `invoice.error`, through the outbox. The poller follows the delivery.
"""

from __future__ import annotations

import asyncio

import httpx
from clearway.governments.peppol.client import GOV_ENDPOINT, PeppolClient
from clearway.governments.peppol.filing import PeppolChannel, Route, channel_in_mode, work_by_mode
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.pipeline.filing import take_submission, work_due_submissions
from clearway.runtime import ServiceContext

GROUP_ID = "submitter-be"
COUNTRY = "BE"

# Set by the consumer when it scheduled a row, so this process's loop starts on it at once.
_work_due = asyncio.Event()


def register_handlers(context: ServiceContext) -> None:
    peppol_endpoints = context.settings.governments().peppol

    async def schedule_send(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            await take_submission(
                conn,
                message,
                government=GOV_ENDPOINT,
                endpoints=lambda _request: peppol_endpoints,
                with_token=False,
            )
        context.relay.wake()
        _work_due.set()

    subscribe_events(context.broker, submit_topic(COUNTRY), group_id=GROUP_ID, handle=schedule_send)


async def work_submissions(context: ServiceContext) -> None:
    settings = context.settings
    timeout = httpx.Timeout(settings.government_call_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        peppol = settings.governments().peppol

        def route_for(livemode: bool) -> Route:  # noqa: FBT001 - the mode's route
            channel = channel_in_mode(
                peppol,
                lambda ap: PeppolChannel(
                    PeppolClient(ap.ap_url, ap.ap_api_key, http, country=COUNTRY)
                ),
                livemode=livemode,
            )
            return lambda _request: channel()

        await work_due_submissions(context, COUNTRY, work_by_mode(context, route_for), _work_due)

"""submitter-de: files German invoices, B2G with the receipt platform, B2B over Peppol.

Consumes  `submit.de`: a validated invoice whose XRechnung (UBL or CII) the converter stored.
          Its `submissions` row (the durable schedule) is written and the partition moves on.
          The connection is the company's participant id (9930:DE<VAT number>): no token.
Decides   where it goes: a buyer reference (BT-10) that is a Leitweg-ID means a public buyer,
          so ZRE/OZG-RE (an upload with a client reference derived from the invoice id); any
          other buyer gets it over Peppol (the SMP lookup, then the send with the SBDH
          InstanceIdentifier derived from the invoice id). Then, as for every channel
          (clearway.governments.peppol.filing): retries with backoff, a lost answer reconciled
          by the reference, never sent blind twice.
Emits     `invoice.submitted` (uploadId, govEndpoint "ZRE" or "Peppol", the reference,
          attempts), `invoice.rejected` (a buyer not on Peppol, naming the field) or
          `invoice.error`, through the outbox. The poller follows the delivery.
"""

from __future__ import annotations

import asyncio

import httpx
from clearway.governments.de.client import ZreClient, leitweg_id_of
from clearway.governments.peppol.client import PeppolClient
from clearway.governments.peppol.filing import (
    PeppolChannel,
    Route,
    ZreChannel,
    channel_in_mode,
    work_by_mode,
)
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.pipeline.filing import take_submission, work_due_submissions
from clearway.runtime import ServiceContext

GROUP_ID = "submitter-de"
COUNTRY = "DE"
# A DE connection is the company's Peppol participant id, whichever way the invoice goes.
GOVERNMENT = "Peppol"

# Set by the consumer when it scheduled a row, so this process's loop starts on it at once.
_work_due = asyncio.Event()


def register_handlers(context: ServiceContext) -> None:
    governments = context.settings.governments()

    async def schedule_filing(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            await take_submission(
                conn,
                message,
                government=GOVERNMENT,
                # A live invoice needs the live system it is routed to configured.
                endpoints=lambda request: (
                    governments.zre if leitweg_id_of(request) is not None else governments.peppol
                ),
                with_token=False,
            )
        context.relay.wake()
        _work_due.set()

    subscribe_events(
        context.broker, submit_topic(COUNTRY), group_id=GROUP_ID, handle=schedule_filing
    )


async def work_submissions(context: ServiceContext) -> None:
    settings = context.settings
    timeout = httpx.Timeout(settings.government_call_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        governments = settings.governments()

        def route_for(livemode: bool) -> Route:  # noqa: FBT001 - the mode's route
            peppol = channel_in_mode(
                governments.peppol,
                lambda ap: PeppolChannel(
                    PeppolClient(ap.ap_url, ap.ap_api_key, http, country=COUNTRY)
                ),
                livemode=livemode,
            )
            zre = channel_in_mode(
                governments.zre,
                lambda platform: ZreChannel(ZreClient(platform.url, platform.api_key, http)),
                livemode=livemode,
            )
            return lambda request: zre() if leitweg_id_of(request) is not None else peppol()

        await work_due_submissions(context, COUNTRY, work_by_mode(context, route_for), _work_due)

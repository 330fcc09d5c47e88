"""submitter-fr: deposits invoices with the company's French Plateforme Agréée (PA).

Consumes  `submit.fr`: a validated invoice whose document (UBL, CII or Factur-X) the converter
          stored. Its `submissions` row (the durable schedule) is written and the partition
          moves on. The connection is the company's SIREN on the directory: no token.
Decides   a loop works the due rows (governments/fr/filing.py): the deposit, retries
          with backoff, a lost answer reconciled by the platform's search on invoice number and
          seller SIREN.
Emits     `invoice.submitted` (uploadId: the platform's invoice id; attempts) or `invoice.error`
          (501 Irrecevable, in the platform's words translated), through the outbox. The poller
          follows the lifecycle statuses.
"""

from __future__ import annotations

import asyncio

import httpx
from clearway.config import live_or_error
from clearway.governments.fr.client import GOV_ENDPOINT
from clearway.governments.fr.filing import PaSubmitter
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.pipeline.filing import take_submission, work_by_mode, work_due_submissions
from clearway.runtime import ServiceContext

GROUP_ID = "submitter-fr"
COUNTRY = "FR"

# Set by the consumer when it scheduled a row, so this process's loop starts on it at once.
_work_due = asyncio.Event()


def register_handlers(context: ServiceContext) -> None:
    platform = context.settings.governments().fr_pa

    async def schedule_deposit(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            await take_submission(
                conn,
                message,
                government=GOV_ENDPOINT,
                endpoints=lambda _request: platform,
                with_token=False,
            )
        context.relay.wake()
        _work_due.set()

    subscribe_events(
        context.broker, submit_topic(COUNTRY), group_id=GROUP_ID, handle=schedule_deposit
    )


async def work_submissions(context: ServiceContext) -> None:
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    platform = context.settings.governments().fr_pa
    async with httpx.AsyncClient(timeout=timeout) as http:
        work = work_by_mode(
            context,
            PaSubmitter(context, http, platform.sandbox).work,
            live_or_error(platform, lambda live: PaSubmitter(context, http, live).work),
        )
        await work_due_submissions(context, COUNTRY, work, _work_due)

"""submitter-pl: files invoices with KSeF 2.0 (Poland).

Consumes  `submit.pl`: a validated invoice whose FA(3) document the converter stored. Its
          `submissions` row (the durable schedule) is written and the partition moves on.
Decides   a loop works the due rows (governments/pl/filing.py): an online session
          with the connection's access token, the invoice sent encrypted, the session closed;
          retries with backoff; a send whose answer was lost is looked for in its session.
Emits     `invoice.submitted` (uploadId: KSeF's invoice reference; sessionReferenceNumber;
          attempts) or `invoice.error` (stage submission, KSeF's words translated), through
          the outbox. The poller follows it to its status and UPO.
"""

from __future__ import annotations

import asyncio

import httpx
from clearway.config import live_or_error
from clearway.governments.pl.client import GOV_ENDPOINT
from clearway.governments.pl.filing import KsefSubmitter
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.pipeline.filing import take_submission, work_by_mode, work_due_submissions
from clearway.runtime import ServiceContext

GROUP_ID = "submitter-pl"
COUNTRY = "PL"

# Set by the consumer when it scheduled a row, so this process's loop starts on it at once.
_work_due = asyncio.Event()


def register_handlers(context: ServiceContext) -> None:
    ksef = context.settings.governments().ksef

    async def schedule_upload(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            await take_submission(
                conn, message, government=GOV_ENDPOINT, endpoints=lambda _request: ksef
            )
        context.relay.wake()
        _work_due.set()

    subscribe_events(
        context.broker, submit_topic(COUNTRY), group_id=GROUP_ID, handle=schedule_upload
    )


async def work_submissions(context: ServiceContext) -> None:
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    ksef = context.settings.governments().ksef
    async with httpx.AsyncClient(timeout=timeout) as http:
        work = work_by_mode(
            context,
            KsefSubmitter(context, http, ksef.sandbox).work,
            live_or_error(ksef, lambda live: KsefSubmitter(context, http, live).work),
        )
        await work_due_submissions(context, COUNTRY, work, _work_due)

"""submitter-ro: files invoices with ANAF e-Factura.

Consumes  `submit.ro`: a validated invoice whose CIUS-RO document the converter stored. Its
          `submissions` row (the durable schedule) is written and the partition moves on: no
          invoice ever waits in the consumer for ANAF.
Decides   a loop works the due rows (governments/ro/filing.py): the upload with
          the connection's token inside ANAF's limits, retries with backoff, and reconciliation
          with ANAF's message list when an upload's answer was lost.
Emits     `invoice.submitted` (uploadId, attempts) or `invoice.error` (stage submission, with
          ANAF's words, their translation and the fix), through the outbox.
"""

from __future__ import annotations

import asyncio

import httpx
from clearway.config import live_or_error
from clearway.governments.ro.filing import AnafSubmitter
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.pipeline.filing import take_submission, work_by_mode, work_due_submissions
from clearway.runtime import ServiceContext

GROUP_ID = "submitter-ro"
COUNTRY = "RO"

# Set by the consumer when it scheduled a row, so this process's loop starts on it at once.
_work_due = asyncio.Event()


def register_handlers(context: ServiceContext) -> None:
    anaf = context.settings.governments().anaf

    async def schedule_upload(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            await take_submission(conn, message, government="ANAF", endpoints=lambda _request: anaf)
        context.relay.wake()
        _work_due.set()

    subscribe_events(
        context.broker, submit_topic(COUNTRY), group_id=GROUP_ID, handle=schedule_upload
    )


async def work_submissions(context: ServiceContext) -> None:
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    anaf = context.settings.governments().anaf
    async with httpx.AsyncClient(timeout=timeout) as http:
        work = work_by_mode(
            context,
            AnafSubmitter(context, http, anaf.sandbox).work,
            live_or_error(anaf, lambda live: AnafSubmitter(context, http, live).work),
        )
        await work_due_submissions(context, COUNTRY, work, _work_due)

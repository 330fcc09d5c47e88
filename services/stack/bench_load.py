"""What `make bench` sends and how it times it, apart from the stack so it can be tested alone:
the six countries' invoices (docs/sandbox.md's, which its test runs to `accepted`), an
open-loop generator at a fixed offered rate, and percentiles."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SANDBOX_DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"
INVOICES_SECTION = "One invoice per country"
# The order a mix takes its countries in, one after another.
MIX_COUNTRIES = ("RO", "IT", "PL", "FR", "BE", "DE")


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (NaN for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)
    return ordered[index]


def ms(values: list[float], *qs: int) -> dict[str, float]:
    """The given percentiles of millisecond values, keyed p50, p95 …"""
    return {f"p{q}": round(percentile(values, q), 1) for q in qs}


def sandbox_invoices(doc: Path = SANDBOX_DOC) -> dict[str, dict[str, Any]]:
    """The POST /v1/invoices body of each country's example in docs/sandbox.md, by country: the
    requests tests/e2e/test_sandbox_docs.py runs to `accepted` with the seeded companies, so a
    mix of them needs no invoice of its own."""
    section = doc.read_text(encoding="utf-8").split(f"\n## {INVOICES_SECTION}\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    bodies: dict[str, dict[str, Any]] = {}
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        data = re.search(r"-d '(\{.*\})'", block, re.DOTALL)
        if data is None:
            continue
        body: dict[str, Any] = json.loads(data[1])
        bodies[body["country"]] = body
    return bodies


@dataclass(frozen=True)
class InvoiceMix:
    """The countries' invoices in turn: the n-th is MIX_COUNTRIES[n % 6]'s, with an externalId
    and (where the example carries one) an invoice number of its own, since KSeF and SDI refuse
    a number they have seen for the seller."""

    bodies: dict[str, dict[str, Any]]
    countries: tuple[str, ...] = MIX_COUNTRIES

    @classmethod
    def from_docs(cls, countries: tuple[str, ...] = MIX_COUNTRIES) -> InvoiceMix:
        bodies = sandbox_invoices()
        missing = set(countries) - set(bodies)
        if missing:
            raise ValueError(f"docs/sandbox.md has no invoice for {sorted(missing)}")
        return cls(bodies, countries)

    def country(self, n: int) -> str:
        return self.countries[n % len(self.countries)]

    def body(self, label: str, n: int) -> dict[str, Any]:
        body = copy.deepcopy(self.bodies[self.country(n)])
        body["externalId"] = f"{label}-{n}"
        if "invoiceNumber" in body:
            # FatturaPA's Numero holds at most 20 characters.
            body["invoiceNumber"] = f"B{label}-{n}"[:20]
        return body


@dataclass(frozen=True)
class OpenLoopResult:
    offered_per_s: float
    sent: int
    elapsed_s: float  # first scheduled send to the last answer
    latencies_ms: list[float]  # from each request's scheduled start, not its actual one
    max_start_lag_ms: float  # how late the generator itself started a request


async def open_loop(
    rate: float, count: int, send: Callable[[int], Awaitable[None]]
) -> OpenLoopResult:
    """Start send(n) at start + n/rate whatever the earlier ones are doing (an open loop: a
    slow answer does not slow the offered load down), and time each from when it was due, so
    a request the generator started late counts its wait too (no coordinated omission)."""
    latencies: list[float] = [0.0] * count
    lag = 0.0
    start = time.perf_counter()

    async def timed(n: int, due: float) -> None:
        await send(n)
        latencies[n] = (time.perf_counter() - due) * 1000

    tasks = []
    for n in range(count):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        lag = max(lag, time.perf_counter() - due)
        tasks.append(asyncio.create_task(timed(n, due)))
    await asyncio.gather(*tasks)
    return OpenLoopResult(
        offered_per_s=rate,
        sent=count,
        elapsed_s=time.perf_counter() - start,
        latencies_ms=latencies,
        max_start_lag_ms=lag * 1000,
    )

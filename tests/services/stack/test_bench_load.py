"""`make bench`'s logic that needs no stack: the six countries' mix, the open-loop generator and
the percentiles it reports."""

from __future__ import annotations

import asyncio
import time

from clearway.domain.invoice import InvoiceRequest

from services.stack.bench_load import MIX_COUNTRIES, InvoiceMix, ms, open_loop, percentile


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(values, 50) == 51.0  # rank round(0.5 * 99) = 50 (0-based)
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(list(reversed(values)), 0) == 1.0
    assert ms([3.0, 1.0, 2.0], 50, 99) == {"p50": 2.0, "p99": 3.0}


def test_percentile_of_nothing_is_nan() -> None:
    assert percentile([], 50) != percentile([], 50)


def test_the_mix_has_each_country_of_the_sandbox_docs_in_turn() -> None:
    mix = InvoiceMix.from_docs()
    assert sorted(mix.bodies) == sorted(MIX_COUNTRIES)
    countries = [mix.body("t", n)["country"] for n in range(12)]
    assert countries == list(MIX_COUNTRIES) * 2


def test_each_invoice_of_the_mix_is_its_own_and_valid() -> None:
    mix = InvoiceMix.from_docs()
    bodies = [mix.body("r1a2b3", n) for n in range(60)]
    assert len({b["externalId"] for b in bodies}) == 60
    numbered = [b["invoiceNumber"] for b in bodies if "invoiceNumber" in b]
    # Every country's example but RO's carries a number (RO's is assigned): each one new, and
    # short enough for FatturaPA's 20 characters.
    assert len(numbered) == 50
    assert len(set(numbered)) == 50
    assert max(len(number) for number in numbered) <= 20
    for body in bodies:
        InvoiceRequest.model_validate(body)
    # The documented examples themselves are left as they are.
    assert mix.bodies["PL"]["invoiceNumber"] == "SANDBOX-PL-0001"


async def test_open_loop_offers_the_rate_whatever_the_answers_take() -> None:
    started: list[float] = []

    async def slow(n: int) -> None:
        started.append(time.perf_counter())
        await asyncio.sleep(0.3)  # far slower than 1/rate: a closed loop would fall behind

    begin = time.perf_counter()
    result = await open_loop(100, 20, slow)
    # 20 requests at 100/s are all started within ~0.2 s although each takes 0.3 s.
    assert started[-1] - begin < 0.25
    assert result.sent == 20
    assert 0.45 < result.elapsed_s < 1.0
    assert all(300 <= latency < 600 for latency in result.latencies_ms)


async def test_open_loop_times_from_when_a_request_was_due() -> None:
    async def hog_then_answer(n: int) -> None:
        if n == 0:
            time.sleep(0.2)  # blocks the loop: the next requests start late  # noqa: ASYNC251

    result = await open_loop(50, 5, hog_then_answer)
    # Request 1 was due 20 ms in but could start only after 200 ms: it counts that wait.
    assert result.max_start_lag_ms >= 150
    assert result.latencies_ms[1] >= 150

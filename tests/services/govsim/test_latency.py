"""A government slow for a while: its calls are held before they are answered (as they would
be), the simulator says how many it holds, and it is quick again when the window ends."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.services.govsim.simtools import ANAF_LIST, KSEF_KEYS


async def test_a_slow_government_holds_its_calls_and_says_how_many(
    sim_client: httpx.AsyncClient,
) -> None:
    # Times are measured from the call's start, so a busy machine cannot make the held call look
    # quick; the delay is long enough that the controls answer while the call is held.
    delay = 2.0
    started = await sim_client.post(
        "/_sim/latency", json={"seconds": 30, "delay": delay, "path_prefixes": ["/v2/security"]}
    )
    assert started.json()["active"] is True
    began = time.monotonic()
    call = asyncio.create_task(sim_client.get(KSEF_KEYS))
    await asyncio.sleep(0.2)
    assert (await sim_client.get("/_sim/latency")).json()["held"] == 1  # the controls are quick
    assert (await call).status_code == 200  # held, then answered as ever
    assert time.monotonic() - began >= delay
    quick = time.monotonic()
    assert (await sim_client.get(ANAF_LIST, params={"zile": "1", "cif": "1"})).status_code != 503
    assert time.monotonic() - quick < delay  # another government: not slowed
    state = (await sim_client.get("/_sim/latency")).json()
    assert (state["held"], state["delayed"]) == (0, 1)
    assert (await sim_client.delete("/_sim/latency")).status_code == 204
    assert (await sim_client.get("/_sim/latency")).json()["active"] is False


@pytest.mark.parametrize(
    "body",
    [{"seconds": 0, "delay": 1}, {"seconds": 10, "delay": 0}, {"seconds": 10, "delay": 1, "x": 1}],
)
async def test_a_bad_latency_request_is_refused_and_changes_nothing(
    sim_client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    assert (await sim_client.post("/_sim/latency", json=body)).status_code == 422
    assert (await sim_client.get("/_sim/latency")).json()["active"] is False

"""A government down for a while: its API answers 5xx, nothing behind it changes, and it
comes back by itself when the window ends."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.services.govsim.simtools import ANAF_LIST, KSEF_KEYS


async def test_every_government_answers_5xx_until_the_window_ends(
    sim_client: httpx.AsyncClient,
) -> None:
    before = (await sim_client.get(KSEF_KEYS)).status_code
    assert before == 200
    started = await sim_client.post("/_sim/outage", json={"seconds": 0.5, "status": 502})
    assert started.json()["active"] is True
    assert (await sim_client.get(KSEF_KEYS)).status_code == 502
    assert (await sim_client.get(ANAF_LIST, params={"zile": "1", "cif": "1"})).status_code == 502
    # The probes and the controls stay up: the outage is the government's, not the process's.
    assert (await sim_client.get("/healthz")).status_code == 200
    assert (await sim_client.get("/_sim/outage")).json()["refused"] == 2
    await asyncio.sleep(0.6)
    assert (await sim_client.get(KSEF_KEYS)).status_code == 200
    assert (await sim_client.get("/_sim/outage")).json()["active"] is False


async def test_an_outage_may_hit_one_government_only(sim_client: httpx.AsyncClient) -> None:
    await sim_client.post("/_sim/outage", json={"seconds": 30, "path_prefix": "/test/FCTEL"})
    assert (await sim_client.get(KSEF_KEYS)).status_code == 200
    assert (await sim_client.get(ANAF_LIST, params={"zile": "1", "cif": "1"})).status_code == 503
    assert (await sim_client.delete("/_sim/outage")).status_code == 204
    assert (await sim_client.get("/_sim/outage")).json()["active"] is False


@pytest.mark.parametrize(
    "body", [{"seconds": 0}, {"seconds": 10, "status": 404}, {"seconds": 10, "extra": 1}]
)
async def test_a_bad_outage_request_is_refused_and_changes_nothing(
    sim_client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    assert (await sim_client.post("/_sim/outage", json=body)).status_code == 422
    assert (await sim_client.get("/_sim/outage")).json()["active"] is False

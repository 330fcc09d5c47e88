"""The receiver's network endpoint without the stack: a route for each government whose network
pushes (IT's SDI), and what it answers before anything is recorded: no valid network key, another
method, a request its channel refuses (in the network's own terms: SDI's SOAP Fault). What is
recorded is tests/libs/pipeline/test_pushed.py's and, end to end, test_receiving_it.py's."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
from clearway.config import Settings
from clearway.observability.health import AsgiApp

from services.receiver.networks import network_routes
from tests.libs.config.test_live_endpoints import REQUIRED

KEY = "sandbox-network-key"


def routes() -> dict[str, AsgiApp]:
    settings = Settings.from_env({**REQUIRED, "CLEARWAY_NETWORK_KEY_SANDBOX": KEY})
    # Nothing here reaches the database: a request is answered before it would be recorded.
    context: Any = SimpleNamespace(settings=settings, pool=None, relay=SimpleNamespace(wake=None))
    return dict(network_routes(settings, lambda: context))


async def call(method: str, **request: Any) -> httpx.Response:
    app = routes()["/networks/it/deliveries"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://receiver"
    ) as http:
        return await http.request(method, "/networks/it/deliveries", **request)


def test_only_the_networks_that_push_have_a_route() -> None:
    assert list(routes()) == [
        "/networks/be/deliveries",
        "/networks/de/deliveries",
        "/networks/it/deliveries",
    ]


async def test_without_the_network_key_nothing_is_taken() -> None:
    keyless = await call("POST", content=b"<x/>", headers={"Content-Type": "text/xml"})
    assert (keyless.status_code, keyless.json()) == (401, {"error": "no valid network key"})
    wrong = await call("POST", content=b"<x/>", headers={"Authorization": "Bearer other"})
    assert wrong.status_code == 401
    basic = await call("POST", content=b"<x/>", headers={"Authorization": f"Basic {KEY}"})
    assert basic.status_code == 401


async def test_a_get_is_not_a_delivery() -> None:
    answer = await call("GET", headers={"Authorization": f"Bearer {KEY}"})
    assert (answer.status_code, answer.json()) == (405, {"error": "POST a delivery here"})


async def test_a_request_the_channel_refuses_is_answered_in_sdis_terms() -> None:
    answer = await call(
        "POST",
        content=b"<x/>",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "text/xml"},
    )
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    assert b"<faultstring>the message is x, not a SOAP 1.1 Envelope</faultstring>" in answer.content

"""The simulators' side of X-Clearway-Sandbox-Scenario, in process with a fake clock: each
scenario misbehaves for a document's (or an invoice's) first calls, then lets it through."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request
from lxml import etree

from services.govsim.faults import FaultKind, ScenarioPlays
from services.govsim.ro.api import AnafSimulator
from tests.services.govsim.ro.test_anaf_sim import (
    BUCHAREST_NOON,
    REST,
    SELLER_CIF,
    access_token_via_oauth,
    bearer,
    invoice_xml,
)
from tests.services.govsim.simtools import FakeClock, govsim_client

UPLOAD_NS = {"r": "mfp:anaf:dgti:spv:respUploadFisier:v1"}


@pytest.fixture
def simulator() -> AnafSimulator:
    return AnafSimulator(
        client_id="clearway-sandbox",
        client_secret="clearway-sandbox-secret",  # noqa: S106 - the simulator's default
        processing_delay=2.0,
        clock=FakeClock(BUCHAREST_NOON),
    )


@pytest.fixture
async def client(simulator: AnafSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with govsim_client(anaf=simulator) as http:
        yield http


async def _upload(
    client: httpx.AsyncClient, token: str, scenario: str, body: bytes
) -> httpx.Response:
    return await client.post(
        f"{REST}/upload",
        params={"standard": "UBL", "cif": SELLER_CIF},
        content=body,
        headers={
            **bearer(token),
            "Content-Type": "text/plain",
            "X-Clearway-Sandbox-Scenario": scenario,
        },
    )


async def test_transient_error_fails_a_document_twice_then_takes_it(
    client: httpx.AsyncClient, simulator: AnafSimulator
) -> None:
    token = await access_token_via_oauth(client)
    body = invoice_xml()
    statuses = [
        (await _upload(client, token, "transient_error", body)).status_code for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert len(simulator.all_messages()) == 1


async def test_timeout_registers_the_first_upload_and_loses_its_answer(
    client: httpx.AsyncClient, simulator: AnafSimulator
) -> None:
    token = await access_token_via_oauth(client)
    lost = await _upload(client, token, "timeout", invoice_xml())
    assert lost.status_code == 504
    assert len(simulator.all_messages()) == 1  # registered all the same


async def test_rate_limited_answers_429_with_retry_after_once(client: httpx.AsyncClient) -> None:
    token = await access_token_via_oauth(client)
    body = invoice_xml()
    first = await _upload(client, token, "rate_limited", body)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert (await _upload(client, token, "rate_limited", body)).status_code == 200


async def test_token_expired_expires_the_presented_token(client: httpx.AsyncClient) -> None:
    token = await access_token_via_oauth(client)
    refused = await _upload(client, token, "token_expired", invoice_xml())
    assert refused.status_code == 401
    later = await client.get(
        f"{REST}/stareMesaj", params={"id_incarcare": "1"}, headers=bearer(token)
    )
    assert later.status_code == 401  # the token itself is dead now


async def test_reject_is_decided_nok_with_a_br_ro_rule(
    client: httpx.AsyncClient, simulator: AnafSimulator
) -> None:
    token = await access_token_via_oauth(client)
    answer = await _upload(client, token, "reject", invoice_xml())
    index = etree.fromstring(answer.content).get("index_incarcare")
    assert index is not None
    [message] = [m for m in simulator.all_messages() if str(m.index) == index]
    simulator.decide_now(message.index)
    assert message.state.value == "nok"
    assert message.errors[0].startswith("[BR-RO-101]")


def test_the_other_simulators_play_scenarios_per_invoice() -> None:
    plays = ScenarioPlays()

    def call(scenario: str, invoice: str) -> FaultKind | None:
        scope = {
            "type": "http",
            "headers": [
                (b"x-clearway-sandbox-scenario", scenario.encode()),
                (b"x-clearway-invoice-id", invoice.encode()),
            ],
        }
        fault, _ = plays.fault_for(Request(scope))
        return fault.kind if fault else None

    assert [call("transient_error", "inv_1") for _ in range(3)] == [
        FaultKind.HTTP_503,
        FaultKind.HTTP_503,
        None,
    ]
    assert call("transient_error", "inv_2") is FaultKind.HTTP_503  # counted per invoice
    assert [call("timeout", "inv_3") for _ in range(2)] == [FaultKind.LOST_RESPONSE, None]
    assert call("reject", "inv_4") is None  # the country's own routes play that one

"""POST /v1/received-invoices/:id/response against real PostgreSQL, without the stack: the
intake's received-invoice routers, authentication and errors in an app of their own over
store_db. A response is recorded once (its event on the received invoice's stream, its message
on `invoices.received`, the schedule row the receiver sends from); a second is a 409 naming the
first; bad bodies, another account's invoice and a network without a buyer's response (RO, PL)
are refused, changing nothing; X-Idempotency-Key replays the first answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_api_key
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.store.received_events import read_received_stream, start_received_stream
from clearway.store.received_responses import response_row

from services.intake import responses
from tests.conftest import data_of, error_of
from tests.libs.store.received import new_received, receiving_connection
from tests.services.intake.test_received_invoices_api import received_app

pytestmark = [pytest.mark.postgres]


class _Relay:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


@dataclass
class Buyer:
    client: httpx.AsyncClient
    pool: asyncpg.Pool[Any]
    account_id: str
    received: dict[str, str]  # country → a received invoice's id


@pytest_asyncio.fixture
async def buyer(store_db: asyncpg.Pool[Any]) -> AsyncIterator[Buyer]:
    """An account with one received invoice from each of FR, RO and PL, and a client with its
    sandbox key."""
    received: dict[str, str] = {}
    async with store_db.acquire() as conn:
        first = await receiving_connection(conn, "FR")
        for country in ("FR", "RO", "PL"):
            receiving = first if country == "FR" else await receiving_connection(conn, country)
            if country != "FR":  # every invoice in the one account
                receiving = type(first)(
                    first.account_id, receiving.company_id, receiving.connection_id, country
                )
            ref = receiving.ref()
            assert await start_received_stream(conn, ref, new_received(f"{country}-1"))
            received[country] = ref.received_id
        key = await create_api_key(conn, first.account_id, "test")
    app = received_app(store_db)
    app.include_router(responses.router)
    app.state.relay = _Relay()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://intake", headers={"Authorization": f"Bearer {key}"}
    ) as client:
        yield Buyer(client, store_db, first.account_id, received)


def _path(received_id: str) -> str:
    return f"/v1/received-invoices/{received_id}/response"


async def _outbox(pool: asyncpg.Pool[Any], received_id: str) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM outbox WHERE topic = $1 AND key = $2 ORDER BY id",
            INVOICES_RECEIVED,
            received_id,
        )
    return [row["payload"] for row in rows]


async def test_a_rejection_is_recorded_with_its_event_and_message_and_shown_as_requested(
    buyer: Buyer,
) -> None:
    received_id = buyer.received["FR"]
    body = {"decision": "reject", "reason": "Quantités différentes de la commande"}

    answer = await buyer.client.post(_path(received_id), json=body)
    one = await buyer.client.get(f"/v1/received-invoices/{received_id}")
    events = await buyer.client.get(f"/v1/received-invoices/{received_id}/events")

    response = data_of(answer, 202)["response"]
    assert (response["decision"], response["reason"], response["status"]) == (
        "reject",
        "Quantités différentes de la commande",
        "requested",
    )
    assert (response["receipt"], response["failure"]) == (None, None)
    assert data_of(one)["response"] == response
    timeline = data_of(events)
    assert [e["event"] for e in timeline] == ["invoice.received", "invoice.response_requested"]
    assert timeline[1]["metadata"]["decision"] == "reject"
    assert "205 Approuvée, 210 Refusée" in timeline[1]["metadata"]["via"]
    messages = await _outbox(buyer.pool, received_id)
    assert [m["event"] for m in messages] == ["invoice.received", "invoice.response_requested"]
    assert messages[1]["metadata"]["reason"] == "Quantités différentes de la commande"
    assert messages[1]["version"] == 2


async def test_a_second_response_is_a_409_naming_the_first_and_changes_nothing(
    buyer: Buyer,
) -> None:
    received_id = buyer.received["FR"]
    await buyer.client.post(_path(received_id), json={"decision": "accept"})

    second = await buyer.client.post(_path(received_id), json={"decision": "reject", "reason": "x"})

    error = error_of(second, 409)
    assert error["type"] == "conflict_error"
    assert "already has a response: accept" in error["message"]
    async with buyer.pool.acquire() as conn:
        assert (await response_row(conn, received_id))["decision"] == "accept"
        assert len(await read_received_stream(conn, received_id)) == 2


async def test_an_ro_response_is_recorded_as_a_rasp_message_to_send(buyer: Buyer) -> None:
    received_id = buyer.received["RO"]

    answer = await buyer.client.post(_path(received_id), json={"decision": "accept"})

    assert data_of(answer, 202)["response"]["status"] == "requested"
    events = data_of(await buyer.client.get(f"/v1/received-invoices/{received_id}/events"))
    assert "RASP message" in events[1]["metadata"]["via"]


async def test_a_network_without_a_buyers_response_refuses_it_and_nothing_changes(
    buyer: Buyer,
) -> None:
    received_id, network = buyer.received["PL"], "KSeF"

    answer = await buyer.client.post(_path(received_id), json={"decision": "accept"})

    error = error_of(answer, 400)
    assert error["type"] == "invalid_request_error"
    assert error["errors"][0]["code"] == "response_not_available"
    assert error["message"].startswith(network)
    async with buyer.pool.acquire() as conn:
        assert await response_row(conn, received_id) is None
        assert len(await read_received_stream(conn, received_id)) == 1
    assert len(await _outbox(buyer.pool, received_id)) == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"decision": "reject"}, None),  # a rejection says why
        ({"decision": "reject", "reason": "   "}, "/reason"),  # says nothing
        ({"decision": "reject", "reason": "x" * 256}, "/reason"),
        ({"decision": "maybe"}, "/decision"),
        ({"decision": "accept", "extra": 1}, "/extra"),
        ({}, "/decision"),
    ],
)
async def test_bad_bodies_are_400_validation_errors_naming_the_field(
    buyer: Buyer, body: dict[str, Any], param: str | None
) -> None:
    received_id = buyer.received["FR"]

    error = error_of(await buyer.client.post(_path(received_id), json=body), 400)

    assert error["type"] == "validation_error"
    assert error.get("param") == param
    async with buyer.pool.acquire() as conn:
        assert await response_row(conn, received_id) is None


async def test_not_json_is_a_400(buyer: Buyer) -> None:
    answer = await buyer.client.post(_path(buyer.received["FR"]), content=b"{decision")
    assert error_of(answer, 400)["message"] == "The request body is not valid JSON."


async def test_another_accounts_or_modes_invoice_and_an_unknown_one_are_404(
    buyer: Buyer,
) -> None:
    async with buyer.pool.acquire() as conn:
        other = await receiving_connection(conn, "FR")
        other_key = await create_api_key(conn, other.account_id, "test")
        live_key = await create_api_key(conn, buyer.account_id, "live")
    received_id = buyer.received["FR"]
    for key in (other_key, live_key):
        answer = await buyer.client.post(
            _path(received_id),
            json={"decision": "accept"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert error_of(answer, 404)["param"] == "/id"
    assert error_of(await buyer.client.post(_path("rinv_none"), json={"decision": "accept"}), 404)
    async with buyer.pool.acquire() as conn:
        assert await response_row(conn, received_id) is None


async def test_the_same_idempotency_key_replays_the_first_answer_and_another_body_is_409(
    buyer: Buyer,
) -> None:
    received_id = buyer.received["FR"]
    key = {"X-Idempotency-Key": "order-42-response"}

    first = await buyer.client.post(_path(received_id), json={"decision": "accept"}, headers=key)
    again = await buyer.client.post(_path(received_id), json={"decision": "accept"}, headers=key)
    other = await buyer.client.post(
        _path(received_id), json={"decision": "reject", "reason": "x"}, headers=key
    )

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert error_of(other, 409)["param"] == "/X-Idempotency-Key"
    async with buyer.pool.acquire() as conn:
        assert len(await read_received_stream(conn, received_id)) == 2

"""The responding machine against real PostgreSQL (store_db: no service reads it) with an
in-memory Responder: a response is sent once and ends `invoice.response_sent` with the
network's receipt; a refusal ends it `invoice.response_failed` with the network's words; a
transient failure is tried again after the backoff, told how many attempts failed, and fails
once the attempts are spent; an ended response is never claimed, so never sent, again."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

import asyncpg
import pytest
from clearway.connectors.calls import GovernmentRefusedError, GovernmentUnavailableError
from clearway.domain.responses import BuyerResponse, ResponseReceipt, ResponseStatus
from clearway.pipeline.responding import RespondingMachine, RespondingTimings
from clearway.resilience.backoff import Backoff
from clearway.store.received_events import read_received_stream, start_received_stream
from clearway.store.received_responses import claim_due, request_response, response_row

from tests.libs.store.received import new_received, own_country, receiving_connection

pytestmark = [pytest.mark.postgres]

REJECT = BuyerResponse.model_validate({"decision": "reject", "reason": "Wrong prices"})


class MemoryResponder:
    """Answers each attempt with the next of `answers` (a receipt, or an exception raised)."""

    def __init__(self, *answers: ResponseReceipt | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[BuyerResponse, int]] = []

    async def respond(self, response: BuyerResponse, *, attempts: int) -> ResponseReceipt:
        self.sent.append((response, attempts))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def _requested(pool: asyncpg.Pool[Any], country: str) -> str:
    async with pool.acquire() as conn:
        receiving = await receiving_connection(conn, country)
        ref = receiving.ref()
        assert await start_received_stream(conn, ref, new_received("flow-1"))
        assert await request_response(conn, ref.received_id, REJECT, via="test network")
    return ref.received_id


def _machine(
    pool: asyncpg.Pool[Any], country: str, responder: MemoryResponder, *, attempts: int = 3
) -> RespondingMachine:
    def responder_for(row: Mapping[str, Any]) -> MemoryResponder:
        assert row["document"] == b"<Invoice/>"  # the responder gets the stored document
        return responder

    return RespondingMachine(
        pool,
        countries=[country],
        responder_for=responder_for,
        timings=RespondingTimings(
            lease=dt.timedelta(seconds=60),
            # No pause: a transient failure is due again at once, so the test sees the retry.
            backoff=Backoff(base=0.0, cap=0.0, max_attempts=attempts),
        ),
        rng=random.Random(1),  # noqa: S311 - jitter, replayed: not a secret
    )


async def _timeline(pool: asyncpg.Pool[Any], received_id: str) -> list[tuple[str, Any]]:
    async with pool.acquire() as conn:
        events = await read_received_stream(conn, received_id)
    return [(e.type, e.causation_id) for e in events]


async def test_a_response_is_sent_once_and_ends_sent_with_the_networks_receipt(
    store_db: asyncpg.Pool[Any],
) -> None:
    country = own_country()
    received_id = await _requested(store_db, country)
    responder = MemoryResponder(ResponseReceipt(network_id="n-1", details={"code": 210}))
    machine = _machine(store_db, country, responder)

    assert await machine.respond_due() == 1
    assert await machine.respond_due() == 0  # ended: never claimed again

    assert responder.sent == [(REJECT, 0)]
    async with store_db.acquire() as conn:
        row = await response_row(conn, received_id)
        events = await read_received_stream(conn, received_id)
    assert (row["status"], row["receipt"]) == ("sent", {"networkId": "n-1", "code": 210})
    assert [e.type for e in events] == [
        "invoice.received",
        "invoice.response_requested",
        "invoice.response_sent",
    ]
    assert events[2].causation_id == events[1].id  # caused by the request
    assert events[2].metadata == {
        "decision": "reject",
        "reason": "Wrong prices",
        "networkId": "n-1",
        "code": 210,
    }


async def test_the_networks_refusal_ends_it_failed_with_the_networks_words(
    store_db: asyncpg.Pool[Any],
) -> None:
    country = own_country()
    received_id = await _requested(store_db, country)
    machine = _machine(store_db, country, MemoryResponder(GovernmentRefusedError("SE: scarto")))

    await machine.respond_due()

    async with store_db.acquire() as conn:
        row = await response_row(conn, received_id)
        events = await read_received_stream(conn, received_id)
    assert (row["status"], row["failure"]) == ("failed", "SE: scarto")
    assert events[-1].type == "invoice.response_failed"
    assert events[-1].metadata is not None
    assert events[-1].metadata["failure"] == "SE: scarto"


async def test_a_transient_failure_is_tried_again_told_of_it_then_sent(
    store_db: asyncpg.Pool[Any],
) -> None:
    country = own_country()
    received_id = await _requested(store_db, country)
    responder = MemoryResponder(
        GovernmentUnavailableError("503 from the PA"), ResponseReceipt(network_id="n-2")
    )
    machine = _machine(store_db, country, responder)

    await machine.respond_due()
    async with store_db.acquire() as conn:
        between = await response_row(conn, received_id)
    await machine.respond_due()

    assert (between["status"], between["attempts"]) == ("requested", 1)
    assert "503 from the PA" in between["last_error"]
    assert [attempts for _, attempts in responder.sent] == [0, 1]
    timeline = await _timeline(store_db, received_id)
    assert [t for t, _ in timeline][-1] == "invoice.response_sent"
    assert len(timeline) == 3


async def test_transient_failures_past_the_attempts_end_it_failed(
    store_db: asyncpg.Pool[Any],
) -> None:
    country = own_country()
    received_id = await _requested(store_db, country)
    down = [GovernmentUnavailableError("down") for _ in range(2)]
    machine = _machine(store_db, country, MemoryResponder(*down), attempts=2)

    assert await machine.respond(await _claim(store_db, country)) is ResponseStatus.REQUESTED
    assert await machine.respond(await _claim(store_db, country)) is ResponseStatus.FAILED

    async with store_db.acquire() as conn:
        row = await response_row(conn, received_id)
    assert row["status"] == "failed"
    assert row["failure"].startswith("gave up after 2 attempts: GovernmentUnavailableError: down")


async def test_throttles_are_no_failed_attempts_and_the_response_is_sent_after_them(
    store_db: asyncpg.Pool[Any],
) -> None:
    country = own_country()
    received_id = await _requested(store_db, country)
    # More throttles than the attempts allowed: the network (or Clearway's own count of its
    # limits) said when, and nothing was sent each time.
    throttles = [GovernmentUnavailableError("the call limit", retry_after=0.0) for _ in range(3)]
    responder = MemoryResponder(*throttles, ResponseReceipt(network_id="n-4"))
    machine = _machine(store_db, country, responder, attempts=2)

    for _ in range(3):
        assert await machine.respond(await _claim(store_db, country)) is ResponseStatus.REQUESTED
    assert await machine.respond(await _claim(store_db, country)) is ResponseStatus.SENT

    async with store_db.acquire() as conn:
        row = await response_row(conn, received_id)
    assert (row["status"], row["attempts"]) == ("sent", 0)
    assert [attempts for _, attempts in responder.sent] == [0, 0, 0, 0]


async def test_an_ending_under_a_lost_lease_writes_nothing(store_db: asyncpg.Pool[Any]) -> None:
    country = own_country()
    received_id = await _requested(store_db, country)
    stale = await _claim(store_db, country)
    async with store_db.acquire() as conn:  # the lease lapsed and another responder took it
        await conn.execute(
            "UPDATE received_responses SET lease_owner = 'other' WHERE received_invoice_id = $1",
            received_id,
        )
    machine = _machine(store_db, country, MemoryResponder(ResponseReceipt(network_id="n")))

    await machine.respond(stale)

    async with store_db.acquire() as conn:
        assert (await response_row(conn, received_id))["status"] == "requested"
    assert len(await _timeline(store_db, received_id)) == 2


async def _claim(pool: asyncpg.Pool[Any], country: str) -> Any:
    async with pool.acquire() as conn:
        (claim,) = await claim_due(
            conn, countries=[country], owner="me", lease=dt.timedelta(seconds=60), limit=5
        )
    return claim


async def test_a_second_request_for_the_same_invoice_records_nothing(
    store_db: asyncpg.Pool[Any],
) -> None:
    country = own_country()
    received_id = await _requested(store_db, country)
    async with store_db.acquire() as conn:
        again = await request_response(conn, received_id, REJECT, via="test network")
    assert again is None
    assert len(await _timeline(store_db, received_id)) == 2

"""Receiving what a network pushes, without the stack: PushedReceiving with a channel of a
country of its own (each government's real channel is tested with its simulator, in its
folder's tests) against real PostgreSQL, and the network key's mode. The `receiving`
connection (tests/libs/conftest.py) is its company's, whose VAT number is RO987."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from clearway.governments.pushed import (
    DeliveryRefusedError,
    NetworkAnswer,
    PushedDelivery,
)
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.pipeline.pushed import PushedReceiving
from clearway.pipeline.reading import NOT_READ_RULE, not_read_yet

from services.receiver.networks import mode_of
from tests.libs.store.received import Receiving, delivery


class JsonChannel:
    """A network that pushes `{"to": <VAT number>, "id": <its id>}` and answers in JSON."""

    def take(self, body: bytes, media_type: str) -> PushedDelivery:
        if media_type != "application/json":
            raise DeliveryRefusedError(f"not a delivery: {media_type}")
        fields = json.loads(body)
        return PushedDelivery("vat_number", fields["to"], delivery(fields["id"]))

    def received(self, pushed: PushedDelivery, received_id: str) -> NetworkAnswer:
        body = {"receipt": received_id, "for": pushed.delivery.government_id}
        return NetworkAnswer(200, json.dumps(body).encode(), "application/json")

    def refused(self, reason: str) -> NetworkAnswer:
        return NetworkAnswer(400, json.dumps({"refused": reason}).encode(), "application/json")


def push(to: str, government_id: str) -> bytes:
    return json.dumps({"to": to, "id": government_id}).encode()


async def _recorded(pool: asyncpg.Pool[Any], receiving: Receiving) -> list[Any]:
    return list(
        await pool.fetch(
            "SELECT r.*, (SELECT count(*) FROM events e WHERE e.stream_id = r.id) AS events, "
            "(SELECT count(*) FROM outbox o WHERE o.key = r.id AND o.topic = $2) AS messages "
            "FROM received_invoices r WHERE r.connection_id = $1",
            receiving.connection_id,
            INVOICES_RECEIVED,
        )
    )


@pytest.mark.postgres
async def test_a_pushed_delivery_is_recorded_once_and_a_retry_gets_the_same_receipt(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    woken: list[bool] = []
    taking = PushedReceiving(store_db, read=not_read_yet, recorded=lambda: woken.append(True))
    channel = JsonChannel()

    # The network names the company as it writes VAT numbers: case and spaces do not matter.
    first = await taking.take(
        receiving.country, channel, push("ro 987", "SDI-1"), "application/json", livemode=False
    )
    again = await taking.take(
        receiving.country, channel, push("RO987", "SDI-1"), "application/json", livemode=False
    )

    assert first.status == again.status == 200
    assert first.body == again.body  # the network's retry is answered with the same receipt
    [row] = await _recorded(store_db, receiving)
    assert json.loads(first.body) == {"receipt": row["id"], "for": "SDI-1"}
    assert (row["government_id"], row["document"], row["evidence"]) == (
        "SDI-1",
        b"<Invoice/>",
        b"<Signature/>",
    )
    assert (row["events"], row["messages"]) == (1, 1)
    assert [finding["rule"] for finding in row["findings"]] == [NOT_READ_RULE]
    assert woken == [True]  # the relay is woken for the new delivery only


@pytest.mark.postgres
async def test_a_push_the_channel_refuses_or_for_no_company_here_records_nothing(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    taking = PushedReceiving(store_db, read=not_read_yet)
    channel = JsonChannel()

    malformed = await taking.take(
        receiving.country, channel, b"<xml/>", "application/xml", livemode=False
    )
    stranger = await taking.take(
        receiving.country, channel, push("RO111", "SDI-2"), "application/json", livemode=False
    )
    # The company receives in the sandbox: a live delivery for it finds no company.
    live = await taking.take(
        receiving.country, channel, push("RO987", "SDI-3"), "application/json", livemode=True
    )

    assert (malformed.status, json.loads(malformed.body)) == (
        400,
        {"refused": "not a delivery: application/xml"},
    )
    assert json.loads(stranger.body) == {"refused": "no company receives for RO111 here"}
    assert json.loads(live.body) == {"refused": "no company receives for RO987 here"}
    assert await _recorded(store_db, receiving) == []


@pytest.mark.postgres
async def test_a_document_the_reader_cannot_read_is_still_received_with_a_finding(
    store_db: asyncpg.Pool[Any], receiving: Receiving
) -> None:
    def breaks(*_: Any, **__: Any) -> Any:
        raise ValueError("a reader's bug")

    taking = PushedReceiving(store_db, read=breaks)
    answer = await taking.take(
        receiving.country, JsonChannel(), push("RO987", "SDI-4"), "application/json", livemode=False
    )

    assert answer.status == 200
    [row] = await _recorded(store_db, receiving)
    assert row["request"] is None
    assert "a reader's bug" in json.dumps(row["findings"])


def test_the_network_key_says_the_mode_and_nothing_else_gets_in() -> None:
    keys = {"sandbox_key": "sand-key", "live_key": "live-key"}
    assert mode_of("Bearer sand-key", **keys) is False
    assert mode_of("bearer live-key", **keys) is True
    for wrong in ("Bearer other", "Basic sand-key", "sand-key", "Bearer ", ""):
        assert mode_of(wrong, **keys) is None
    # A mode with no key configured takes nothing, not even an empty key.
    assert mode_of("Bearer ", sandbox_key="", live_key="") is None
    assert mode_of("Bearer live-key", sandbox_key="sand-key", live_key="") is None

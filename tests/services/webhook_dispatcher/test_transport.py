"""The client webhooks leave through: the address guard after resolution, no redirects, a
bounded answer, the timeout. Against the tests' receiver on 127.0.0.1, no stack needed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from clearway.webhooks.addresses import AddressPolicy

from services.webhook_dispatcher.transport import Sender, guarded_client
from tests.services.webhook_dispatcher.webhooktools import (
    Answer,
    Receiver,
    in_turn,
    running_receiver,
)

SANDBOX = AddressPolicy.from_config("127.0.0.0/8")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


def _sender(policy: AddressPolicy, timeout: float = 2.0) -> Sender:
    return Sender(guarded_client(policy, max_connections=8), timeout_seconds=timeout)


async def test_loopback_is_refused_unless_allow_listed(receiver: Receiver) -> None:
    url = receiver.route()
    refused = await _sender(AddressPolicy()).post(url, {}, b"{}")
    assert refused.http_status is None
    assert refused.error == (
        "refused: 127.0.0.1 is a loopback address; webhooks go to public addresses only"
    )
    assert receiver.requests(url) == []

    allowed = await _sender(SANDBOX).post(url, {"webhook-id": "msg_1"}, b'{"a":1}')
    assert allowed.succeeded
    [request] = receiver.requests(url)
    assert request.body == b'{"a":1}'
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_1"


@pytest.mark.parametrize(
    ("host", "resolved"),
    [
        ("localhost", "127.0.0.1"),  # a name, judged by what it resolves to
        ("2130706433", "127.0.0.1"),  # 127.0.0.1 written as one number
        ("0x7f.0.0.1", "127.0.0.1"),  # and in hexadecimal
    ],
)
async def test_names_are_judged_after_resolution(
    receiver: Receiver, host: str, resolved: str
) -> None:
    url = receiver.route().replace("127.0.0.1", host)
    result = await _sender(AddressPolicy()).post(url, {}, b"{}")
    assert result.error is not None
    assert result.error.startswith(f"refused: {resolved} is a loopback address")
    assert receiver.requests(url) == []


async def test_metadata_and_private_addresses_are_refused_without_connecting() -> None:
    sender = _sender(SANDBOX)
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://[::1]/"):
        started = time.monotonic()
        result = await sender.post(url, {}, b"{}")
        assert result.error is not None
        assert result.error.startswith("refused: ")
        assert time.monotonic() - started < 0.5


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    target = receiver.route()
    url = receiver.route(in_turn([Answer(302, {"Location": target})]))
    result = await _sender(SANDBOX).post(url, {}, b"{}")
    assert not result.succeeded
    assert result.http_status == 302
    assert result.error == "HTTP 302: redirects are not followed"
    assert receiver.requests(target) == []


async def test_a_huge_answer_is_read_only_up_to_the_limit(receiver: Receiver) -> None:
    url = receiver.route(in_turn([Answer(200, body=b"x" * (20 * 1024 * 1024))]))
    result = await _sender(SANDBOX).post(url, {}, b"{}")
    assert result.succeeded
    assert result.response_body == "x" * 1024


async def test_no_answer_within_the_timeout_fails_the_attempt(receiver: Receiver) -> None:
    url = receiver.route(in_turn([Answer(200, delay=5)]))
    started = time.monotonic()
    result = await _sender(SANDBOX, timeout=0.5).post(url, {}, b"{}")
    assert time.monotonic() - started < 1.5
    assert result.error == "no answer within 0.5 s"
    assert 450 <= result.duration_ms < 1500


async def test_retry_after_is_read_on_429_and_503(receiver: Receiver) -> None:
    url = receiver.route(
        in_turn(
            [
                Answer(429, {"Retry-After": "7"}),
                Answer(503, {"Retry-After": "3"}),
                Answer(500, {"Retry-After": "3"}),
            ]
        )
    )
    sender = _sender(SANDBOX)
    first, second, third = [await sender.post(url, {}, b"{}") for _ in range(3)]
    assert (first.http_status, first.retry_after) == (429, 7)
    assert (second.http_status, second.retry_after) == (503, 3)
    assert (third.http_status, third.retry_after) == (500, None)

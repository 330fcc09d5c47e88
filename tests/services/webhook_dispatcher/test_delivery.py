"""The webhook-dispatcher in the running stack: the seed invoice's events arrive signed and in
order, retries keep the schedule (shortened by the tests' WEBHOOK_RETRY_SCHEDULE, 0.3/0.6/1.2 s),
Retry-After and 410 are honoured, a dead endpoint slows no other, and both secrets sign during a
rotation. (A killed dispatcher: tests/services/test_killed_mid_flight.py.)"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.messaging.topics import CONNECTION_EVENTS
from clearway.store.outbox import OutboxMessage, enqueue

from tests.conftest import ACCEPTED_EVENTS, WEBHOOK_TEST_ENV, MakeAccount, WaitFinal
from tests.services.webhook_dispatcher.webhooktools import (
    Answer,
    Receiver,
    about,
    answer,
    connection_expired,
    create_endpoint,
    in_turn,
    never,
    routed_endpoint,
    running_receiver,
    send_test_event,
    signature_is_valid,
    sole_endpoint,
    wait_for_delivery,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

SCHEDULE = [float(pause) for pause in WEBHOOK_TEST_ENV["WEBHOOK_RETRY_SCHEDULE"].split(",")]
TIMEOUT = float(WEBHOOK_TEST_ENV["WEBHOOK_TIMEOUT_SECONDS"])
DISABLE_AFTER = float(WEBHOOK_TEST_ENV["WEBHOOK_DISABLE_AFTER_SECONDS"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def test_the_seed_invoice_lifecycle_arrives_signed_and_in_version_order(
    api: httpx.AsyncClient,
    seed_invoice: dict[str, Any],
    wait_final: WaitFinal,
    receiver: Receiver,
) -> None:
    url, endpoint = await sole_endpoint(api, receiver)
    try:
        created = await api.post("/v1/invoices", json=seed_invoice)
        assert created.status_code == 201, created.text
        invoice_id = created.json()["data"]["id"]
        invoice = await wait_final(invoice_id)
        assert invoice["status"] == "accepted"
        timeline = (await api.get(f"/v1/invoices/{invoice_id}/events")).json()["data"]
        assert len(timeline) == 4

        received = await receiver.wait_for(url, 4, matching=about(invoice_id))
        assert len(receiver.requests(url, matching=about(invoice_id))) == 4
        assert all(signature_is_valid(r, endpoint["secret"]) for r in received)
        bodies = [r.json() for r in received]
        assert [b["type"] for b in bodies] == ACCEPTED_EVENTS
        assert [b["data"]["version"] for b in bodies] == [1, 2, 3, 4]
        assert [b["id"] for b in bodies] == [event["id"] for event in timeline]
        assert len({r.webhook_id for r in received}) == 4
        accepted = bodies[-1]
        assert accepted["data"]["externalId"] == "order-12345"
        assert accepted["data"]["govId"] == invoice["govId"]
        assert accepted["data"]["status"] == "accepted"
        assert accepted["data"]["errors"] == []
        assert accepted["data"]["timestamp"] == timeline[-1]["createdAt"] == accepted["timestamp"]
        assert accepted["data"]["eventMetadata"] == timeline[-1]["metadata"]
        assert accepted["livemode"] is False
    finally:
        await api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")


async def test_only_the_subscribed_events_are_sent(
    api: httpx.AsyncClient,
    seed_invoice: dict[str, Any],
    wait_final: WaitFinal,
    receiver: Receiver,
) -> None:
    url, endpoint = await sole_endpoint(api, receiver, ["invoice.accepted", "invoice.rejected"])
    try:
        created = await api.post("/v1/invoices", json=seed_invoice)
        invoice_id = created.json()["data"]["id"]
        await wait_final(invoice_id)
        await receiver.wait_for(url, 1, matching=about(invoice_id))
        await asyncio.sleep(0.5)
        mine = [r.json() for r in receiver.requests(url, matching=about(invoice_id))]
        assert [b["type"] for b in mine] == ["invoice.accepted"]
    finally:
        await api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")


async def test_retries_follow_the_schedule_then_dead_letter(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url, endpoint = await routed_endpoint(client, receiver, answer(500))
    queued = await send_test_event(client, endpoint["id"])

    attempts = await receiver.wait_for(url, len(SCHEDULE) + 1)
    gaps = [later.arrived - earlier.arrived for earlier, later in itertools.pairwise(attempts)]
    for gap, pause in zip(gaps, SCHEDULE, strict=True):
        assert pause - 0.05 <= gap <= pause + 0.6, (gaps, SCHEDULE)
    assert {a.webhook_id for a in attempts} == {queued["webhookId"]}
    assert len({a.body for a in attempts}) == 1
    assert all(signature_is_valid(a, endpoint["secret"]) for a in attempts)

    dead = await wait_for_delivery(client, endpoint["id"], lambda d: d["status"] == "dead")
    assert dead["attemptCount"] == len(SCHEDULE) + 1
    assert dead["nextAttemptAt"] is None
    assert [a["httpStatus"] for a in dead["attempts"]] == [500] * (len(SCHEDULE) + 1)
    assert all(a["error"] == "HTTP 500" for a in dead["attempts"])
    retry_times = [a["nextRetryAt"] for a in dead["attempts"]]
    assert all(retry_times[:-1])
    assert retry_times[-1] is None
    await asyncio.sleep(SCHEDULE[-1] + 0.5)
    assert len(receiver.requests(url)) == len(SCHEDULE) + 1  # nothing after the last


async def test_retry_after_is_honoured(client: httpx.AsyncClient, receiver: Receiver) -> None:
    url, endpoint = await routed_endpoint(
        client, receiver, in_turn([Answer(429, {"Retry-After": "2"})])
    )
    await send_test_event(client, endpoint["id"])
    first, second = await receiver.wait_for(url, 2)
    assert second.arrived - first.arrived >= 2 - 0.05  # the schedule alone says 0.3 s
    done = await wait_for_delivery(client, endpoint["id"], lambda d: d["status"] == "delivered")
    assert [a["httpStatus"] for a in done["attempts"]] == [429, 200]


async def test_410_disables_the_endpoint_and_notifies_the_others(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    gone, endpoint = await routed_endpoint(client, receiver, answer(410))
    watcher = receiver.route()
    notices = await create_endpoint(client, watcher, ["webhook_endpoint.disabled"])
    await send_test_event(client, endpoint["id"])
    [notice] = await receiver.wait_for(watcher, 1)
    assert signature_is_valid(notice, notices["secret"])
    body = notice.json()
    assert body["type"] == "webhook_endpoint.disabled"
    assert body["data"]["endpointId"] == endpoint["id"]
    assert body["data"]["reason"] == "The endpoint answered 410 Gone."
    shown = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()["data"]
    assert shown["status"] == "disabled"
    assert shown["disabledReason"] == "The endpoint answered 410 Gone."
    await asyncio.sleep(SCHEDULE[0] + 0.5)
    assert len(receiver.requests(gone)) == 1  # no retry to a disabled endpoint


async def test_an_endpoint_failing_for_the_whole_window_is_disabled(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    failing, endpoint = await routed_endpoint(client, receiver, answer(503))
    watcher = receiver.route()
    await create_endpoint(client, watcher, ["webhook_endpoint.disabled"])
    await send_test_event(client, endpoint["id"])
    first = (await receiver.wait_for(failing, 1))[0]
    await wait_for_delivery(client, endpoint["id"], lambda d: d["status"] == "dead")
    shown = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()["data"]
    assert shown["status"] == "enabled"
    assert shown["failingSince"] is not None

    await asyncio.sleep(max(DISABLE_AFTER - (time.monotonic() - first.arrived), 0) + 0.2)
    await send_test_event(client, endpoint["id"])
    [notice] = await receiver.wait_for(watcher, 1)
    assert notice.json()["data"]["reason"].startswith("Every attempt has failed since")
    shown = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()["data"]
    assert shown["status"] == "disabled"


async def test_a_dead_endpoint_does_not_slow_a_healthy_one(
    make_account: MakeAccount, receiver: Receiver
) -> None:
    _, client = await make_account()
    _, other_account = await make_account()
    dead_url, dead = await routed_endpoint(client, receiver, never)
    healthy = [
        (client, await create_endpoint(client, receiver.route())),
        (other_account, await create_endpoint(other_account, receiver.route())),
    ]
    for _ in range(12):  # three times what the dead endpoint may hold in flight
        await send_test_event(client, dead["id"])
    await receiver.wait_for(dead_url, 4)

    latencies: list[float] = []
    for owner, endpoint in healthy:
        for n in range(5):
            sent = time.monotonic()
            await send_test_event(owner, endpoint["id"])
            [arrived] = (await receiver.wait_for(endpoint["url"], n + 1))[n:]
            latencies.append(arrived.arrived - sent)
    # Each went out at once, while the dead endpoint's requests were all hanging.
    assert max(latencies) < TIMEOUT / 2, latencies
    dead_path = "/" + dead_url.split("/", 3)[3]
    assert receiver.most_in_flight[dead_path] == 4  # the per-endpoint cap, never more


async def test_both_secrets_sign_during_a_rotation(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url, endpoint = await routed_endpoint(client, receiver)
    old_secret = endpoint["secret"]
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"overlapSeconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["data"]["secret"]
    assert new_secret != old_secret
    assert rotated.json()["data"]["previousSecretExpiresAt"]

    await send_test_event(client, endpoint["id"])
    [during] = await receiver.wait_for(url, 1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert signature_is_valid(during, old_secret)
    assert signature_is_valid(during, new_secret)

    # No overlap: from now on only the newest secret signs.
    ended = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"overlapSeconds": 0}
    )
    newest = ended.json()["data"]["secret"]
    await send_test_event(client, endpoint["id"])
    [_, after] = await receiver.wait_for(url, 2)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert signature_is_valid(after, newest)
    assert not signature_is_valid(after, new_secret)
    assert not signature_is_valid(after, old_secret)


async def test_connection_events_reach_the_accounts_endpoints(
    db: asyncpg.Pool[Any], make_account: MakeAccount, receiver: Receiver
) -> None:
    account_id, client = await make_account()
    url, endpoint = await routed_endpoint(client, receiver, events=["connection.expired"])
    expired = connection_expired(account_id)
    async with db.acquire() as conn, conn.transaction():
        # Published by the services' outbox relays, as a real connection event is.
        await enqueue(
            conn,
            [
                OutboxMessage(
                    topic=CONNECTION_EVENTS,
                    key="conn_test",
                    payload=expired.model_dump(mode="json"),
                )
            ],
        )
    [request] = await receiver.wait_for(url, 1)
    assert signature_is_valid(request, endpoint["secret"])
    body = request.json()
    assert body["type"] == "connection.expired"
    assert body["id"] == expired.event_id
    assert body["data"]["connectionId"] == "conn_test"
    assert body["data"]["status"] == "expired"
    assert body["data"]["lastErrorMessage"] == "ANAF refused the refresh token."

"""/v1/webhook-endpoints against the running stack: the endpoints, their secrets, the deliveries
and their replay, another account's endpoints, and the addresses refused at creation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.stack.stack import Stack
from tests.conftest import MakeAccount, api_client, error_of, new_api_key
from tests.services.webhook_dispatcher.webhooktools import (
    Receiver,
    answer,
    create_endpoint,
    deliveries,
    routed_endpoint,
    running_receiver,
    send_test_event,
    signature_is_valid,
    wait_for_delivery,
)

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def test_create_get_list_update_delete(client: httpx.AsyncClient, receiver: Receiver) -> None:
    url = receiver.route()
    created = await create_endpoint(
        client, url, ["invoice.accepted", "invoice.rejected"], description="ERP"
    )
    assert created["id"].startswith("we_")
    assert created["secret"].startswith("whsec_")
    assert created["url"] == url
    assert created["enabledEvents"] == ["invoice.accepted", "invoice.rejected"]
    assert created["status"] == "enabled"
    assert created["livemode"] is False
    assert created["description"] == "ERP"

    # The secret is shown once: never by get or list.
    shown = (await client.get(f"/v1/webhook-endpoints/{created['id']}")).json()["data"]
    assert "secret" not in shown
    assert shown == {k: v for k, v in created.items() if k != "secret"}
    listed = (await client.get("/v1/webhook-endpoints")).json()["data"]
    assert listed == [shown]

    updated = await client.patch(
        f"/v1/webhook-endpoints/{created['id']}",
        json={"enabledEvents": ["*"], "description": None, "disabled": True},
    )
    assert updated.status_code == 200, updated.text
    data = updated.json()["data"]
    assert (data["enabledEvents"], data["description"], data["status"]) == (["*"], None, "disabled")
    assert data["disabledReason"] == "Disabled through the API."
    assert data["url"] == url
    enabled = await client.patch(f"/v1/webhook-endpoints/{created['id']}", json={"disabled": False})
    assert enabled.json()["data"]["status"] == "enabled"
    assert enabled.json()["data"]["disabledReason"] is None

    deleted = await client.delete(f"/v1/webhook-endpoints/{created['id']}")
    assert deleted.json() == {"data": {"id": created["id"], "deleted": True}}
    assert (await client.get(f"/v1/webhook-endpoints/{created['id']}")).status_code == 404
    assert (await client.get("/v1/webhook-endpoints")).json()["data"] == []


async def test_another_accounts_endpoints_answer_404(
    make_account: MakeAccount, receiver: Receiver
) -> None:
    _, owner = await make_account()
    _, stranger = await make_account()
    endpoint = await create_endpoint(owner, receiver.route())
    delivery = await send_test_event(owner, endpoint["id"])
    base = f"/v1/webhook-endpoints/{endpoint['id']}"
    for method, path in [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("GET", f"{base}/deliveries"),
        ("POST", f"{base}/deliveries/{delivery['id']}/retry"),
        ("POST", f"{base}/test"),
    ]:
        response = await stranger.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["type"] == "not_found"
    assert (await stranger.get("/v1/webhook-endpoints")).json()["data"] == []
    assert (await owner.get(base)).status_code == 200


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"url": "ftp://example.com/x", "enabledEvents": ["*"]}, "/url"),
        ({"url": "https://example.com/x", "enabledEvents": []}, "/enabledEvents"),
        ({"url": "https://example.com/x", "enabledEvents": ["invoice.paid"]}, "/enabledEvents/0"),
        ({"url": "https://example.com/x", "enabledEvents": ["*"], "colour": "red"}, "/colour"),
        ({"enabledEvents": ["*"]}, "/url"),
    ],
)
async def test_bad_bodies_name_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    response = await client.post("/v1/webhook-endpoints", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    assert error["param"] == param


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://192.168.1.5:8080/"],
)
async def test_private_and_metadata_addresses_are_refused_at_creation(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.post("/v1/webhook-endpoints", json={"url": url, "enabledEvents": ["*"]})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "/url"
    assert "public addresses only" in error["message"]
    assert (await client.get("/v1/webhook-endpoints")).json()["data"] == []


async def test_a_private_address_behind_a_name_is_refused_at_delivery(
    client: httpx.AsyncClient,
) -> None:
    # 167772161 is 10.0.0.1 written as one number: a name until the resolver reads it.
    endpoint = await create_endpoint(client, "http://167772161/hook")
    await send_test_event(client, endpoint["id"])
    delivery = await wait_for_delivery(client, endpoint["id"], lambda d: d["attemptCount"] >= 1)
    attempt = delivery["attempts"][0]
    assert attempt["httpStatus"] is None
    assert attempt["error"] == (
        "refused: 10.0.0.1 is a private address; webhooks go to public addresses only"
    )


async def test_live_mode_endpoints_need_https_and_are_invisible_to_test_keys(
    stack: Stack, make_account: MakeAccount
) -> None:
    account_id, test_client = await make_account()
    async with api_client(stack, await new_api_key(stack, account_id, "live")) as live:
        plain = await live.post(
            "/v1/webhook-endpoints",
            json={"url": "http://hooks.example.com/x", "enabledEvents": ["*"]},
        )
        assert error_of(plain, 400)["message"] == "Live-mode endpoints must use https://."
        endpoint = await create_endpoint(live, "https://hooks.example.com/x")
        assert endpoint["livemode"] is True
        assert (await test_client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).status_code == 404
        assert (await test_client.get("/v1/webhook-endpoints")).json()["data"] == []


async def test_an_account_has_at_most_sixteen_endpoints(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    for _ in range(16):
        await create_endpoint(client, receiver.route())
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": receiver.route(), "enabledEvents": ["*"]}
    )
    assert error_of(response, 403)["type"] == "usage_limit_exceeded"


async def test_a_test_event_is_signed_and_can_be_replayed_with_the_same_webhook_id(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url, endpoint = await routed_endpoint(client, receiver, events=["invoice.accepted"])
    queued = await send_test_event(client, endpoint["id"])
    assert queued["eventType"] == "webhook.test"
    assert queued["status"] == "pending"

    [first] = await receiver.wait_for(url, 1)
    assert signature_is_valid(first, endpoint["secret"])
    body = first.json()
    assert body["type"] == "webhook.test"
    assert body["data"]["endpointId"] == endpoint["id"]
    assert body["id"] == queued["eventId"]
    assert first.webhook_id == queued["webhookId"]

    delivered = await wait_for_delivery(client, endpoint["id"], lambda d: d["status"] != "pending")
    assert delivered["status"] == "delivered"
    assert delivered["attemptCount"] == 1
    [attempt] = delivered["attempts"]
    assert attempt["httpStatus"] == 200
    assert attempt["error"] is None
    assert attempt["nextRetryAt"] is None
    assert attempt["responseBody"] == "ok"
    assert attempt["durationMs"] >= 0

    replay = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{queued['id']}/retry"
    )
    assert replay.status_code == 202, replay.text
    [_, again] = await receiver.wait_for(url, 2)
    assert again.webhook_id == first.webhook_id
    assert again.body == first.body
    assert signature_is_valid(again, endpoint["secret"])
    replayed = await wait_for_delivery(client, endpoint["id"], lambda d: d["attemptCount"] == 2)
    assert replayed["status"] == "delivered"

    missing = await client.post(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/whd_x/retry")
    assert missing.status_code == 404


async def test_deliveries_page_newest_first(client: httpx.AsyncClient, receiver: Receiver) -> None:
    endpoint = await create_endpoint(client, receiver.route())
    sent = [(await send_test_event(client, endpoint["id"]))["id"] for _ in range(3)]
    base = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    first = (await client.get(f"{base}?limit=2")).json()
    assert [d["id"] for d in first["data"]] == sent[::-1][:2]
    assert first["hasMore"] is True
    second = (await client.get(f"{base}?limit=2&cursor={first['nextCursor']}")).json()
    assert [d["id"] for d in second["data"]] == sent[:1]
    assert second["hasMore"] is False
    assert second["nextCursor"] is None
    foreign = await client.get(f"{base}?cursor=whd_not_ours")
    assert error_of(foreign, 400)["param"] == "/cursor"


async def test_a_disabled_endpoint_takes_no_test_event(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    endpoint = await create_endpoint(client, receiver.route())
    await client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"disabled": True})
    response = await client.post(f"/v1/webhook-endpoints/{endpoint['id']}/test")
    assert error_of(response, 409)["type"] == "conflict_error"


async def test_enabling_an_endpoint_again_sends_what_waited(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url, endpoint = await routed_endpoint(client, receiver, answer(500))
    await send_test_event(client, endpoint["id"])
    await receiver.wait_for(url, 1)
    await client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"disabled": True})
    [waiting] = await deliveries(client, endpoint["id"])
    assert waiting["status"] == "pending"
    receiver.behave(url, answer(200))
    enabled = await client.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}", json={"disabled": False}
    )
    assert enabled.status_code == 200
    done = await wait_for_delivery(client, endpoint["id"], lambda d: d["status"] == "delivered")
    assert done["attemptCount"] >= 2

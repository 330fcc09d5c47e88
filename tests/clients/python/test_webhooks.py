"""clients/python: webhooks.verify against the dispatcher's own signing (clearway.webhooks.signing,
what services/webhook_dispatcher sends), and once against a real delivery of the whole stack."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest
from clearway.webhooks.signing import new_secret, signature_header
from clearway_client import AsyncClearway, WebhookVerificationError
from clearway_client.webhooks import sign, verify

from services.stack.stack import Stack
from tests.clients.python.conftest import seed_invoice_body
from tests.services.webhook_dispatcher.webhooktools import Received, running_receiver

BODY = json.dumps({"id": "evt_1", "type": "invoice.accepted", "data": {"invoiceId": "inv_1"}})


def _headers(secrets: list[str], timestamp: int, body: str = BODY) -> dict[str, str]:
    """The headers webhook-dispatcher sends (services/webhook_dispatcher/delivery.py)."""
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, "msg_1", timestamp, body.encode()),
    }


def test_it_accepts_the_dispatchers_signature_and_reads_the_event() -> None:
    secret = new_secret()
    now = int(time.time())
    event = verify(BODY.encode(), _headers([secret], now), secret)
    assert event.id == "evt_1"
    assert event.type == "invoice.accepted"
    assert event.data == {"invoiceId": "inv_1"}
    # Header names in any case, the body as text: frameworks hand them over differently.
    upper = {k.title(): v for k, v in _headers([secret], now).items()}
    assert verify(BODY, upper, secret).id == "evt_1"
    assert sign(secret, "msg_1", now, BODY.encode()) == _headers([secret], now)["webhook-signature"]


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    now = int(time.time())
    both = _headers([new, old], now)
    assert verify(BODY, both, old).id == "evt_1"
    assert verify(BODY, both, new).id == "evt_1"
    # A receiver holding both (it rotated first) accepts a message signed with either.
    assert verify(BODY, _headers([old], now), [new, old]).id == "evt_1"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered", "no signature matches"),
        ("wrong secret", "no signature matches"),
        ("old", "beyond 300s"),
        ("future", "beyond 300s"),
        ("no signature", "no webhook-signature header"),
        ("bad timestamp", "not Unix seconds"),
    ],
)
def test_it_refuses(case: str, reason: str) -> None:
    secret = new_secret()
    now = int(time.time())
    headers = _headers([secret], now)
    body, key = BODY, secret
    if case == "tampered":
        body = BODY.replace("inv_1", "inv_2")
    elif case == "wrong secret":
        key = new_secret()
    elif case in {"old", "future"}:
        stamp = now - 600 if case == "old" else now + 600
        headers = _headers([secret], stamp)
    elif case == "no signature":
        del headers["webhook-signature"]
    else:
        headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(WebhookVerificationError, match=reason):
        verify(body, headers, key)


def test_the_tolerance_is_the_callers() -> None:
    secret = new_secret()
    then = int(time.time()) - 600
    assert verify(BODY, _headers([secret], then), secret, tolerance=900).id == "evt_1"
    assert verify(BODY, _headers([secret], then), secret, now=then + 1).id == "evt_1"


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_real_delivery_verifies_and_wait_sees_the_invoice_accepted(
    stack: Stack, tmp_path: Path
) -> None:
    """The dev account files the seed invoice; the client waits until it is accepted, and the
    webhook the dispatcher delivered for it verifies, before and after a secret rotation.
    Meanwhile `clearway invoices create --wait` files another and prints its timeline."""
    invoice_file = tmp_path / "invoice.json"
    invoice_file.write_text(json.dumps(seed_invoice_body()))
    command = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("clearway")),
        *("invoices", "create", "-f", str(invoice_file), "--wait"),
        env={**os.environ, "CLEARWAY_API_KEY": stack.api_key, "CLEARWAY_API_URL": stack.api_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with (
        running_receiver() as receiver,
        AsyncClearway(stack.api_key, stack.api_url) as clearway,
    ):
        url = receiver.route()
        endpoint = await clearway.webhook_endpoints.create(url, ["invoice.accepted"])
        try:
            invoice = await clearway.invoices.create(seed_invoice_body())
            accepted = await clearway.invoices.wait(invoice.id, timeout=90, interval=0.3)
            assert accepted.status == "accepted"
            assert accepted.gov_id
            document = await clearway.invoices.document(invoice.id)
            assert document.format == "UBL-CIUS-RO"
            assert document.content.startswith(b"<?xml")
            receipt = await clearway.invoices.receipt(invoice.id)
            assert receipt.media_type == "application/zip"
            assert receipt.content.startswith(b"PK")

            def about_it(request: Received) -> bool:
                return request.json()["data"].get("invoiceId") == invoice.id

            (delivered,) = await receiver.wait_for(url, 1, matching=about_it)
            event = verify(delivered.body, delivered.headers, endpoint.secret)
            assert event.type == "invoice.accepted"
            assert event.data["govId"] == accepted.gov_id
            with pytest.raises(WebhookVerificationError):
                verify(delivered.body + b" ", delivered.headers, endpoint.secret)
            with pytest.raises(WebhookVerificationError):
                verify(delivered.body, delivered.headers, new_secret())
            with pytest.raises(WebhookVerificationError):
                verify(delivered.body, delivered.headers, endpoint.secret, now=time.time() + 600)

            # After a rotation the dispatcher signs with both: either secret verifies.
            rotated = await clearway.webhook_endpoints.rotate_secret(endpoint.id)
            test = await clearway.webhook_endpoints.send_test(endpoint.id)
            (signed_twice,) = await receiver.wait_for(
                url, 1, matching=lambda r: r.json()["type"] == "webhook.test"
            )
            assert len(signed_twice.headers["webhook-signature"].split()) == 2
            for secret in (endpoint.secret, rotated.secret):
                assert clearway.webhooks.verify(
                    signed_twice.body, signed_twice.headers, secret
                ).data
            assert test.event_type == "webhook.test"
        finally:
            await clearway.webhook_endpoints.delete(endpoint.id)
    out, err = await asyncio.wait_for(command.communicate(), 90)
    assert command.returncode == 0, err.decode()
    printed = out.decode().splitlines()
    assert " created " in printed[0]  # the invoice, then its timeline as it happened
    assert [line.split()[1] for line in printed[1:]] == [
        "invoice.created",
        "invoice.validated",
        "invoice.submitted",
        "invoice.accepted",
    ]

"""An idempotent replay answers the first response as it was sent (status and body), like
Stripe: not the invoice's state now, however far it has moved on."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.conftest import WaitFinal

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def test_a_replay_after_the_invoice_moved_on_answers_the_first_response(
    api: httpx.AsyncClient, seed_invoice: dict[str, Any], wait_final: WaitFinal
) -> None:
    headers = {"X-Idempotency-Key": f"first-answer-{secrets.token_hex(4)}"}
    body = {**seed_invoice, "externalId": f"first-answer-{secrets.token_hex(4)}"}
    first = await api.post("/v1/invoices", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["data"]["status"] == "created"
    assert "Idempotent-Replayed" not in first.headers

    now = await wait_final(first.json()["data"]["id"])
    assert now["status"] == "accepted", now
    assert now["updatedAt"] != first.json()["data"]["updatedAt"]

    replay = await api.post("/v1/invoices", json=body, headers=headers)
    assert replay.status_code == first.status_code
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()  # `created`, as first sent
    assert replay.content == first.content

"""A refresh that fails, end to end: the token-refresher service process (real clock) expires
the connection, `connection.expired` reaches Kafka, the invoice being followed with it and a new
one go to `error` saying to authorize again; once the user has, both get through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from clearway.domain.connections import SecretKind

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.connections_support import (
    authorize_at_anaf,
    connect_ro,
    connection_events,
    new_company,
    open_callback,
    plain_secrets,
    stack_keyring,
    start_connection,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _until(
    read: Callable[[], Awaitable[dict[str, Any]]],
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 60,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"still {value} after {timeout}s")
        await asyncio.sleep(0.2)


async def _file_held_invoice(
    client: httpx.AsyncClient, sim: httpx.AsyncClient, stack: Stack, body: dict[str, Any]
) -> tuple[str, str]:
    """An invoice ANAF takes but does not decide for ten minutes, so the poller waits on it;
    (invoice id, ANAF's upload index)."""
    await sim.put("/_sim/anaf/processing-delay", json={"seconds": 600})
    try:
        invoice_id = (await client.post("/v1/invoices", json=body)).json()["data"]["id"]
        await _until(lambda: _invoice(client, invoice_id), lambda i: i["status"] == "submitted")
    finally:
        await sim.put(
            "/_sim/anaf/processing-delay", json={"seconds": stack.config.anaf_processing_delay}
        )
    events = (await client.get(f"/v1/invoices/{invoice_id}/events")).json()["data"]
    submitted = next(e for e in events if e["event"] == "invoice.submitted")
    return invoice_id, str(submitted["metadata"]["uploadId"])


async def _make_refresh_fail_now(
    stack: Stack, sim: httpx.AsyncClient, db: asyncpg.Pool[Any], connection_id: str
) -> None:
    """ANAF stops honouring the connection's refresh token, and the connection is due now."""
    opened = await plain_secrets(db, stack_keyring(stack), connection_id)
    answer = await sim.post(
        "/_sim/anaf/tokens/expire", json={"token": opened[SecretKind.REFRESH_TOKEN]}
    )
    assert answer.status_code == 204
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE connections SET next_refresh_at = now() WHERE id = $1", connection_id
        )


async def _invoice(client: httpx.AsyncClient, invoice_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await client.get(f"/v1/invoices/{invoice_id}")).json()["data"]
    return data


async def _send(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    answer = await client.post("/v1/invoices", json=body)
    assert answer.status_code == 201, answer.text
    invoice_id: str = answer.json()["data"]["id"]
    return invoice_id


async def test_expired_connection_errors_its_invoices_until_authorized_again(
    stack: Stack,
    make_account: MakeAccount,
    db: asyncpg.Pool[Any],
    seed_invoice: dict[str, Any],
) -> None:
    _, client = await make_account()
    connection = await connect_ro(client, await new_company(client, "RO"))

    async def current() -> dict[str, Any]:
        data: dict[str, Any] = (await client.get(f"/v1/connections/{connection['id']}")).json()[
            "data"
        ]
        return data

    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        filed, upload_id = await _file_held_invoice(client, sim, stack, seed_invoice)
        await _make_refresh_fail_now(stack, sim, db, connection["id"])

        # The token-refresher service finds the connection due, and ANAF refuses.
        gone = await _until(current, lambda c: c["status"] == "expired", timeout=30)
        assert "ANAF refused to refresh the token" in gone["lastErrorMessage"]
        published = await connection_events(stack, connection["id"], {"connection.expired"})
        assert published["connection.expired"][0]["lastErrorMessage"] == gone["lastErrorMessage"]

        # The poller ends what it follows for the expired connection on its own time.
        waiting = await _until(
            lambda: _invoice(client, filed), lambda i: i["status"] != "submitted", timeout=30
        )
        assert waiting["status"] == "error"
        assert waiting["errorMessage"] == "The supplier's company's ANAF connection expired."
        assert "Authorize the company's ANAF connection again" in waiting["errorFix"]
        assert "do not send it again" in waiting["errorFix"]

        # A new invoice meanwhile is refused as the submitter refuses any without a connection.
        meanwhile = await _send(client, seed_invoice)
        refused = await _until(
            lambda: _invoice(client, meanwhile), lambda i: i["status"] == "error"
        )
        assert refused["errorMessage"] == "The supplier's company has no active ANAF connection."

        # The user authorizes again: the same connection, a new authorization.
        again = await start_connection(client, connection["companyId"], "RO")
        assert again["id"] == connection["id"]
        assert again["lastErrorMessage"] == gone["lastErrorMessage"]
        answer = await open_callback(await authorize_at_anaf(again["authorizationUrl"]))
        assert answer.json()["data"]["status"] == "active"
        actives = await connection_events(stack, connection["id"], {"connection.active"})
        assert len(actives["connection.active"]) == 2

        # The filed invoice is followed again to ANAF's decision, without being sent twice ...
        assert (await sim.post(f"/_sim/anaf/messages/{upload_id}/decide")).status_code == 200
        accepted = await _until(
            lambda: _invoice(client, filed), lambda i: i["status"] == "accepted"
        )
        assert accepted["govId"] is not None
        messages = (await sim.get("/_sim/anaf/messages")).json()
        assert sum(m["index_incarcare"] == int(upload_id) for m in messages) == 1

    # ... and the refused one gets through when the user sends it again.
    retried = await _send(client, seed_invoice)
    done = await _until(
        lambda: _invoice(client, retried), lambda i: i["status"] in {"accepted", "error"}
    )
    assert done["status"] == "accepted", done

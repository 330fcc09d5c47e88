"""invoices.intake headers over the real broker: every documented header in several casings is
read (the double filing: two messages with one `Idempotency-Key` make one invoice), and a
lookalike spelling is refused on invoice.events and in the DLQ, naming the accepted one."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import asyncpg
import httpx
import pytest
from clearway.messaging.topics import INVOICE_EVENTS, INVOICES_INTAKE, dlq_topic

from services.stack.stack import Stack
from tests.services.kafka_support import Headers, produce, read_until

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _produce(stack: Stack, messages: list[tuple[str, dict[str, Any], Headers]]) -> None:
    encoded = [(key, json.dumps(body).encode(), headers) for key, body, headers in messages]
    await produce(stack.kafka_bootstrap, INVOICES_INTAKE, encoded)


async def _invoices_of(db: asyncpg.Pool[Any], external_id: str) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "SELECT id, sandbox_scenario FROM invoices WHERE external_id = $1", external_id
        )
    )


async def _wait_for_invoices(
    db: asyncpg.Pool[Any], external_ids: list[str], timeout: float = 60
) -> dict[str, list[asyncpg.Record]]:
    deadline = time.monotonic() + timeout
    while True:
        found = {e: await _invoices_of(db, e) for e in external_ids}
        if all(found.values()):
            return found
        assert time.monotonic() < deadline, f"never taken: {[e for e in found if not found[e]]}"
        await asyncio.sleep(0.2)


async def test_documented_headers_in_any_case_and_one_invoice_for_one_idempotency_key(
    stack: Stack, db: asyncpg.Pool[Any], seed_invoice: dict[str, Any]
) -> None:
    run = secrets.token_hex(3)
    bearer = f"Bearer {stack.api_key}".encode()
    casings = [
        ("authorization", "x-clearway-sandbox-scenario"),
        ("Authorization", "X-Clearway-Sandbox-Scenario"),
        ("AUTHORIZATION", "X-CLEARWAY-SANDBOX-SCENARIO"),
    ]
    cased = [f"hdr-{run}-case-{n}" for n in range(len(casings))]
    messages: list[tuple[str, dict[str, Any], Headers]] = [
        (
            external_id,
            {**seed_invoice, "externalId": external_id},
            [(auth, bearer), (scenario, b"transient_error")],
        )
        for external_id, (auth, scenario) in zip(cased, casings, strict=True)
    ]
    # The double filing: one body, one idempotency key in three casings, three message keys
    # (so the message key, the fallback idempotency key, cannot be what joins them).
    twice = f"hdr-{run}-twice"
    for n, name in enumerate(("Idempotency-Key", "IDEMPOTENCY-KEY", "idempotency-key")):
        messages.append(
            (
                f"{twice}-message-{n}",
                {**seed_invoice, "externalId": twice},
                [("Authorization", bearer), (name, f"order-{run}".encode())],
            )
        )
    last = f"hdr-{run}-last"
    messages.append((last, {**seed_invoice, "externalId": last}, [("authorization", bearer)]))
    await _produce(stack, messages)

    found = await _wait_for_invoices(db, [*cased, twice, last])
    for external_id in cased:
        assert [r["sandbox_scenario"] for r in found[external_id]] == ["transient_error"]
    # The messages ahead of the last one have been handled by now (up to four at once): give
    # a second message with the key time to (wrongly) make a second invoice.
    await asyncio.sleep(2)
    assert len(await _invoices_of(db, twice)) == 1


async def test_a_lookalike_header_is_refused_naming_the_accepted_spelling(
    stack: Stack, db: asyncpg.Pool[Any], api: httpx.AsyncClient, seed_invoice: dict[str, Any]
) -> None:
    run = secrets.token_hex(3)
    bearer = f"Bearer {stack.api_key}".encode()
    lookalikes = {
        f"hdr-{run}-underscore": ("idempotency_key", "idempotency-key"),
        f"hdr-{run}-space": ("Idempotency Key", "idempotency-key"),
        f"hdr-{run}-joined": ("idempotencykey", "idempotency-key"),
        f"hdr-{run}-scenario": ("X_Clearway_Sandbox_Scenario", "X-Clearway-Sandbox-Scenario"),
    }
    await _produce(
        stack,
        [
            (
                external_id,
                {**seed_invoice, "externalId": external_id},
                [("authorization", bearer), (sent, b"reject")],
            )
            for external_id, (sent, _) in lookalikes.items()
        ],
    )
    answers = await read_until(stack.kafka_bootstrap, INVOICE_EVENTS, set(lookalikes), "externalId")
    assert set(answers) == set(lookalikes)
    for external_id, (sent, accepted) in lookalikes.items():
        error = answers[external_id][0]["metadata"]["error"]
        assert answers[external_id][0]["event"] == "invoice.error"
        assert error["type"] == "validation_error"
        assert f"'{sent}'" in error["message"]
        assert f"'{accepted}'" in error["message"]
    dead = await read_until(
        stack.kafka_bootstrap, dlq_topic(INVOICES_INTAKE), set(lookalikes), "key"
    )
    assert set(dead) == set(lookalikes)
    for external_id, (sent, _) in lookalikes.items():
        assert sent in dead[external_id][0]["reason"]
    for external_id in lookalikes:
        assert await _invoices_of(db, external_id) == []

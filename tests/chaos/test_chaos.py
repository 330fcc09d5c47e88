"""Faults under a continuous load of invoices for every country Clearway files in (the short
form of `make chaos`; CHAOS_INVOICES and CHAOS_OUTAGE_SECONDS make it longer).

In turn: kill -9 each service and start it again; restart the broker (which forgets
everything: the store re-drives what was in flight); crash PostgreSQL; make every government
answer 5xx for a while; deliver every message twice. After each: every invoice reaches a final
status; no stream has a gap or a repeated event; no invoice was filed twice; no webhook event
went out under two webhook-ids and every final one went out; nothing of ours is in a DLQ.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from clearway.messaging.topics import DLQ_TOPICS, topics_for_event
from clearway.store.events import StoredEvent, event_message
from clearway.store.invoices import invoice_ref

from services.stack.stack import Stack
from tests.chaos.conftest import CHAOS_COUNTRIES, ChaosAccount
from tests.chaos.report import REPORT, FaultOutcome
from tests.conftest import FIXTURES
from tests.libs.validation.bodies import clean_body

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.chaos]

FINAL = ("accepted", "rejected", "error")
INVOICES_PER_FAULT = int(os.environ.get("CHAOS_INVOICES", "12"))
OUTAGE_SECONDS = float(os.environ.get("CHAOS_OUTAGE_SECONDS", "8"))
LOAD_SECONDS = 2.0  # the load is spread over this (the outage's length for the outage)
# The simulators' sandbox API keys (services/govsim/app.py GovsimSettings).
SANDBOX_KEYS = {
    "FR": "clearway-sandbox-pa",
    "Peppol": "clearway-sandbox-peppol",
    "ZRE": "clearway-sandbox-zre",
}

Inject = Callable[[list[str]], Awaitable[None]]


def _body(country: str, label: str) -> dict[str, Any]:
    if country == "RO":  # the dev account's own supplier, connected to ANAF
        body: dict[str, Any] = json.loads((FIXTURES / "seed_ro_invoice.json").read_text())
    else:
        body = clean_body(country)
    # Letters and digits only: some countries restrict an invoice number's characters.
    number = f"CH{''.join(c for c in label if c.isalnum())[:10]}{secrets.token_hex(4)}"
    return {**body, "invoiceNumber": number, "externalId": number}


async def _send(api: httpx.AsyncClient, body: dict[str, Any]) -> str:
    """POST with retries, as a careful client does: the idempotency key makes retries safe."""
    key = body["externalId"]
    for _ in range(240):
        try:
            response = await api.post("/v1/invoices", json=body, headers={"X-Idempotency-Key": key})
        except httpx.TransportError:
            await asyncio.sleep(0.25)  # intake is down: try again
            continue
        if response.status_code == 201:
            return str(response.json()["data"]["id"])
        await asyncio.sleep(0.25)  # 5xx while PostgreSQL is down
    pytest.fail(f"{key} was never accepted")


async def _load(api: httpx.AsyncClient, label: str, spread: float, sent: list[str]) -> None:
    """INVOICES_PER_FAULT invoices, round-robin over the countries, spread over `spread` s."""
    pause = spread / INVOICES_PER_FAULT
    for n in range(INVOICES_PER_FAULT):
        country = CHAOS_COUNTRIES[n % len(CHAOS_COUNTRIES)]
        sent.append(await _send(api, _body(country, label)))
        await asyncio.sleep(pause)


async def _filings(stack: Stack) -> dict[str, int]:
    """What each government channel took in so far (every filing attempt it received)."""

    def bearer(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        sessions = (await sim.get("/_sim/pl/sessions")).json()
        pa = (await sim.get("/pa/invoices", headers=bearer(SANDBOX_KEYS["FR"]))).json()
        peppol = await sim.get("/peppol/documents", headers=bearer(SANDBOX_KEYS["Peppol"]))
        zre = await sim.get("/zre/invoices", headers=bearer(SANDBOX_KEYS["ZRE"]))
        return {
            "ANAF": len((await sim.get("/_sim/anaf/messages")).json()),
            "KSeF": sum(len(session["invoices"]) for session in sessions),
            "PA": len(pa["invoices"]),
            "SDI": len((await sim.get("/_sim/it/files")).json()),
            "Peppol": len(peppol.json()["documents"]),  # BE, and DE to a private buyer
            "ZRE": len(zre.json()["invoices"]),  # DE to a public buyer
        }


async def _wait_all_final(db: asyncpg.Pool[Any], ids: list[str], timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await db.fetch(
            "SELECT status, count(*) AS n FROM invoices WHERE id = ANY($1) GROUP BY status", ids
        )
        counts = {r["status"]: r["n"] for r in rows}
        if sum(counts.get(s, 0) for s in FINAL) == len(ids) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.25)


async def _broken_streams(db: asyncpg.Pool[Any], ids: list[str]) -> list[str]:
    rows = await db.fetch(
        "SELECT stream_id, array_agg(version ORDER BY version) AS versions, "
        "array_agg(type ORDER BY version) AS types FROM events WHERE stream_id = ANY($1) "
        "GROUP BY stream_id",
        ids,
    )
    broken = [f"{r['stream_id']}: no events" for r in rows if not r["versions"]]
    broken += [f"missing stream {i}" for i in set(ids) - {r["stream_id"] for r in rows}]
    for row in rows:
        versions, types = list(row["versions"]), list(row["types"])
        if versions != list(range(1, len(versions) + 1)) or len(types) != len(set(types)):
            broken.append(f"{row['stream_id']}: {list(zip(versions, types, strict=True))}")
    return broken


async def _filed_twice(
    stack: Stack, db: asyncpg.Pool[Any], ids: list[str], before: dict[str, int]
) -> dict[str, int]:
    """Filings the governments took beyond one per submitted invoice (per channel when any)."""
    after = await _filings(stack)
    submitted = await db.fetchval(
        "SELECT count(DISTINCT stream_id) FROM events "
        "WHERE stream_id = ANY($1) AND type = 'invoice.submitted'",
        ids,
    )
    taken = {channel: after[channel] - before[channel] for channel in after}
    return {} if sum(taken.values()) == submitted else {"submitted": submitted, **taken}


async def _webhook_problems(account: ChaosAccount, ids: list[str], timeout: float) -> list[str]:
    """Events sent under two webhook-ids, and invoices whose final event never arrived."""
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        ids_of_event: dict[str, set[str]] = defaultdict(set)
        finals = set()
        for request in account.receiver.requests(account.webhook_url):
            body = json.loads(request.body)
            invoice = body["data"].get("invoiceId")
            if invoice not in wanted:
                continue
            ids_of_event[body["id"]].add(request.webhook_id)
            if body["data"]["status"] in FINAL:
                finals.add(invoice)
        problems = [f"event {e} under {sorted(w)}" for e, w in ids_of_event.items() if len(w) > 1]
        missing = wanted - finals
        if (not missing and not problems) or time.monotonic() > deadline:
            return problems + [f"no final webhook for {i}" for i in sorted(missing)]
        await asyncio.sleep(0.5)


async def _dead_letters_for(stack: Stack, ids: list[str]) -> list[dict[str, Any]]:
    wanted = set(ids)
    consumer = AIOKafkaConsumer(
        *DLQ_TOPICS,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found = []
    try:
        batch = await consumer.getmany(timeout_ms=1500)
        for records in batch.values():
            for record in records:
                entry = json.loads(record.value)
                if entry.get("key") in wanted:
                    found.append(entry)
    finally:
        await consumer.stop()
    return found


async def _under_load(
    fault: str,
    inject: Inject,
    stack: Stack,
    account: ChaosAccount,
    db: asyncpg.Pool[Any],
    *,
    spread: float = LOAD_SECONDS,
) -> None:
    """Load, the fault in the middle of it, then every check; the counts go to the report."""
    started = time.monotonic()
    before = await _filings(stack)
    sent: list[str] = []
    load = asyncio.create_task(_load(account.api, fault, spread, sent))
    await asyncio.sleep(min(0.4, spread / 4))
    await inject(sent)
    await load
    counts = await _wait_all_final(db, sent, timeout=120 + spread)
    final = sum(counts.get(s, 0) for s in FINAL)
    broken = await _broken_streams(db, sent)
    twice = await _filed_twice(stack, db, sent, before)
    webhooks = await _webhook_problems(account, sent, timeout=60)
    REPORT.append(
        FaultOutcome(
            fault=fault,
            sent=len(sent),
            final=final,
            accepted=counts.get("accepted", 0),
            duplicates=_beyond_one(twice) + len(broken) + len(webhooks),
            lost=len(sent) - final,
            seconds=round(time.monotonic() - started, 1),
        )
    )
    if final != len(sent):
        stuck = await db.fetch(
            "SELECT i.id, i.country, i.status, s.state, s.attempts, s.next_attempt_at, "
            "s.last_error FROM invoices i LEFT JOIN submissions s ON s.invoice_id = i.id "
            "WHERE i.id = ANY($1) AND i.status NOT IN ('accepted', 'rejected', 'error')",
            sent,
        )
        pytest.fail(f"{fault}: not all final: {counts}: {[dict(r) for r in stuck]}")
    assert broken == [], f"{fault}: {broken}"
    assert twice == {}, f"{fault}: filed twice (filings beyond submitted): {twice}"
    assert webhooks == [], f"{fault}: {webhooks}"
    assert await _dead_letters_for(stack, sent) == []
    # A kill during an upload may leave an outcome unknown (`error`), never filed twice.
    if counts.get("accepted", 0) < len(sent) - 1:
        others = await db.fetch(
            "SELECT id, country, status, error_message FROM invoices "
            "WHERE id = ANY($1) AND status <> 'accepted'",
            sent,
        )
        pytest.fail(f"{fault}: {counts}: {[dict(r) for r in others]}")


def _beyond_one(twice: dict[str, int]) -> int:
    if not twice:
        return 0
    return max(sum(v for k, v in twice.items() if k != "submitted") - twice["submitted"], 0)


# `make chaos` kills every service; the short form in `make test`, one of each kind: a Kafka
# stage, a submitter and the dispatcher (the last two work from PostgreSQL schedules).
EVERY_SERVICE = (
    "intake",
    "validator",
    "converter",
    *(f"submitter_{cc.lower()}" for cc in CHAOS_COUNTRIES),
    "poller",
    "webhook_dispatcher",
    "redriver",
)
ONE_OF_EACH_KIND = ("converter", "submitter_pl", "webhook_dispatcher")
KILLED = EVERY_SERVICE if os.environ.get("CHAOS_EVERY_SERVICE") else ONE_OF_EACH_KIND


@pytest.mark.parametrize("service", KILLED)
async def test_kill_9_a_service_under_load(
    chaos_stack: Stack, chaos_account: ChaosAccount, db: asyncpg.Pool[Any], service: str
) -> None:
    async def kill(_: list[str]) -> None:
        await chaos_stack.restart(service, kill=True)

    await _under_load(f"kill -9 {service}", kill, chaos_stack, chaos_account, db)


async def test_broker_restart_loses_its_log_and_the_store_redrives(
    chaos_stack: Stack, chaos_account: ChaosAccount, db: asyncpg.Pool[Any]
) -> None:
    async def restart_broker(_: list[str]) -> None:
        await chaos_stack.restart("broker", kill=True)

    await _under_load("broker restart", restart_broker, chaos_stack, chaos_account, db)


async def test_postgresql_crash_and_restart(
    chaos_stack: Stack, chaos_account: ChaosAccount, db: asyncpg.Pool[Any]
) -> None:
    async def crash_postgres(_: list[str]) -> None:
        await chaos_stack.restart_database(down_seconds=2.0)

    await _under_load("PostgreSQL crash", crash_postgres, chaos_stack, chaos_account, db)


async def test_every_government_answers_5xx_for_a_while(
    chaos_stack: Stack, chaos_account: ChaosAccount, db: asyncpg.Pool[Any]
) -> None:
    async def outage(_: list[str]) -> None:
        async with httpx.AsyncClient(base_url=chaos_stack.govsim_url, timeout=10) as sim:
            answer = await sim.post("/_sim/outage", json={"seconds": OUTAGE_SECONDS})
            assert answer.json()["active"] is True
            await asyncio.sleep(OUTAGE_SECONDS)
            refused = (await sim.get("/_sim/outage")).json()["refused"]
        assert refused > 0  # the governments were called, and refused, during the outage

    await _under_load(
        f"governments 5xx for {OUTAGE_SECONDS:.0f} s",
        outage,
        chaos_stack,
        chaos_account,
        db,
        spread=OUTAGE_SECONDS,
    )


async def _publish_every_event_again(stack: Stack, db: asyncpg.Pool[Any], ids: list[str]) -> int:
    rows = await db.fetch(
        "SELECT e.*, i.account_id, i.country, i.livemode, i.external_id FROM events e "
        "JOIN invoices i ON i.id = e.stream_id WHERE e.stream_id = ANY($1)",
        list(ids),
    )
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        for row in rows:
            ref = invoice_ref(row, id_column="stream_id")
            event = StoredEvent.model_validate({k: row[k] for k in StoredEvent.model_fields})
            body = event_message(ref, event).model_dump_json().encode()
            for topic in topics_for_event(event.type):
                await producer.send_and_wait(topic, body, key=ref.invoice_id.encode())
    finally:
        await producer.stop()
    return len(rows)


async def test_every_message_delivered_twice(
    chaos_stack: Stack, chaos_account: ChaosAccount, db: asyncpg.Pool[Any]
) -> None:
    async def duplicate(sent: list[str]) -> None:
        # Mid-flight: every event recorded so far goes out once more, to every topic it went to.
        await asyncio.sleep(1.0)
        assert await _publish_every_event_again(chaos_stack, db, sent) > 0

    await _under_load("every message twice", duplicate, chaos_stack, chaos_account, db)

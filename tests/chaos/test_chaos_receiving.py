"""The receiving fault: kill -9 the receiver while it downloads purchase invoices, and start it
again.

Several invoices wait in the inboxes of a new company in each receiving country (RO's SPV,
KSeF, the French PA), and every government holds its downloads open a while (the simulator's
latency control), so the receiver is caught with pages half downloaded and nothing of them
recorded. Once it is back (and the lease of the dead one lapsed), every delivered government id
must be received exactly once: one row in received_invoices, one `invoice.received` event, one
message on `invoices.received`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from clearway.governments.pl.client import download_bucket
from clearway.messaging.topics import INVOICES_RECEIVED

from services.stack.stack import Stack
from tests.chaos.conftest import ChaosAccount
from tests.chaos.report import REPORT, FaultOutcome
from tests.libs.governments.pl.nips import random_nip
from tests.services.connections_support import connect_pl, connect_ro, new_company, start_connection
from tests.services.receiver.receiving_support import Buyer, new_buyer

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.chaos]

DELIVERIES = int(os.environ.get("CHAOS_DELIVERIES", "4"))  # waiting in each inbox
# KSeF lets a NIP download 8 invoices at once, then one a minute (download_bucket): each
# may be downloaded twice (before the kill and after), so PL's inbox holds at most half that.
KSEF_DELIVERIES = min(DELIVERIES, download_bucket("any").capacity // 2)
DOWNLOAD_DELAY = 0.5  # seconds each government holds a download open until the kill
# Where each inbox downloads: ANAF's descarcare, KSeF's invoice by number, the PA's flows.
DOWNLOADS = ["/test/FCTEL/rest/descarcare", "/v2/invoices/ksef/", "/pa/flows/"]


async def _sim(stack: Stack, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as sim:
        answer = await sim.request(method, path, json=body)
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


# Each country: deliver one invoice to the company (its government id), and connect the company.
Inbox = tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[str]]]


def _inboxes(stack: Stack, api: httpx.AsyncClient) -> dict[str, Inbox]:
    cif, nip, siren = (
        str(secrets.randbelow(9 * 10**7) + 10**7),
        random_nip(),
        new_buyer("FR").number,
    )

    async def to_ro() -> str:
        delivered = await _sim(stack, "POST", "/_sim/anaf/purchase-invoices", {"cif": cif})
        return str(delivered["id"])

    async def to_pl() -> str:
        delivered = await _sim(stack, "POST", "/_sim/pl/purchase-invoices", {"nip": nip})
        return str(delivered["ksefNumber"])

    async def to_fr() -> str:
        body = {"buyerSiren": siren}
        return str((await _sim(stack, "POST", "/_sim/fr/incoming-invoices", body))["flowId"])

    async def connect_ro_buyer() -> str:
        company_id = await new_company(api, "RO", vatNumber=f"RO{cif}")
        await connect_ro(api, company_id)
        return company_id

    async def connect_pl_buyer() -> str:
        company_id = await new_company(api, "PL", vatNumber=f"PL{nip}")
        await connect_pl(stack, api, company_id, nip)
        return company_id

    async def connect_fr_buyer() -> str:
        company_id = await new_company(api, "FR", vatNumber=Buyer("FR", siren).vat_number)
        await start_connection(api, company_id, "FR")
        return company_id

    return {
        "RO": (to_ro, connect_ro_buyer),
        "PL": (to_pl, connect_pl_buyer),
        "FR": (to_fr, connect_fr_buyer),
    }


async def _received(db: asyncpg.Pool[Any], companies: list[str]) -> list[Any]:
    return list(
        await db.fetch(
            "SELECT id, government_id FROM received_invoices WHERE company_id = ANY($1)",
            companies,
        )
    )


async def _wait_received(
    db: asyncpg.Pool[Any], companies: list[str], count: int, timeout: float
) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await _received(db, companies)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.25)


async def _messages_by_key(stack: Stack, keys: set[str], timeout: float) -> Counter[str]:
    """How many messages on `invoices.received` each key has, once every key has one (or the
    timeout passed)."""
    consumer = AIOKafkaConsumer(
        INVOICES_RECEIVED,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                counts.update(
                    key for record in records if (key := (record.key or b"").decode()) in keys
                )
            if set(counts) == keys and not batch:  # all seen, and read to the end
                break
    finally:
        await consumer.stop()
    return counts


async def test_kill_9_the_receiver_while_it_downloads(
    chaos_stack: Stack, chaos_account: ChaosAccount, db: asyncpg.Pool[Any]
) -> None:
    started = time.monotonic()
    inboxes = _inboxes(chaos_stack, chaos_account.api)
    delivered = [
        await deliver()
        for country, (deliver, _) in inboxes.items()
        for _ in range(KSEF_DELIVERIES if country == "PL" else DELIVERIES)
    ]
    slow = {"seconds": 120, "delay": DOWNLOAD_DELAY, "path_prefixes": DOWNLOADS}
    await _sim(chaos_stack, "POST", "/_sim/latency", slow)
    try:
        companies = [await connect() for _, connect in inboxes.values()]  # each read at once
        # Caught downloading: a few downloads answered, one held open, no page recorded yet.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = await _sim(chaos_stack, "GET", "/_sim/latency")
            if state["delayed"] >= len(inboxes) * 2 and state["held"] > 0:
                break
            await asyncio.sleep(0.05)
        assert state["held"] > 0, f"the receiver never downloaded: {state}"
        before_kill = len(await _received(db, companies))
        await chaos_stack.restart("receiver", kill=True)
    finally:
        await _sim(chaos_stack, "DELETE", "/_sim/latency")
    assert before_kill < len(delivered)  # the kill interrupted the receiving

    rows = await _wait_received(db, companies, len(delivered), timeout=60)
    ids = {row["id"] for row in rows}
    events = await db.fetch(
        "SELECT stream_id, array_agg(type ORDER BY version) AS types FROM events "
        "WHERE stream_id = ANY($1) GROUP BY stream_id",
        list(ids),
    )
    messages = await _messages_by_key(chaos_stack, ids, timeout=30)
    twice = Counter(row["government_id"] for row in rows) - Counter(set(delivered))
    unread = await db.fetchval(
        "SELECT count(*) FROM received_invoices WHERE id = ANY($1) "
        'AND (request IS NULL OR findings @> \'[{"severity": "error"}]\')',
        list(ids),
    )
    REPORT.append(
        FaultOutcome(
            fault="kill -9 receiver mid-download",
            sent=len(delivered),
            final=len(rows),
            accepted=len(rows) - unread,  # read into the JSON without an error
            duplicates=sum(twice.values())
            + sum(len(e["types"]) - 1 for e in events)
            + sum(n - 1 for n in messages.values()),
            lost=len(set(delivered) - {row["government_id"] for row in rows}),
            seconds=round(time.monotonic() - started, 1),
        )
    )
    assert sorted(row["government_id"] for row in rows) == sorted(delivered)
    assert {e["stream_id"]: list(e["types"]) for e in events} == {
        received_id: ["invoice.received"] for received_id in ids
    }
    assert messages == Counter(dict.fromkeys(ids, 1))
    assert unread == 0

"""The receiving faults: kill -9 the receiver while it downloads purchase invoices, and while
the networks push them to it, and start it again.

Several invoices wait in the inboxes of a new company in each receiving country (RO's SPV,
KSeF, the French PA), and every government holds its downloads open a while (the simulator's
latency control), so the receiver is caught with pages half downloaded and nothing of them
recorded. Once it is back (and the lease of the dead one lapsed), every delivered government id
must be received exactly once: one row in received_invoices, one `invoice.received` event, one
message on `invoices.received`.

The pushing networks (SDI, the Peppol access point for BE and DE) deliver to the receiver's
/networks/<cc>/deliveries without pause while it is killed: a delivery the dead receiver had
recorded but not answered, or one refused while it was down, is not acknowledged, and the
network delivers it again (as SDI and the access points do until they get their answer); then
every delivery once more (an acknowledgement lost on the way back). Every one is received
exactly once, and each redelivery's answer names the same received invoice.
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
from tests.services.receiver.receiving_support import (
    PUSHED_DELIVERY,
    Buyer,
    acknowledged,
    connect_buyer,
    government_id,
    new_buyer,
    push_again,
    send_sample,
)

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


async def _exactly_once(
    stack: Stack, db: asyncpg.Pool[Any], ids: set[str]
) -> tuple[dict[str, list[str]], Counter[str]]:
    """Each received invoice's event types, and its messages on `invoices.received`."""
    events = await db.fetch(
        "SELECT stream_id, array_agg(type ORDER BY version) AS types FROM events "
        "WHERE stream_id = ANY($1) GROUP BY stream_id",
        list(ids),
    )
    messages = await _messages_by_key(stack, ids, timeout=30)
    return {e["stream_id"]: list(e["types"]) for e in events}, messages


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
    events, messages = await _exactly_once(chaos_stack, db, ids)
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
            + sum(len(types) - 1 for types in events.values())
            + sum(n - 1 for n in messages.values()),
            lost=len(set(delivered) - {row["government_id"] for row in rows}),
            seconds=round(time.monotonic() - started, 1),
        )
    )
    assert sorted(row["government_id"] for row in rows) == sorted(delivered)
    assert events == {received_id: ["invoice.received"] for received_id in ids}
    assert messages == Counter(dict.fromkeys(ids, 1))
    assert unread == 0


# Each pushing network sends at most this many while the receiver is killed and comes back.
MAX_PUSHES = 100


async def test_kill_9_the_receiver_while_the_networks_push_to_it(
    chaos_stack: Stack, chaos_account: ChaosAccount, db: asyncpg.Pool[Any]
) -> None:
    started = time.monotonic()
    buyers = [new_buyer(country) for country in sorted(PUSHED_DELIVERY)]  # BE, DE, IT
    companies = [
        (await connect_buyer(chaos_account.api, chaos_stack.govsim_url, buyer))["companyId"]
        for buyer in buyers
    ]
    back = asyncio.Event()  # the receiver was killed and is ready again
    pushed: list[tuple[str, dict[str, Any]]] = []  # (country, the network's answer)

    async def push_until_back(buyer: Buyer) -> None:
        """One network delivering without pause, on through the kill, until the receiver is
        back (and at least DELIVERIES times)."""
        sent = 0
        while sent < MAX_PUSHES and (sent < DELIVERIES or not back.is_set()):
            pushed.append((buyer.country, await send_sample(chaos_stack.govsim_url, buyer)))
            sent += 1

    pushing = [asyncio.create_task(push_until_back(buyer)) for buyer in buyers]
    try:
        flowing = await _wait_received(db, companies, len(buyers), timeout=30)
        assert len(flowing) >= len(buyers), "the networks' deliveries did not arrive"
        await chaos_stack.restart("receiver", kill=True)
        back.set()
        await asyncio.gather(*pushing)
    finally:
        back.set()
        for task in pushing:
            task.cancel()
    unacknowledged = [(country, answer) for country, answer in pushed if not acknowledged(answer)]
    assert unacknowledged or any(
        answer.get("attempts", answer.get("tentativiInvio")) != 1 for _, answer in pushed
    ), "the kill interrupted no delivery"

    # The networks deliver what they hold no acknowledgement for, then everything once more.
    delivered = {government_id(country, answer): country for country, answer in pushed}
    for country, answer in unacknowledged:
        again = await push_again(chaos_stack.govsim_url, country, government_id(country, answer))
        assert acknowledged(again), again
    answers = {
        gid: await push_again(chaos_stack.govsim_url, country, gid)
        for gid, country in delivered.items()
    }
    assert all(acknowledged(answer) for answer in answers.values())

    rows = await _received(db, companies)
    ids = {row["id"] for row in rows}
    events, messages = await _exactly_once(chaos_stack, db, ids)
    by_government_id = {row["government_id"]: row["id"] for row in rows}
    peppol_named = {  # the access point's answer is the receiver's: it names the invoice
        gid: answer["answer"]["receivedInvoiceId"]
        for gid, answer in answers.items()
        if delivered[gid] != "IT"
    }
    twice = Counter(row["government_id"] for row in rows) - Counter(set(delivered))
    REPORT.append(
        FaultOutcome(
            fault="kill -9 receiver mid-push",
            sent=len(delivered),
            final=len(rows),
            accepted=len(rows),
            duplicates=sum(twice.values())
            + sum(len(types) - 1 for types in events.values())
            + sum(n - 1 for n in messages.values()),
            lost=len(set(delivered) - set(by_government_id)),
            seconds=round(time.monotonic() - started, 1),
        )
    )
    assert sorted(row["government_id"] for row in rows) == sorted(delivered)
    assert events == {received_id: ["invoice.received"] for received_id in ids}
    assert messages == Counter(dict.fromkeys(ids, 1))
    assert peppol_named == {gid: by_government_id[gid] for gid in peppol_named}

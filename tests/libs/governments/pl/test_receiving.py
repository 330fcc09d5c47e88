"""KSeF's Inbox (governments/pl/receiving.py) against the simulated KSeF, in process, with real
PostgreSQL for the connection's token and Clearway's KSeF limits: every purchase invoice
delivered to the company's NIP comes back once, byte for byte with its metadata record, across
pages, truncated ranges and restarts; KSeF's limits and Clearway's own are typed errors to back
off on."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_account
from clearway.accounts.connection_secrets import store_secrets
from clearway.config import LiveNotConfiguredError, Settings
from clearway.domain.connections import SecretKind
from clearway.governments import government
from clearway.governments.base import RenewalTools
from clearway.governments.inbox import InboxHeldBackError
from clearway.governments.pl import receiving
from clearway.governments.pl.auth import KsefAuthClient
from clearway.governments.pl.receiving import MAX_WINDOW, InboxCursor, KsefInbox, Listed
from clearway.governments.pl.settings import KsefSettings
from clearway.resilience.ratelimit import TokenBucket

from services.govsim.app import CountrySimulators, GovsimSettings, create_app
from services.govsim.pl import repository
from services.govsim.pl.sessions import KsefSimulator, RateGroup
from services.govsim.rate_limits import RateLimit
from tests.libs.governments.inboxes import (
    assert_nothing_comes_again,
    first_look,
    ids,
    read_all,
    received,
)
from tests.libs.governments.pl.nips import random_nip
from tests.libs.pipeline.filing_rows import connected_company
from tests.libs.pipeline.hostile import (
    assert_received_as_delivered,
    hostile_documents,
    receive_with_the_machine,
)
from tests.services.govsim.simtools import FakeClock

pytestmark = [pytest.mark.postgres]


def roomy(key: str) -> TokenBucket:
    """A bucket that never runs dry in a test (KSeF's 20 queries an hour would)."""
    return TokenBucket(f"test:{key}:{secrets.token_hex(4)}", capacity=1000, per_second=1000)


@dataclass
class Company:
    """A connected buyer, the simulated KSeF it reads, and how its inbox is opened."""

    nip: str
    connection_id: str
    simulator: KsefSimulator
    clock: FakeClock
    http: httpx.AsyncClient
    tools: RenewalTools
    access_token: str

    def inbox(self) -> KsefInbox:
        """A new inbox object each time, as a restarted receiver would make it."""
        endpoint = self.tools.settings.governments().ksef.for_mode(False)
        return KsefInbox(
            self.tools,
            endpoint,
            connection_id=self.connection_id,
            nip=self.nip,
            clock=self.clock.utc,
        )

    async def deliver(self) -> str:
        """A sample purchase invoice delivered to the company's NIP now, and a second passes;
        its KSeF number."""
        response = await self.http.post("/_sim/pl/purchase-invoices", json={"nip": self.nip})
        assert response.status_code == 201, response.text
        self.clock.advance(1)
        number: str = response.json()["ksefNumber"]
        return number

    def stored(self, number: str) -> repository.StoredInvoice:
        return self.simulator.stored(number, self.nip)


@pytest.fixture
def unlimited(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clearway's buckets out of the way (the throttling tests keep them)."""
    monkeypatch.setattr(receiving, "metadata_bucket", lambda nip: roomy(f"metadata:{nip}"))
    monkeypatch.setattr(receiving, "download_bucket", lambda nip: roomy(f"download:{nip}"))


@pytest_asyncio.fixture
async def company(store_db: asyncpg.Pool[Any], keyring: Any) -> AsyncIterator[Company]:
    clock = FakeClock()
    simulator = KsefSimulator(processing_delay=0, clock=clock)
    simulator.auth.auth_delay = 0  # the product polls in real time; the clock stands still
    for group in (RateGroup.INVOICE_METADATA, RateGroup.INVOICE_DOWNLOAD):
        simulator.rate_limits[group] = RateLimit()
    govsim = create_app(GovsimSettings(), simulators=CountrySimulators(ksef=simulator))
    host = f"http://ksef-{secrets.token_hex(4)}"
    settings = Settings(
        database_url="unused",
        kafka_bootstrap="unused",
        ksef=KsefSettings(api_url=f"{host}/v2"),
    )
    nip = random_nip()
    transport = httpx.ASGITransport(app=govsim)
    async with (
        httpx.AsyncClient(transport=transport, base_url=host) as http,
        store_db.acquire() as conn,
    ):
        ksef_token = simulator.auth.register_ksef_token(nip, None)
        tokens = await KsefAuthClient(f"{host}/v2", http, poll_interval=0).authenticate_with_token(
            ksef_token, nip
        )
        account_id = await create_account(conn, "receiving PL")
        connection_id = await connected_company(conn, account_id, "PL", vat_number=f"PL{nip}")
        await store_secrets(
            conn,
            connection_id,
            {SecretKind.ACCESS_TOKEN: tokens.access_token, SecretKind.KSEF_TOKEN: ksef_token},
        )
        yield Company(
            nip,
            connection_id,
            simulator,
            clock,
            http,
            RenewalTools(settings, http, store_db, keyring),
            tokens.access_token,
        )


async def test_the_registry_gives_poland_its_inbox_and_live_without_a_live_ksef_none(
    company: Company,
) -> None:
    context: Any = SimpleNamespace(settings=company.tools.settings, pool=company.tools.pool)
    row = {"id": company.connection_id, "livemode": False, "vat_number": f"PL{company.nip}"}

    made = government("PL").inbox(context, company.http, row)

    assert isinstance(made, KsefInbox)
    with pytest.raises(LiveNotConfiguredError):
        government("PL").inbox(context, company.http, {**row, "livemode": True})


@pytest.mark.usefixtures("unlimited")
async def test_a_delivered_invoice_comes_back_once_with_its_exact_bytes_and_record(
    company: Company,
) -> None:
    number = await company.deliver()

    delivery, page = await first_look(company.inbox())

    stored = company.stored(number)
    assert delivery.government_id == number
    assert delivery.document == stored.content
    assert delivery.media_type == "application/xml"
    assert delivery.finding is None
    assert delivery.evidence_media_type == "application/json"
    record = json.loads(delivery.evidence or b"")
    assert record["ksefNumber"] == number
    assert record["buyer"]["identifier"] == {"type": "Nip", "value": company.nip}
    assert (
        record["invoiceHash"] == base64.b64encode(hashlib.sha256(stored.content).digest()).decode()
    )
    assert delivery.delivered_at == dt.datetime.fromtimestamp(stored.acquired_at, dt.UTC)
    await assert_nothing_comes_again(company.inbox, company.clock, page, later=300)


@pytest.mark.usefixtures("unlimited")
async def test_every_page_is_read_and_nothing_comes_twice(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "PAGE_SIZE", 10)  # KSeF's smallest
    delivered = [await company.deliver() for _ in range(25)]

    pages, _ = await read_all(company.inbox(), None)

    assert [page.more for page in pages] == [True, True, False]
    assert [len(page.deliveries) for page in pages] == [10, 10, 5]
    assert received(pages) == delivered  # in KSeF's order: when each was stored


@pytest.mark.usefixtures("unlimited")
async def test_a_range_ksef_truncates_goes_on_from_its_last_record(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "PAGE_SIZE", 10)
    monkeypatch.setattr(repository, "QUERY_RECORD_LIMIT", 20)
    delivered = [await company.deliver() for _ in range(25)]

    pages, _ = await read_all(company.inbox(), None)

    assert received(pages) == delivered


@pytest.mark.usefixtures("unlimited")
async def test_a_restart_from_the_saved_cursor_yields_nothing_twice_and_loses_nothing(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "PAGE_SIZE", 10)
    first = [await company.deliver() for _ in range(12)]
    page_one = await company.inbox().fetch(None)
    assert page_one.more
    # The receiver stops here; meanwhile three more invoices arrive.
    later = [await company.deliver() for _ in range(3)]

    restarted, cursor = await read_all(company.inbox(), page_one.cursor)
    company.clock.advance(120)
    after, _ = await read_all(company.inbox(), cursor)

    everything = ids(page_one.deliveries) + received(restarted) + received(after)
    assert everything == first + later


@pytest.mark.usefixtures("unlimited")
async def test_a_cursor_far_back_is_read_a_range_ksef_takes_at_a_time(company: Company) -> None:
    number = await company.deliver()
    now = dt.datetime.fromtimestamp(company.clock(), dt.UTC)
    cursor: str | None = InboxCursor(start=now - dt.timedelta(days=200)).dump()

    found: list[list[str]] = []
    starts: list[dt.datetime] = []
    for _ in range(3):  # 88 days, 88 days, then up to now: KSeF refuses more than 3 months
        page = await company.inbox().fetch(cursor)
        found.append(ids(page.deliveries))
        cursor = page.cursor or cursor
        starts.append(dt.datetime.fromisoformat(json.loads(cursor or "")["from"]))

    assert found == [[], [], [number]]
    assert starts == [now - dt.timedelta(days=200 - 88 * n) for n in (1, 2)] + [now]


@pytest.mark.usefixtures("unlimited")
async def test_an_invoice_stamped_at_a_windows_end_is_handed_over_once(
    company: Company,
) -> None:
    number = await company.deliver()
    company.clock.advance(-1)  # the look's high water mark is the invoice's own stamp
    page = await company.inbox().fetch(None)
    company.clock.advance(60)

    again = await company.inbox().fetch(page.cursor)

    assert ids(page.deliveries) == [number]
    assert again.deliveries == ()
    cursor = json.loads(page.cursor or "")
    assert number in cursor["seen"]  # the next window starts where it was stamped


async def test_ksefs_own_query_limit_is_a_typed_error_with_its_retry_after(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "download_bucket", lambda nip: roomy(f"download:{nip}"))
    monkeypatch.setattr(receiving, "metadata_bucket", lambda nip: roomy(f"metadata:{nip}"))
    company.simulator.rate_limits[RateGroup.INVOICE_METADATA] = RateLimit(per_minute=1)
    page = await company.inbox().fetch(None)

    with pytest.raises(InboxHeldBackError) as held:
        await company.inbox().fetch(page.cursor)

    assert held.value.at > dt.datetime.now(dt.UTC)
    assert "KSeF's call limit" in held.value.reason


async def test_clearways_own_query_limit_holds_the_look_back_without_asking_ksef(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"test:metadata:{secrets.token_hex(4)}"
    monkeypatch.setattr(
        receiving, "metadata_bucket", lambda _nip: TokenBucket(key, capacity=1, per_second=0.001)
    )
    monkeypatch.setattr(receiving, "download_bucket", lambda nip: roomy(f"download:{nip}"))
    await company.inbox().fetch(None)
    company.simulator.rate_limits[RateGroup.INVOICE_METADATA] = RateLimit(per_hour=1)

    with pytest.raises(InboxHeldBackError) as held:
        await company.inbox().fetch(None)

    assert held.value.reason == "KSeF's metadata query limit"
    assert held.value.at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    # KSeF was not asked: its one query an hour is still there to take.
    assert (
        company.simulator.over_limit(RateGroup.INVOICE_METADATA, f"{company.nip}|127.0.0.1") is None
    )


async def test_downloads_throttled_midway_keep_the_pages_progress(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "metadata_bucket", lambda nip: roomy(f"metadata:{nip}"))
    monkeypatch.setattr(receiving, "download_bucket", lambda nip: roomy(f"download:{nip}"))
    delivered = [await company.deliver() for _ in range(3)]
    company.simulator.rate_limits[RateGroup.INVOICE_DOWNLOAD] = RateLimit(per_minute=2)

    part = await company.inbox().fetch(None)
    assert len(part.deliveries) == 2
    with pytest.raises(InboxHeldBackError):
        await company.inbox().fetch(part.cursor)  # still within the minute

    company.clock.advance(60)
    rest = await company.inbox().fetch(part.cursor)
    assert ids(part.deliveries) + ids(rest.deliveries) == delivered


@pytest.mark.usefixtures("unlimited")
async def test_a_refused_token_is_renewed_once_and_the_look_goes_on(company: Company) -> None:
    number = await company.deliver()
    company.simulator.auth.expire_token(company.access_token)

    page = await company.inbox().fetch(None)

    assert ids(page.deliveries) == [number]


@pytest.mark.usefixtures("unlimited")
async def test_a_download_whose_bytes_ksef_did_not_hash_is_handed_over_with_a_finding(
    company: Company,
) -> None:
    number = await company.deliver()
    index = next(
        i for i, stored in enumerate(company.simulator.repository) if stored.ksef_number == number
    )
    company.simulator.repository[index] = dataclasses.replace(
        company.simulator.repository[index], content=b"<Faktura>tampered</Faktura>"
    )

    (delivery,) = (await company.inbox().fetch(None)).deliveries

    assert delivery.document == b"<Faktura>tampered</Faktura>"
    assert delivery.finding is not None
    assert delivery.finding.startswith(f"KSeF invoice {number}: the download's SHA-256")


@pytest.mark.usefixtures("unlimited")
async def test_a_hostile_document_is_received_with_a_finding_and_the_rest_go_on(
    company: Company, store_db: asyncpg.Pool[Any]
) -> None:
    good = await company.deliver()
    hostile = {}
    for document in hostile_documents("PL").values():
        number = await company.deliver()
        repository = company.simulator.repository
        index = next(i for i, stored in enumerate(repository) if stored.ksef_number == number)
        # KSeF keeps other bytes than it accepted, and hashes them: the download is read.
        repository[index] = dataclasses.replace(
            repository[index],
            content=document.content,
            invoice_hash=base64.b64encode(hashlib.sha256(document.content).digest()).decode(),
        )
        hostile[number] = document
    other = await company.deliver()

    rows = await receive_with_the_machine(store_db, company.inbox(), "PL")  # one look

    assert set(rows) == {good, *hostile, other}
    assert_received_as_delivered(rows, hostile)
    # The sample: 2 x 500 + 100 at 23 %.
    assert [rows[n]["gross_amount"] for n in (good, other)] == [Decimal("1353.00")] * 2


# --- the cursor (pure) ---------------------------------------------------------------------

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def _row(number: str, stored_at: dt.datetime) -> Listed:
    return Listed(number, stored_at, {"ksefNumber": number})


def test_the_first_look_reaches_one_range_back_and_asks_up_to_the_high_water_mark() -> None:
    first = InboxCursor.load(None, NOW)

    assert first.start == NOW - MAX_WINDOW
    assert first.end_to_ask(NOW) is None
    assert InboxCursor.load('{"garbage": true}', NOW) == InboxCursor.first(NOW)


def test_a_start_further_back_than_ksef_takes_is_read_a_range_at_a_time() -> None:
    stale = InboxCursor(start=NOW - dt.timedelta(days=200))

    assert stale.end_to_ask(NOW) == NOW - dt.timedelta(days=200) + MAX_WINDOW


def test_a_window_read_to_its_end_opens_the_next_at_it_keeping_only_what_it_may_list() -> None:
    end = NOW - dt.timedelta(seconds=5)
    window = InboxCursor(start=NOW - dt.timedelta(hours=1))
    early, at_end = _row("A", NOW - dt.timedelta(minutes=30)), _row("B", end)

    on_page_two = window.after_page(end, [early], has_more=True, truncated=False)
    done = on_page_two.after_page(end, [at_end], has_more=False, truncated=False)

    assert (on_page_two.page, on_page_two.end, set(on_page_two.seen)) == (1, end, {"A"})
    assert (done.start, done.end, done.page, set(done.seen)) == (end, None, 0, {"B"})
    assert InboxCursor.load(done.dump(), NOW) == done


def test_a_truncated_window_goes_on_from_its_last_record_at_page_zero() -> None:
    end = NOW
    window = InboxCursor(start=NOW - dt.timedelta(hours=1), end=end, page=99)
    last = NOW - dt.timedelta(minutes=10)
    rows = [_row("A", last - dt.timedelta(minutes=1)), _row("B", last), _row("C", last)]

    narrowed = window.after_page(end, rows, has_more=True, truncated=True)

    assert (narrowed.start, narrowed.end, narrowed.page) == (last, end, 0)
    assert set(narrowed.seen) == {"B", "C"}

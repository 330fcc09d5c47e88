"""ANAF's Inbox (governments/ro/receiving.py) against the simulated ANAF, in process, with real
PostgreSQL for the connection's token and ANAF's quotas: every purchase invoice delivered to
the company comes back once, byte for byte with ANAF's seal, across pages and restarts; a broken
download is handed over with a finding; ANAF's limits are typed errors to back off on."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from clearway.config import LiveNotConfiguredError
from clearway.domain.ids import utcnow
from clearway.governments import government
from clearway.governments.inbox import InboxHeldBackError
from clearway.governments.ro import receiving
from clearway.governments.ro.client import ROMANIA, ListedMessage, download_quota
from clearway.governments.ro.receiving import (
    MAX_ENTRY_BYTES,
    AnafInbox,
    BrokenDownloadError,
    InboxCursor,
    unpack_download,
)
from clearway.resilience.ratelimit import DailyQuota, calls_left, count_call
from lxml import etree

from services.govsim.ro import lists
from tests.libs.governments.inboxes import (
    assert_nothing_comes_again,
    first_look,
    ids,
    read_all,
)
from tests.libs.governments.ro.conftest import Company
from tests.libs.governments.ro.listed import listed_message
from tests.libs.pipeline.hostile import (
    assert_received_as_delivered,
    hostile_documents,
    receive_with_the_machine,
    unreadable_because,
)

pytestmark = [pytest.mark.postgres]

XMLDSIG = {"ds": "http://www.w3.org/2000/09/xmldsig#"}


async def test_the_registry_gives_romania_an_inbox_and_a_government_without_one_none(
    company: Company,
) -> None:
    made = government("RO").inbox(company.context(), company.http, company.row(livemode=False))
    assert isinstance(made, AnafInbox)
    assert government("IT").inbox(company.context(), company.http, company.row()) is None


async def test_a_delivered_invoice_comes_back_once_with_its_exact_bytes_and_seal(
    company: Company,
) -> None:
    delivered = await company.deliver()

    delivery, page = await first_look(company.inbox())

    entries = _zip(company.download(delivered["id"]))
    invoice = entries[f"{delivered['id_solicitare']}.xml"]
    assert delivery.government_id == delivered["id"]
    assert delivery.document == invoice
    assert delivery.media_type == "application/xml"
    assert delivery.evidence == entries[f"semnatura_{delivered['id_solicitare']}.xml"]
    assert delivery.evidence_media_type == "application/xml"
    assert delivery.finding is None
    seal = etree.fromstring(delivery.evidence or b"")
    digest = seal.findtext("ds:SignedInfo/ds:Reference/ds:DigestValue", namespaces=XMLDSIG)
    assert digest == base64.b64encode(hashlib.sha256(delivery.document).digest()).decode()
    assert delivery.delivered_at == dt.datetime.fromtimestamp(
        company.clock() - 60, ROMANIA
    ).replace(second=0, microsecond=0)
    await assert_nothing_comes_again(company.inbox, company.clock, page, later=300)


async def test_every_page_is_read_and_nothing_comes_twice(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "LIST_PAGE_SIZE", 2)
    delivered = [(await company.deliver())["id"] for _ in range(5)]

    pages, _ = await read_all(company.inbox(), None)

    assert [page.more for page in pages] == [True, True, False]
    assert [len(page.deliveries) for page in pages] == [2, 2, 1]
    received = [delivery for page in pages for delivery in page.deliveries]
    assert sorted(ids(received)) == sorted(delivered)


async def test_a_restart_from_the_saved_cursor_yields_nothing_twice_and_loses_nothing(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "LIST_PAGE_SIZE", 2)
    first = [(await company.deliver())["id"] for _ in range(3)]
    page_one = await company.inbox().fetch(None)
    assert page_one.more
    # The receiver stops here; meanwhile two more invoices arrive.
    later = [(await company.deliver())["id"] for _ in range(2)]

    restarted, cursor = await read_all(company.inbox(), page_one.cursor)
    company.clock.advance(120)
    # The next window overlaps the last one (ANAF may list a row late): all five are listed
    # again, and none comes twice.
    after, _ = await read_all(company.inbox(), cursor)

    received = ids(page_one.deliveries) + [
        delivery.government_id for page in restarted + after for delivery in page.deliveries
    ]
    assert sorted(received) == sorted(first + later)
    assert len(received) == len(set(received))


async def test_a_broken_zip_or_a_hostile_document_is_received_with_a_finding_and_the_rest_go_on(
    company: Company, store_db: asyncpg.Pool[Any]
) -> None:
    good = (await company.deliver())["id"]
    broken = (await company.deliver(damaged=True))["id"]
    hostile = {}
    for document in hostile_documents("RO").values():
        message_id = (await company.deliver())["id"]
        message = company.simulator.message_by_download_id(int(message_id), "test")
        assert message is not None  # ANAF hands over other bytes than it accepted
        message.submission = dataclasses.replace(message.submission, body=document.content)
        hostile[message_id] = document
    other = (await company.deliver())["id"]

    rows = await receive_with_the_machine(store_db, company.inbox(), "RO")  # one look

    assert set(rows) == {good, broken, *hostile, other}
    assert (rows[broken]["media_type"], rows[broken]["evidence"]) == ("application/zip", None)
    assert bytes(rows[broken]["document"]) == company.download(broken)
    assert unreadable_because(rows[broken]).startswith(f"ANAF message {broken}: not a readable ZIP")
    assert_received_as_delivered(rows, hostile)
    # The sample: 2 x 500 + 100 at 21 %.
    assert [rows[m]["gross_amount"] for m in (good, other)] == [Decimal("1331.00")] * 2


async def test_the_daily_list_quota_spent_is_a_typed_error_until_anafs_next_day(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_a_day(cif: str) -> DailyQuota:
        return DailyQuota(f"anaf:lista-paginata:{cif}", 1, ROMANIA)

    monkeypatch.setattr(receiving, "paged_list_quota", one_a_day)
    await company.deliver()
    page = await company.inbox().fetch(None)
    assert len(page.deliveries) == 1

    with pytest.raises(InboxHeldBackError) as held:
        await company.inbox().fetch(page.cursor)

    tomorrow = dt.datetime.now(ROMANIA).date() + dt.timedelta(days=1)
    assert held.value.at == dt.datetime.combine(tomorrow, dt.time(), ROMANIA)
    assert "anaf:lista-paginata" in held.value.reason


async def test_anafs_429_is_a_typed_error_and_a_page_read_in_part_keeps_its_progress(
    company: Company,
) -> None:
    delivered = [(await company.deliver())["id"] for _ in range(2)]
    company.simulator.requests_per_minute = 2  # the list and one download

    part = await company.inbox().fetch(None)
    assert len(part.deliveries) == 1
    with pytest.raises(InboxHeldBackError) as held:
        await company.inbox().fetch(part.cursor)  # still within the minute
    assert held.value.at > dt.datetime.now(dt.UTC)

    company.clock.advance(60)
    rest = await company.inbox().fetch(part.cursor)
    assert sorted(ids(part.deliveries) + ids(rest.deliveries)) == sorted(delivered)


async def test_a_refused_token_is_refreshed_once_and_the_look_goes_on(company: Company) -> None:
    delivered = (await company.deliver())["id"]
    company.simulator.oauth.expire(company.access_token)

    page = await company.inbox().fetch(None)

    assert ids(page.deliveries) == [delivered]


# --- the download, opened safely (pure) ----------------------------------------------------


def _zip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"../../etc/cron.d/x.xml": b"<a/>"}, "an entry named '../../etc/cron.d/x.xml'"),
        ({"sub/1.xml": b"<a/>"}, "an entry named 'sub/1.xml'"),
        ({"1.xml": b"\0" * (MAX_ENTRY_BYTES + 1)}, f"1.xml exceeds {MAX_ENTRY_BYTES} bytes"),
        ({"semnatura_1.xml": b"<s/>"}, "holds 0 invoice files"),
        ({"1.xml": b"<a/>", "2.xml": b"<b/>"}, "holds 2 invoice files"),
        ({f"{n}.txt": b"" for n in range(9)}, "holds 9 entries"),
    ],
    ids=["traversal", "folder", "bomb", "no-invoice", "two-invoices", "many-entries"],
)
def test_a_download_not_as_anaf_makes_them_is_a_typed_error_naming_the_message(
    entries: dict[str, bytes], reason: str
) -> None:
    with pytest.raises(BrokenDownloadError) as broken:
        unpack_download("3000000042", _zipped(entries))

    assert str(broken.value) == f"ANAF message 3000000042: {broken.value.reason}"
    assert reason in broken.value.reason


def test_an_anaf_zip_gives_its_invoice_and_seal() -> None:
    content = _zipped({"5000000001.xml": b"<Invoice/>", "semnatura_5000000001.xml": b"<S/>"})

    assert unpack_download("1", content) == (b"<Invoice/>", b"<S/>")


async def test_a_message_anaf_will_not_let_download_is_handed_over_with_its_words(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = (await company.deliver())["id"]
    monkeypatch.setattr(company.simulator, "message_by_download_id", lambda *_: None)

    (delivery,) = (await company.inbox().fetch(None)).deliveries

    refusal = f"Pentru id={gone} nu exista inregistrata nici o factura"
    assert delivery.government_id == gone
    assert delivery.media_type == "application/json"
    assert json.loads(delivery.document) == {"eroare": refusal}
    assert delivery.finding == f"ANAF message {gone}: ANAF refused its download ({refusal})"


# --- the cursor (pure) ---------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _row(download_id: str, created: dt.datetime) -> ListedMessage:
    return listed_message(created, download_id=download_id)


def test_the_first_look_reaches_back_no_further_than_anaf_keeps() -> None:
    window = InboxCursor.load(None, NOW).opened(NOW)

    assert window is not None
    assert window.start_ms == int((NOW - dt.timedelta(days=60, minutes=-5)).timestamp() * 1000)
    assert window.end_ms == int((NOW - dt.timedelta(seconds=1)).timestamp() * 1000)
    assert InboxCursor.load('{"garbage": true}', NOW) == InboxCursor.first(NOW)


def test_a_window_read_to_its_end_opens_the_next_overlapping_it_keeping_only_its_ids() -> None:
    window = InboxCursor.load(None, NOW).opened(NOW)
    assert window is not None
    old, recent = _row("1", NOW - dt.timedelta(hours=1)), _row("2", NOW - dt.timedelta(minutes=3))

    on_page_two = window.after_page([recent, old], pages=2)
    done = on_page_two.after_page([], pages=2)

    assert (on_page_two.page, on_page_two.end_ms, set(on_page_two.seen)) == (
        2,
        window.end_ms,
        {"1", "2"},
    )
    assert done.end_ms is None
    assert done.start_ms == (window.end_ms or 0) - 10 * 60_000
    assert set(done.seen) == {"2"}  # only what the next window lists again
    assert InboxCursor.load(done.dump(), NOW) == done


def test_an_open_window_older_than_anafs_sixty_days_is_narrowed_or_opened_afresh() -> None:
    stale = InboxCursor(start_ms=0, end_ms=int(NOW.timestamp() * 1000), page=3)
    later = NOW + dt.timedelta(days=1)

    narrowed = stale.opened(later)
    gone = stale.opened(NOW + dt.timedelta(days=61))

    assert narrowed is not None
    assert narrowed.page == 3
    assert narrowed.start_ms == int((later - receiving.LOOKBACK).timestamp() * 1000)
    assert gone is not None
    assert gone.page == 1
    assert gone.end_ms == int((NOW + dt.timedelta(days=61, seconds=-1)).timestamp() * 1000)


async def test_a_message_whose_downloads_are_spent_today_holds_the_look_back_unasked(
    company: Company, store_db: asyncpg.Pool[Any]
) -> None:
    delivered = (await company.deliver())["id"]
    quota = download_quota(delivered)
    async with store_db.acquire() as conn:
        # Spent today by someone else (the supplier's status follower). What is left, not 10: a
        # simulator of an earlier test may have given out, and Clearway counted, the same id.
        for _ in range(await calls_left(conn, quota, utcnow())):
            assert await count_call(conn, quota, utcnow())

    with pytest.raises(InboxHeldBackError) as held:
        await company.inbox().fetch(None)

    assert held.value.reason == f"ANAF's daily quota (anaf:descarcare:{delivered})"
    assert company.simulator.calls_today("descarcare", delivered) == 0


async def test_a_live_connection_without_a_live_anaf_configured_has_no_inbox(
    company: Company,
) -> None:
    with pytest.raises(LiveNotConfiguredError):
        government("RO").inbox(company.context(), company.http, company.row(livemode=True))

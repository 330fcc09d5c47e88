"""The simulated KSeF's receiving side: a purchase invoice delivered to a buyer's NIP (the sandbox
control) or accepted from its seller in a session, found by the buyer with the metadata query
(Subject2, date ranges, paging, the 10 000-record truncation), downloaded by KSeF number, within
KSeF's limits and with its error bodies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest
from clearway.governments.pl.reading import read_document
from lxml import etree

from services.govsim.pl import repository
from services.govsim.pl.sessions import KsefSimulator, RateGroup
from services.govsim.rate_limits import RateLimit
from tests.services.govsim.pl.test_pl_sim import (
    API,
    BUYER_NIP,
    CONTROL,
    FA3_NS,
    PROCESSING_DELAY,
    SELLER_NIP,
    Ksef,
    access_token,
    bearer,
    exception_codes,
    fa3_invoice,
    http,
    ksef,
    sha256_b64,
    simulator,
)
from tests.services.govsim.simtools import FakeClock

__all__ = ["access_token", "http", "ksef", "simulator"]  # the fixtures, used by name

DAY = dt.timedelta(days=1)


async def deliver(http: httpx.AsyncClient, **request: Any) -> dict[str, Any]:
    response = await http.post(f"{CONTROL}/purchase-invoices", json={"nip": BUYER_NIP, **request})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def iso(at: dt.datetime) -> str:
    return at.isoformat()


def now_of(clock: FakeClock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock(), dt.UTC)


async def query(
    http: httpx.AsyncClient,
    token: str,
    clock: FakeClock,
    *,
    subject: str = "Subject2",
    date_type: str = "PermanentStorage",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    params: dict[str, str] | None = None,
    **filters: Any,
) -> httpx.Response:
    """POST /invoices/query/metadata over the last day, unless told otherwise."""
    date_range: dict[str, Any] = {
        "dateType": date_type,
        "from": iso(start or now_of(clock) - DAY),
    }
    if end is not None:
        date_range["to"] = iso(end)
    return await http.post(
        f"{API}/invoices/query/metadata",
        params=params or {},
        headers=bearer(token),
        json={"subjectType": subject, "dateRange": date_range, **filters},
    )


@pytest.fixture
async def buyer_token(ksef: Ksef) -> str:
    token: str = (await ksef.login(BUYER_NIP))["accessToken"]["token"]
    return token


@pytest.fixture(autouse=True)
def no_limits(simulator: KsefSimulator) -> None:
    """The query's 20 an hour would end most tests early; the limit test sets its own."""
    simulator.rate_limits[RateGroup.INVOICE_METADATA] = RateLimit()
    simulator.rate_limits[RateGroup.INVOICE_DOWNLOAD] = RateLimit()


async def test_a_delivered_invoice_is_listed_for_its_buyer_and_downloads_byte_for_byte(
    http: httpx.AsyncClient, clock: FakeClock, buyer_token: str
) -> None:
    body = fa3_invoice(issue_date=now_of(clock).date().isoformat())
    delivered = await deliver(http, xml=body.decode())
    assert delivered["sellerNip"] == SELLER_NIP
    clock.advance(5)

    page = (await query(http, buyer_token, clock)).json()

    number = delivered["ksefNumber"]
    assert number.startswith(f"{SELLER_NIP}-")
    assert page["hasMore"] is False
    assert page["isTruncated"] is False
    assert page["permanentStorageHwmDate"] == iso(now_of(clock))
    (record,) = page["invoices"]
    assert record["ksefNumber"] == number
    assert record["invoiceNumber"] == "FV/2026/06/0001"
    assert record["seller"] == {"nip": SELLER_NIP, "name": "Sprzedawca sp. z o.o."}
    assert record["buyer"] == {
        "identifier": {"type": "Nip", "value": BUYER_NIP},
        "name": "Nabywca S.A.",
    }
    assert (record["netAmount"], record["vatAmount"], record["grossAmount"]) == (100, 23, 123)
    assert record["invoiceType"] == "Vat"
    assert record["formCode"] == {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
    assert record["invoiceHash"] == sha256_b64(body)
    assert record["permanentStorageDate"] == delivered["permanentStorageDate"]

    download = await http.get(f"{API}/invoices/ksef/{number}", headers=bearer(buyer_token))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/xml")
    assert download.content == body
    assert download.headers["x-ms-meta-hash"] == sha256_b64(body)


async def test_the_seller_finds_it_as_subject1_and_nobody_else_finds_it(
    http: httpx.AsyncClient, clock: FakeClock, ksef: Ksef, buyer_token: str
) -> None:
    number = (await deliver(http))["ksefNumber"]
    seller_token = (await ksef.login(SELLER_NIP))["accessToken"]["token"]
    other_token = (await ksef.login("9510000009"))["accessToken"]["token"]

    as_seller = (await query(http, seller_token, clock, subject="Subject1")).json()
    seller_as_buyer = (await query(http, seller_token, clock)).json()
    as_other = (await query(http, other_token, clock)).json()
    other_download = await http.get(f"{API}/invoices/ksef/{number}", headers=bearer(other_token))

    assert [record["ksefNumber"] for record in as_seller["invoices"]] == [number]
    assert seller_as_buyer["invoices"] == []
    assert as_other["invoices"] == []
    assert other_download.status_code == 400
    assert exception_codes(other_download) == [21164]
    assert (await query(http, buyer_token, clock, subject="Subject1")).json()["invoices"] == []


async def test_the_sample_is_an_fa3_rendered_for_the_buyer(
    http: httpx.AsyncClient, buyer_token: str
) -> None:
    delivered = await deliver(http)

    download = await http.get(
        f"{API}/invoices/ksef/{delivered['ksefNumber']}", headers=bearer(buyer_token)
    )

    root = etree.fromstring(download.content)
    assert etree.QName(root).namespace == FA3_NS
    read = read_document(download.content, "application/xml")
    assert read.request.customer.vat_number is not None
    assert read.request.customer.vat_number.endswith(BUYER_NIP)
    assert read.request.supplier.vat_number.endswith(delivered["sellerNip"])
    assert read.stated.tax_inclusive == Decimal("1353.00")  # 2 x 500 + 100, 23% VAT


async def test_an_invoice_accepted_in_a_session_is_found_by_its_buyer_once_stored(
    http: httpx.AsyncClient, clock: FakeClock, ksef: Ksef, access_token: str, buyer_token: str
) -> None:
    invoice = fa3_invoice(issue_date=now_of(clock).date().isoformat())
    done = await ksef.final_status(access_token, invoice)
    assert done["status"]["code"] == 200
    clock.advance(1)  # stored for good a second after its KSeF number

    found = (await query(http, buyer_token, clock)).json()["invoices"]

    assert [record["ksefNumber"] for record in found] == [done["ksefNumber"]]
    assert found[0]["permanentStorageDate"] == done["permanentStorageDate"]
    download = await http.get(
        f"{API}/invoices/ksef/{done['ksefNumber']}", headers=bearer(buyer_token)
    )
    assert download.content == invoice


async def test_an_invoice_not_yet_stored_is_neither_listed_nor_downloadable(
    http: httpx.AsyncClient, clock: FakeClock, ksef: Ksef, access_token: str, buyer_token: str
) -> None:
    session = await ksef.open_session(access_token)
    reference = await ksef.send_ok(access_token, session, fa3_invoice())
    clock.advance(PROCESSING_DELAY)  # numbered now, stored a second later
    number = (await ksef.invoice_status(access_token, session, reference))["ksefNumber"]

    listed = (await query(http, buyer_token, clock)).json()["invoices"]
    early = await http.get(f"{API}/invoices/ksef/{number}", headers=bearer(buyer_token))

    assert listed == []
    assert early.status_code == 400
    assert exception_codes(early) == [21165]
    clock.advance(1)
    later = await http.get(f"{API}/invoices/ksef/{number}", headers=bearer(buyer_token))
    assert later.status_code == 200


async def test_pages_follow_the_date_in_order_and_the_range_bounds_them(
    http: httpx.AsyncClient, clock: FakeClock, buyer_token: str
) -> None:
    start = now_of(clock)
    numbers = []
    for _ in range(12):
        numbers.append((await deliver(http))["ksefNumber"])
        clock.advance(10)

    first = (await query(http, buyer_token, clock, start=start)).json()
    second = (await query(http, buyer_token, clock, start=start, params={"pageOffset": "1"})).json()
    newest_first = (
        await query(http, buyer_token, clock, start=start, params={"sortOrder": "Desc"})
    ).json()
    bounded = (
        await query(
            http,
            buyer_token,
            clock,
            start=start + dt.timedelta(seconds=15),
            end=start + dt.timedelta(seconds=35),
        )
    ).json()

    assert (first["hasMore"], second["hasMore"]) == (True, False)
    listed = [r["ksefNumber"] for r in first["invoices"] + second["invoices"]]
    assert listed == numbers
    assert [r["ksefNumber"] for r in newest_first["invoices"]] == numbers[::-1][:10]
    assert [r["ksefNumber"] for r in bounded["invoices"]] == numbers[2:4]
    assert bounded["permanentStorageHwmDate"] == iso(start + dt.timedelta(seconds=35))


async def test_a_filter_set_past_the_record_limit_is_truncated(
    http: httpx.AsyncClient,
    clock: FakeClock,
    buyer_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(repository, "QUERY_RECORD_LIMIT", 20)
    for _ in range(25):
        await deliver(http)
        clock.advance(1)

    second = (await query(http, buyer_token, clock, params={"pageOffset": "1"})).json()
    beyond = (await query(http, buyer_token, clock, params={"pageOffset": "2"})).json()

    assert (second["hasMore"], second["isTruncated"], len(second["invoices"])) == (True, True, 10)
    assert (beyond["invoices"], beyond["isTruncated"]) == ([], True)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"subjectType": "Buyer"}, "subjectType"),
        ({"dateRange": {"dateType": "PermanentStorage"}}, "dateRange.from"),
        ({"dateRange": {"dateType": "Received", "from": "2026-01-01T00:00:00Z"}}, "dateType"),
        (
            {
                "dateRange": {
                    "dateType": "Issue",
                    "from": "2026-01-01T00:00:00Z",
                    "to": "2026-04-02T00:00:00Z",
                }
            },
            "3 miesiące",
        ),
    ],
    ids=["subject", "no-from", "date-type", "over-three-months"],
)
async def test_a_query_ksef_would_refuse_answers_its_validation_error(
    http: httpx.AsyncClient, buyer_token: str, change: dict[str, Any], detail: str
) -> None:
    body = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "PermanentStorage", "from": "2026-05-31T00:00:00Z"},
        **change,
    }

    response = await http.post(
        f"{API}/invoices/query/metadata", headers=bearer(buyer_token), json=body
    )

    assert response.status_code == 400
    assert exception_codes(response) == [21405]
    (entry,) = response.json()["exception"]["exceptionDetailList"]
    assert detail in " ".join(entry["details"])


async def test_a_page_size_outside_ten_to_250_is_refused(
    http: httpx.AsyncClient, clock: FakeClock, buyer_token: str
) -> None:
    for size in ("9", "251"):
        response = await query(http, buyer_token, clock, params={"pageSize": size})
        assert response.status_code == 400
        assert exception_codes(response) == [21405]


async def test_a_start_past_the_high_water_mark_is_refused_when_restricted(
    http: httpx.AsyncClient, clock: FakeClock, buyer_token: str
) -> None:
    response = await http.post(
        f"{API}/invoices/query/metadata",
        headers=bearer(buyer_token),
        json={
            "subjectType": "Subject2",
            "dateRange": {
                "dateType": "PermanentStorage",
                "from": iso(now_of(clock) + dt.timedelta(minutes=5)),
                "restrictToPermanentStorageHwmDate": True,
            },
        },
    )

    assert response.status_code == 400
    assert exception_codes(response) == [21183]


async def test_the_query_limit_answers_429_with_retry_after(
    http: httpx.AsyncClient, clock: FakeClock, buyer_token: str, simulator: KsefSimulator
) -> None:
    simulator.rate_limits[RateGroup.INVOICE_METADATA] = RateLimit(8, 16, 20)
    for _ in range(16):  # within the per-second limit, up to the per-minute one
        assert (await query(http, buyer_token, clock)).status_code == 200
        clock.advance(0.2)

    refused = await query(http, buyer_token, clock)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["status"]["code"] == 429
    clock.advance(60)
    assert (await query(http, buyer_token, clock)).status_code == 200


async def test_a_delivery_ksef_would_not_accept_or_for_another_buyer_is_refused(
    http: httpx.AsyncClient,
) -> None:
    other_buyer = await http.post(
        f"{CONTROL}/purchase-invoices",
        json={"nip": "9510000009", "xml": fa3_invoice().decode()},
    )
    not_fa3 = await http.post(
        f"{CONTROL}/purchase-invoices", json={"nip": BUYER_NIP, "xml": "<Faktura/>"}
    )
    twice = fa3_invoice(number="FV/DUP/1").decode()
    await deliver(http, xml=twice)
    duplicate = await http.post(
        f"{CONTROL}/purchase-invoices", json={"nip": BUYER_NIP, "xml": twice}
    )

    assert other_buyer.status_code == 422
    assert "not NIP 9510000009" in other_buyer.json()["errors"][0]
    assert not_fa3.status_code == 422
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"] == ["440 Duplikat faktury"]

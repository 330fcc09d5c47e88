"""GET /v1/received-invoices and its sub-resources against real PostgreSQL, without the stack:
the intake's received-invoice router, authentication and errors in an app of their own over
store_db. Listing, filters and pagination as GET /v1/invoices; the document and evidence byte
for byte; the platform's metadata (PATCH, merged) and the `metadata[key]` filter; account and
mode isolation; 404s."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_api_key
from clearway.store.received_events import start_received_stream
from clearway.store.received_invoices import NewReceived
from fastapi import FastAPI

from services.intake import received_invoices
from services.intake.auth import RateLimiter
from services.intake.errors import install_error_handlers
from tests.conftest import data_of
from tests.libs.store.received import Receiving, new_received, receiving_connection

pytestmark = [pytest.mark.postgres]


def received_app(pool: asyncpg.Pool[Any]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(received_invoices.router)
    app.state.pool = pool
    app.state.rate_limiter = RateLimiter(1000.0)
    return app


@dataclass
class Buyer:
    receiving: Receiving
    client: httpx.AsyncClient
    received: list[str]  # ids, oldest first


async def _receive(conn: Any, receiving: Receiving, new: NewReceived) -> str:
    ref = receiving.ref()
    assert await start_received_stream(conn, ref, new) is not None
    return ref.received_id


@pytest_asyncio.fixture
async def buyer(store_db: asyncpg.Pool[Any]) -> AsyncIterator[Buyer]:
    """An account whose company received three invoices; a client with its sandbox key."""
    async with store_db.acquire() as conn:
        receiving = await receiving_connection(conn)
        key = await create_api_key(conn, receiving.account_id, "test")
        received = [
            await _receive(conn, receiving, new_received("ANAF-1", b"<Invoice>1</Invoice>")),
            await _receive(
                conn,
                receiving,
                new_received("ANAF-2").model_copy(update={"supplier_vat": "RO555"}),
            ),
            await _receive(
                conn,
                receiving,
                NewReceived(
                    government_id="ANAF-3",
                    document=b"%PDF-1.7 \x00\xff",
                    media_type="application/pdf",
                ),
            ),
        ]
    transport = httpx.ASGITransport(app=received_app(store_db))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://intake",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield Buyer(receiving, client, received)


async def test_the_list_is_newest_first_in_the_invoices_envelope_and_pages_by_cursor(
    buyer: Buyer,
) -> None:
    first = await buyer.client.get("/v1/received-invoices", params={"limit": 2})
    body = first.json()
    second = await buyer.client.get(
        "/v1/received-invoices", params={"limit": 2, "cursor": body["nextCursor"]}
    )
    assert first.status_code == 200
    assert [r["id"] for r in body["data"]] == buyer.received[:0:-1]
    assert body["hasMore"] is True
    assert [r["id"] for r in data_of(second)] == buyer.received[:1]
    assert second.json()["hasMore"] is False
    assert second.json()["nextCursor"] is None
    one = body["data"][1]
    assert (one["governmentId"], one["supplierVat"], one["status"]) == (
        "ANAF-2",
        "RO555",
        "received",
    )
    assert (one["companyId"], one["connectionId"], one["country"], one["livemode"]) == (
        buyer.receiving.company_id,
        buyer.receiving.connection_id,
        "RO",
        False,
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"supplierVat": "ro555"}, [1]),
        ({"search": "ANAF-3"}, [2]),
        ({"search": "RO12"}, [0]),  # RO123: the first; RO555 does not match, ANAF-3 has none
        ({"country": "ro"}, [2, 1, 0]),
        ({"country": "IT"}, []),
        ({"dateFrom": "2000-01-01T00:00:00Z", "dateTo": "2001-01-01T00:00:00Z"}, []),
    ],
)
async def test_filters(buyer: Buyer, params: dict[str, str], expected: list[int]) -> None:
    answer = await buyer.client.get("/v1/received-invoices", params=params)
    assert [r["id"] for r in data_of(answer)] == [buyer.received[i] for i in expected]


async def test_filter_by_company_and_dates_around_now(buyer: Buyer) -> None:
    now = dt.datetime.now(dt.UTC)
    around = {
        "companyId": buyer.receiving.company_id,
        "dateFrom": (now - dt.timedelta(hours=1)).isoformat(),
        "dateTo": (now + dt.timedelta(hours=1)).isoformat(),
    }
    answer = await buyer.client.get("/v1/received-invoices", params=around)
    other = await buyer.client.get("/v1/received-invoices", params={"companyId": "comp_none"})
    assert [r["id"] for r in data_of(answer)] == buyer.received[::-1]
    assert data_of(other) == []


async def test_one_received_invoice_its_document_evidence_and_events(buyer: Buyer) -> None:
    received_id = buyer.received[0]
    one = await buyer.client.get(f"/v1/received-invoices/{received_id}")
    document = await buyer.client.get(f"/v1/received-invoices/{received_id}/document")
    evidence = await buyer.client.get(f"/v1/received-invoices/{received_id}/evidence")
    events = await buyer.client.get(f"/v1/received-invoices/{received_id}/events")
    invoice = data_of(one)
    assert (invoice["id"], invoice["governmentId"], invoice["invoice"]) == (
        received_id,
        "ANAF-1",
        None,
    )
    assert (invoice["mediaType"], invoice["evidenceMediaType"]) == (
        "application/xml",
        "application/xml",
    )
    assert (document.status_code, document.content) == (200, b"<Invoice>1</Invoice>")
    assert document.headers["content-type"].startswith("application/xml")
    assert (evidence.status_code, evidence.content) == (200, b"<Signature/>")
    assert [(e["event"], e["status"]) for e in data_of(events)] == [
        ("invoice.received", "received")
    ]
    assert data_of(events)[0]["metadata"]["governmentId"] == "ANAF-1"


async def test_a_pdf_comes_back_byte_for_byte_and_no_evidence_is_a_404(buyer: Buyer) -> None:
    received_id = buyer.received[2]
    document = await buyer.client.get(f"/v1/received-invoices/{received_id}/document")
    evidence = await buyer.client.get(f"/v1/received-invoices/{received_id}/evidence")
    assert document.content == b"%PDF-1.7 \x00\xff"
    assert document.headers["content-type"] == "application/pdf"
    assert evidence.status_code == 404
    assert evidence.json()["error"]["type"] == "not_found"


async def _outsiders_keys(buyer: Buyer, store_db: asyncpg.Pool[Any]) -> list[str]:
    """Keys that must see none of the buyer's: another account's, and its own of the other mode."""
    async with store_db.acquire() as conn:
        other = await receiving_connection(conn)
        other_key = await create_api_key(conn, other.account_id, "test")
        live_key = await create_api_key(conn, buyer.receiving.account_id, "live")
    return [other_key, live_key]


async def test_another_accounts_and_the_other_modes_keys_see_nothing(
    buyer: Buyer, store_db: asyncpg.Pool[Any]
) -> None:
    received_id = buyer.received[0]
    for key in await _outsiders_keys(buyer, store_db):
        headers = {"Authorization": f"Bearer {key}"}
        listing = await buyer.client.get("/v1/received-invoices", headers=headers)
        assert data_of(listing) == []
        for tail in ("", "/document", "/evidence", "/events"):
            answer = await buyer.client.get(
                f"/v1/received-invoices/{received_id}{tail}", headers=headers
            )
            assert answer.status_code == 404, tail
            assert answer.json()["error"]["param"] == "/id"


async def test_unknown_ids_bad_cursors_and_missing_keys_are_refused(buyer: Buyer) -> None:
    missing = await buyer.client.get("/v1/received-invoices/rinv_missing")
    bad_cursor = await buyer.client.get("/v1/received-invoices", params={"cursor": "bm90"})
    no_key = await buyer.client.get("/v1/received-invoices", headers={"Authorization": ""})
    assert missing.status_code == 404
    assert (bad_cursor.status_code, bad_cursor.json()["error"]["param"]) == (400, "/cursor")
    assert no_key.status_code == 401


async def _patch(buyer: Buyer, received_id: str, body: Any, **headers: str) -> httpx.Response:
    return await buyer.client.patch(
        f"/v1/received-invoices/{received_id}", json=body, headers=headers
    )


async def _listed(buyer: Buyer, **params: str) -> list[str]:
    return [
        r["id"] for r in data_of(await buyer.client.get("/v1/received-invoices", params=params))
    ]


async def test_metadata_is_merged_in_and_served_without_touching_the_rest(buyer: Buyer) -> None:
    received_id = buyer.received[0]
    before = data_of(await buyer.client.get(f"/v1/received-invoices/{received_id}"))
    assert before["metadata"] == {}
    first = data_of(await _patch(buyer, received_id, {"metadata": {"bookingId": "B-1", "x": "1"}}))
    second = data_of(await _patch(buyer, received_id, {"metadata": {"ledger": "n", "x": None}}))
    served = data_of(await buyer.client.get(f"/v1/received-invoices/{received_id}"))
    assert first["metadata"] == {"bookingId": "B-1", "x": "1"}
    assert second["metadata"] == served["metadata"] == {"bookingId": "B-1", "ledger": "n"}
    unchanged = {k: v for k, v in served.items() if k != "metadata"}
    assert unchanged == {k: v for k, v in before.items() if k != "metadata"}
    events = data_of(await buyer.client.get(f"/v1/received-invoices/{received_id}/events"))
    assert [e["event"] for e in events] == ["invoice.received"]  # the platform's, no event
    listed = data_of(await buyer.client.get("/v1/received-invoices"))
    assert {r["id"]: r["metadata"] for r in listed}[received_id] == served["metadata"]


async def test_the_metadata_filter_lists_those_holding_every_pair_given(buyer: Buyer) -> None:
    first, second, third = buyer.received
    await _patch(buyer, first, {"metadata": {"shop": "north", "tier": "gold"}})
    await _patch(buyer, second, {"metadata": {"shop": "north"}})
    await _patch(buyer, third, {"metadata": {"shop": "south"}})
    assert await _listed(buyer, **{"metadata[shop]": "north"}) == [second, first]
    assert await _listed(buyer, **{"metadata[shop]": "north", "metadata[tier]": "gold"}) == [first]
    assert await _listed(buyer, **{"metadata[shop]": "north", "metadata[tier]": "silver"}) == []
    assert await _listed(buyer, **{"metadata[shop]": "south", "search": "ANAF-3"}) == [third]
    assert await _listed(buyer, **{"metadata[shop]": "North"}) == []  # values match exactly
    one_page = await buyer.client.get(
        "/v1/received-invoices", params={"metadata[shop]": "north", "limit": 1}
    )
    rest = await buyer.client.get(
        "/v1/received-invoices",
        params={"metadata[shop]": "north", "limit": 1, "cursor": one_page.json()["nextCursor"]},
    )
    assert [r["id"] for r in data_of(one_page)] + [r["id"] for r in data_of(rest)] == [
        second,
        first,
    ]
    assert rest.json()["hasMore"] is False


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "/metadata"),  # required
        # A key is named as POST /v1/invoices names one: the pair, then Pydantic's `[key]`.
        ({"metadata": {"": "v"}}, "/metadata//[key]"),
        ({"metadata": {"k" * 41: "v"}}, f"/metadata/{'k' * 41}/[key]"),
        ({"metadata": {"k": "v" * 501}}, "/metadata/k"),
        ({"metadata": {"k": 5}}, "/metadata/k"),
        ({"metadata": {"k": "nul\x00"}}, "/metadata/k"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "/metadata"),
        ({"metadata": ["not", "an", "object"]}, "/metadata"),
        ({"metadata": {}, "status": "paid"}, "/status"),  # nothing else of it can be changed
    ],
    ids=["missing", "empty-key", "long-key", "long-value", "number", "nul", "51", "list", "extra"],
)
async def test_invalid_metadata_is_a_400_naming_it_and_changes_nothing(
    buyer: Buyer, body: dict[str, Any], param: str
) -> None:
    received_id = buyer.received[0]
    await _patch(buyer, received_id, {"metadata": {"kept": "yes"}})
    answer = await _patch(buyer, received_id, body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["param"]) == ("validation_error", param), error
    served = data_of(await buyer.client.get(f"/v1/received-invoices/{received_id}"))
    assert served["metadata"] == {"kept": "yes"}


async def test_a_patch_leaving_more_than_fifty_pairs_is_refused_whole(buyer: Buyer) -> None:
    received_id = buyer.received[0]
    fifty = {f"k{i}": "v" for i in range(50)}
    assert data_of(await _patch(buyer, received_id, {"metadata": fifty}))["metadata"] == fifty
    too_many = await _patch(buyer, received_id, {"metadata": {"k0": "changed", "k50": "v"}})
    swapped = await _patch(buyer, received_id, {"metadata": {"k0": None, "k50": "v"}})
    assert too_many.status_code == 400
    assert too_many.json()["error"]["param"] == "/metadata"
    assert "51 pairs" in too_many.json()["error"]["message"]
    assert len(data_of(swapped)["metadata"]) == 50
    assert "k0" not in data_of(swapped)["metadata"]


async def test_other_accounts_and_modes_cannot_tag_or_find_by_metadata(
    buyer: Buyer, store_db: asyncpg.Pool[Any]
) -> None:
    received_id = buyer.received[0]
    await _patch(buyer, received_id, {"metadata": {"bookingId": "B-1"}})
    for key in await _outsiders_keys(buyer, store_db):
        auth = {"Authorization": f"Bearer {key}"}
        answer = await _patch(buyer, received_id, {"metadata": {"bookingId": "theirs"}}, **auth)
        assert answer.status_code == 404
        assert answer.json()["error"]["param"] == "/id"
        found = await buyer.client.get(
            "/v1/received-invoices", params={"metadata[bookingId]": "B-1"}, headers=auth
        )
        assert data_of(found) == []
    served = data_of(await buyer.client.get(f"/v1/received-invoices/{received_id}"))
    assert served["metadata"] == {"bookingId": "B-1"}
    assert await _listed(buyer, **{"metadata[bookingId]": "B-1"}) == [received_id]


async def test_tagging_an_unknown_received_invoice_is_a_404(buyer: Buyer) -> None:
    answer = await _patch(buyer, "rinv_missing", {"metadata": {"a": "b"}})
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "not_found"

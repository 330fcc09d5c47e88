"""The invoice endpoints beyond the happy path: isolation, listing, idempotency, limits,
synchronous validation, attachments and metadata."""

from __future__ import annotations

import asyncio
import base64
import copy
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import MakeAccount, error_of
from tests.services.connections_support import fileable_account

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

FINAL = {"accepted", "rejected", "error"}


async def test_two_accounts_cannot_see_each_other(
    make_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, alice = await fileable_account(make_account)
    _, bob = await make_account()
    invoice = (await alice.post("/v1/invoices", json=seed_invoice)).json()["data"]
    for path in (f"/v1/invoices/{invoice['id']}", f"/v1/invoices/{invoice['id']}/events"):
        response = await bob.get(path)
        assert error_of(response, 404)["type"] == "not_found"
        assert invoice["id"] not in response.text or "No invoice" in response.text
    assert (await bob.get("/v1/invoices")).json()["data"] == []
    assert [i["id"] for i in (await alice.get("/v1/invoices")).json()["data"]] == [invoice["id"]]


async def _all_pages(client: httpx.AsyncClient, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/invoices", params=query)).json()
        ids.extend(i["id"] for i in page["data"])
        if not page["hasMore"]:
            assert page["nextCursor"] is None
            return ids
        cursor = page["nextCursor"]


async def test_pagination_neither_skips_nor_repeats_while_invoices_are_created(
    make_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await fileable_account(make_account)
    existing = [
        (await client.post("/v1/invoices", json={**seed_invoice, "externalId": f"p-{n}"})).json()[
            "data"
        ]["id"]
        for n in range(12)
    ]
    stop = asyncio.Event()

    async def keep_creating() -> int:
        created = 0
        while not stop.is_set():
            await client.post("/v1/invoices", json={**seed_invoice, "externalId": "concurrent"})
            created += 1
        return created

    writer = asyncio.create_task(keep_creating())
    try:
        seen: list[str] = []
        cursor = None
        first = True
        while first or cursor:
            first = False
            query = {"limit": 5, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/invoices", params=query)).json()
            seen.extend(i["id"] for i in page["data"])
            cursor = page["nextCursor"]
            await asyncio.sleep(0.05)  # let the writer commit between pages
    finally:
        stop.set()
        created_meanwhile = await writer
    assert created_meanwhile > 0
    assert len(seen) == len(set(seen)), "an invoice was repeated across pages"
    assert set(existing) <= set(seen), "an invoice that existed was skipped"
    newest_first = [i for i in seen if i in existing]
    assert newest_first == list(reversed(existing))


async def test_filters(make_account: MakeAccount, seed_invoice: dict[str, Any]) -> None:
    _, client = await fileable_account(make_account)
    tagged = {
        **seed_invoice,
        "externalId": "order-777",
        "metadata": {"shop": "north", "tier": "gold"},
    }
    plain = {**seed_invoice, "externalId": "order-888", "metadata": {"shop": "south"}}
    a = (await client.post("/v1/invoices", json=tagged)).json()["data"]
    b = (await client.post("/v1/invoices", json=plain)).json()["data"]
    assert a["metadata"] == {"shop": "north", "tier": "gold"}
    assert await _all_pages(client, search="order-777") == [a["id"]]
    assert await _all_pages(client, search="RO8765") == [b["id"], a["id"]]
    assert await _all_pages(client, **{"metadata[shop]": "north"}) == [a["id"]]
    assert await _all_pages(client, **{"metadata[shop]": "north", "metadata[tier]": "silver"}) == []
    assert await _all_pages(client, country="IT") == []
    # Status: once both are final (the account's connection is pending: `error`), the
    # filter returns exactly them, and no invoice is left in an earlier status.
    deadline = asyncio.get_running_loop().time() + 60
    while {i["status"] for i in (await client.get("/v1/invoices")).json()["data"]} - FINAL:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)
    final_status = (await client.get(f"/v1/invoices/{a['id']}")).json()["data"]["status"]
    assert set(await _all_pages(client, status=final_status)) == {a["id"], b["id"]}
    assert await _all_pages(client, status="created") == []
    future = "2999-01-01T00:00:00Z"
    assert await _all_pages(client, dateFrom=future) == []
    assert set(await _all_pages(client, dateTo=future)) == {a["id"], b["id"]}
    bad = await client.get("/v1/invoices", params={"cursor": "not-a-cursor"})
    assert error_of(bad, 400)["param"] == "/cursor"
    assert (await client.get("/v1/invoices", params={"limit": 101})).status_code in (400, 422)


async def test_concurrent_requests_with_one_idempotency_key_create_one_invoice(
    make_account: MakeAccount, db: asyncpg.Pool[Any], seed_invoice: dict[str, Any]
) -> None:
    account_id, client = await fileable_account(make_account)
    headers = {"X-Idempotency-Key": "race-1"}
    responses = await asyncio.gather(
        *(client.post("/v1/invoices", json=seed_invoice, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 7
    count = await db.fetchval("SELECT count(*) FROM invoices WHERE account_id = $1", account_id)
    assert count == 1


async def test_monthly_quota_is_a_403_and_writes_nothing(
    make_account: MakeAccount, db: asyncpg.Pool[Any], seed_invoice: dict[str, Any]
) -> None:
    account_id, client = await fileable_account(make_account, monthly_invoice_limit=2)
    for _ in range(2):
        assert (await client.post("/v1/invoices", json=seed_invoice)).status_code == 201
    refused = await client.post("/v1/invoices", json=seed_invoice)
    assert error_of(refused, 403)["type"] == "usage_limit_exceeded"
    assert await db.fetchval("SELECT count(*) FROM invoices WHERE account_id = $1", account_id) == 2


async def test_rate_limit_is_a_429_with_retry_after(make_account: MakeAccount) -> None:
    _, client = await make_account(rate_limit_per_second=Decimal("0.5"))
    responses = [await client.get("/v1/invoices") for _ in range(4)]
    assert [r.status_code for r in responses[:1]] == [200]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert limited[0].json()["error"]["type"] == "rate_limit_error"
    assert int(limited[0].headers["Retry-After"]) >= 1


async def test_every_answer_states_the_keys_rate_limit(make_account: MakeAccount) -> None:
    # 0.5 a second: a burst of 1, and 2 s to refill it, so no request refills it in between.
    _, client = await make_account(rate_limit_per_second=Decimal("0.5"))
    first, second = [await client.get("/v1/invoices") for _ in range(2)]
    assert first.status_code == 200
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("1", "0")
    assert 1 <= int(first.headers["RateLimit-Reset"]) <= 2
    assert second.status_code == 429  # the refusal states it too
    assert (second.headers["RateLimit-Limit"], second.headers["RateLimit-Remaining"]) == ("1", "0")
    unauthenticated = await client.get("/v1/invoices", headers={"Authorization": "Bearer nope"})
    assert unauthenticated.status_code == 401
    assert "RateLimit-Limit" not in unauthenticated.headers  # no key, no budget to state


async def test_validate_runs_the_rules_without_creating_anything(
    make_account: MakeAccount, db: asyncpg.Pool[Any], seed_invoice: dict[str, Any]
) -> None:
    account_id, client = await make_account()
    ok = (await client.post("/v1/invoices/validate", json=seed_invoice)).json()
    assert ok["valid"] is True
    assert ok["errors"] == []
    # The seed's placeholder CUIs (CW-RO-04) and its derived Bucharest sector and county
    # (CW-RO-05) are warnings in the sandbox.
    assert {d["rule"] for d in ok["details"]} == {"CW-RO-04", "CW-RO-05"}
    assert {d["severity"] for d in ok["details"]} == {"warning"}

    body = copy.deepcopy(seed_invoice)
    del body["supplier"]["address"]
    body["lines"][1]["vatRate"] = 21
    bad = (await client.post("/v1/invoices/validate", json=body)).json()
    assert bad["valid"] is False
    assert any(e.startswith("BR-08: ") for e in bad["errors"])
    pointers = {d["pointer"] for d in bad["details"] if d["severity"] == "error"}
    assert {"/supplier/address", "/lines/1/vatRate"} <= pointers

    schema = (await client.post("/v1/invoices/validate", json={"country": "XX"})).json()
    assert schema["valid"] is False
    assert {"/country", "/supplier", "/customer", "/lines"} <= {
        d["pointer"] for d in schema["details"]
    }
    assert await db.fetchval("SELECT count(*) FROM invoices WHERE account_id = $1", account_id) == 0


async def test_attachments_are_checked(
    make_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await fileable_account(make_account)
    pdf = base64.b64encode(b"%PDF-1.4 tiny").decode()
    good = {
        **seed_invoice,
        "attachments": [{"filename": "a.pdf", "content": pdf, "mimeType": "application/pdf"}],
    }
    assert (await client.post("/v1/invoices", json=good)).status_code == 201
    too_big = base64.b64encode(b"x" * (2 * 1024 * 1024 + 1)).decode()
    bad = {
        **seed_invoice,
        "attachments": [
            {"filename": "a.html", "content": pdf, "mimeType": "text/html"},
            {"filename": "b.pdf", "content": "not base64!", "mimeType": "application/pdf"},
            {"filename": "c.pdf", "content": too_big, "mimeType": "application/pdf"},
        ],
    }
    response = await client.post("/v1/invoices", json=bad)
    assert response.status_code == 400
    assert {e["param"] for e in response.json()["error"]["errors"]} == {
        "/attachments/0/mimeType",
        "/attachments/1/content",
        "/attachments/2/content",
    }


async def test_expand_connection_and_unknown_expansion(
    api: httpx.AsyncClient, seed_invoice: dict[str, Any]
) -> None:
    invoice = (await api.post("/v1/invoices", json=seed_invoice)).json()["data"]
    expanded = (
        await api.get(f"/v1/invoices/{invoice['id']}", params={"expand": "company,connection"})
    ).json()["data"]
    assert expanded["company"]["vatNumber"] == "RO12345678"
    assert expanded["connection"]["countryCode"] == "RO"
    assert expanded["connection"]["status"] == "active"
    spaced = await api.get(f"/v1/invoices/{invoice['id']}", params={"expand": " company "})
    assert spaced.json()["data"]["company"]["vatNumber"] == "RO12345678"
    unknown = await api.get(f"/v1/invoices/{invoice['id']}", params={"expand": "customer"})
    assert error_of(unknown, 400)["param"] == "/expand"


async def test_a_nul_in_the_url_is_a_clear_refusal_not_a_crash(api: httpx.AsyncClient) -> None:
    # Found by schemathesis: PostgreSQL cannot compare text holding NUL.
    in_path = await api.get("/v1/invoices/inv%00x")
    assert error_of(in_path, 404)["type"] == "not_found"
    in_query = await api.get("/v1/invoices", params={"search": "a\x00b"})
    assert error_of(in_query, 400)["type"] == "validation_error"

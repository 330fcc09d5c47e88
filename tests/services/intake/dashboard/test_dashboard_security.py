"""The dashboard's security, over plain HTTP against the API-only stack: a wrong key cannot
sign in; the session cookie is HttpOnly, Secure and SameSite and holds only a random id, the
key sealed server-side; the server ends a session at sign-out, expiry and the key's revocation,
whatever copy of the cookie comes back; every form refuses a missing or foreign CSRF token; a
session shows nothing of another account; every caller-controlled field is escaped."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, aclosing
from typing import Any

import asyncpg
import httpx
import pytest
from clearway.accounts import key_id_of, revoke_api_key
from markupsafe import escape

from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.services.connections_support import fileable_account
from tests.services.intake.dashboard.dashboard_support import (
    DashboardClient,
    SignedIn,
    api_key_of,
    sent_to_sign_in,
    signed_in_as,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SCRIPT = "<script>alert('owned')</script>"
IMG = '<img src=x onerror="alert(1)">'


@pytest.fixture
async def browser(api_stack: Stack) -> AsyncIterator[DashboardClient]:
    async with aclosing(DashboardClient(api_stack.api_url)) as client:
        yield client


def _signed_in(
    api_stack: Stack, api: httpx.AsyncClient
) -> AbstractAsyncContextManager[DashboardClient]:
    return signed_in_as(api_stack.api_url, api_key_of(api))


async def _hostile_invoice(api: httpx.AsyncClient, seed_invoice: dict[str, Any]) -> str:
    invoice = copy.deepcopy(seed_invoice)
    invoice["externalId"] = SCRIPT
    invoice["metadata"] = {"note": IMG}
    invoice["lines"][0]["description"] = SCRIPT
    created = data_of(await api.post("/v1/invoices", json=invoice), 201)
    invoice_id: str = created["id"]
    return invoice_id


async def test_a_wrong_key_cannot_sign_in(browser: DashboardClient) -> None:
    for wrong in ("sk_test_" + "0" * 32, "sk_live_nope", "not-a-key"):
        answer = await browser.sign_in(wrong)
        assert answer.status_code == 401, answer.text
        assert "not valid" in answer.text or "starts with sk_test_" in answer.text
        assert "cw_session" not in browser.cookies
    assert wrong not in answer.text  # not even the wrong key comes back in the page
    still_out = await browser.get("/dashboard/invoices")
    assert (still_out.status_code, still_out.headers["location"]) == (303, "/dashboard/sign-in")


def _session_row_id(cookie: str) -> str:
    """The id of a session cookie's row: the SHA-256 of the cookie's value."""
    return hashlib.sha256(cookie.encode()).hexdigest()


async def test_the_session_cookie_holds_a_random_id_out_of_scripts_reach(
    api_stack: Stack, api_db: asyncpg.Pool[Any], signed_in: SignedIn
) -> None:
    browser, api = signed_in
    key = api_key_of(api)
    [session_header] = [h for h in browser.set_cookies if h.startswith("cw_session=")]
    attributes = {part.strip().lower() for part in session_header.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes
    assert key not in session_header
    assert key.removeprefix("sk_test_") not in session_header
    # Server-side, the key is only sealed, under the session's row.
    row = await api_db.fetchrow(
        "SELECT * FROM dashboard_sessions WHERE id_hash = $1",
        _session_row_id(browser.cookies["cw_session"]),
    )
    assert row is not None
    async with api_db.acquire() as conn:
        assert row["key_id"] == await key_id_of(conn, key)
    secret = key.removeprefix("sk_test_").encode()
    for value in row.values():
        assert secret not in (value if isinstance(value, bytes) else str(value).encode())
    for page in ("/dashboard/invoices", "/dashboard/connections", "/dashboard/webhooks"):
        answer = await browser.get(page)
        assert answer.status_code == 200, (page, answer.text)
        assert key not in answer.text
        assert key not in str(answer.url)
        assert "Sandbox mode" in answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in answer.headers["content-security-policy"]
    # A cookie altered by one character opens as no session at all.
    session_id = browser.cookies["cw_session"]
    assert not await sent_to_sign_in(api_stack.api_url, session_id)
    altered = session_id[:-2] + ("A" if session_id[-2] != "A" else "B") + session_id[-1]
    assert await sent_to_sign_in(api_stack.api_url, altered)


async def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(
    api_stack: Stack, api_db: asyncpg.Pool[Any], signed_in: SignedIn
) -> None:
    browser, _ = signed_in
    copied = browser.cookies["cw_session"]
    assert not await sent_to_sign_in(api_stack.api_url, copied)  # the copy works while signed in
    signed_out = await browser.post_form("/dashboard/sign-out", {}, from_page="/dashboard/invoices")
    assert signed_out.status_code == 303, signed_out.text
    assert "cw_session" not in browser.cookies
    assert await sent_to_sign_in(api_stack.api_url, copied)
    assert (
        await api_db.fetchval(
            "SELECT count(*) FROM dashboard_sessions WHERE id_hash = $1",
            _session_row_id(copied),
        )
        == 0
    )


async def test_an_expired_session_is_refused(
    api_stack: Stack, api_db: asyncpg.Pool[Any], signed_in: SignedIn
) -> None:
    browser, api = signed_in
    async with _signed_in(api_stack, api) as other:  # the same key's other session stays open
        expired = await api_db.execute(
            "UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' "
            "WHERE id_hash = $1",
            _session_row_id(browser.cookies["cw_session"]),
        )
        assert expired == "UPDATE 1"
        assert await sent_to_sign_in(api_stack.api_url, browser.cookies["cw_session"])
        assert not await sent_to_sign_in(api_stack.api_url, other.cookies["cw_session"])


async def test_revoking_the_key_ends_its_sessions(
    api_stack: Stack, api_db: asyncpg.Pool[Any], signed_in: SignedIn
) -> None:
    browser, api = signed_in
    session_id = browser.cookies["cw_session"]
    assert not await sent_to_sign_in(api_stack.api_url, session_id)
    async with api_db.acquire() as conn:
        key_id = await key_id_of(conn, api_key_of(api))
        assert key_id is not None
        assert await revoke_api_key(conn, key_id)
    assert await sent_to_sign_in(api_stack.api_url, session_id)


async def test_every_form_refuses_a_missing_or_foreign_csrf_token(
    api_stack: Stack, make_api_account: MakeAccount
) -> None:
    _, api = await make_api_account()
    _, other_api = await make_api_account()
    company = {"legalName": "Csrf Probe SRL", "vatNumber": "RO12345678", "country": "RO"}
    async with _signed_in(api_stack, api) as browser, _signed_in(api_stack, other_api) as other:
        foreign_token = await other.csrf_token("/dashboard/connections")
        forms = [
            "/dashboard/companies",
            "/dashboard/connections",
            "/dashboard/webhooks",
            "/dashboard/sandbox/send",
            "/dashboard/sandbox/validate",
            "/dashboard/sign-out",
        ]
        for path in forms:
            for token in (None, foreign_token, ""):
                fields = {**company, **({} if token is None else {"csrf_token": token})}
                answer = await browser.request("POST", path, data=fields)
                assert answer.status_code == 403, (path, token, answer.text)
                assert "did not come from this dashboard" in answer.text
        assert data_of(await api.get("/v1/companies")) == []
        assert "cw_session" in browser.cookies  # sign-out refused too
        # The same form with its own token goes through.
        added = await browser.post_form(
            "/dashboard/companies", company, from_page="/dashboard/connections"
        )
        assert added.status_code == 303, added.text
        assert [c["legalName"] for c in data_of(await api.get("/v1/companies"))] == [
            "Csrf Probe SRL"
        ]
        # Sign-in's form has its own token (no session yet): refused without it.
        async with aclosing(DashboardClient(api_stack.api_url)) as stranger:
            refused = await stranger.request(
                "POST", "/dashboard/sign-in", data={"api_key": api_key_of(api)}
            )
            assert refused.status_code == 403
            assert "cw_session" not in stranger.cookies


async def test_a_session_shows_nothing_of_another_account(
    api_stack: Stack, make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, owner_api = await fileable_account(make_api_account, "RO")
    owner_company = data_of(
        await owner_api.post(
            "/v1/companies",
            json={"legalName": "Owner Only SRL", "vatNumber": "RO87654321", "country": "RO"},
        ),
        201,
    )
    invoice_id = await _hostile_invoice(owner_api, seed_invoice)
    _, other_api = await make_api_account()
    async with _signed_in(api_stack, other_api) as other:
        pages = {
            "/dashboard/invoices": 200,
            f"/dashboard/invoices/{invoice_id}": 404,
            f"/dashboard/invoices/{invoice_id}/document": 404,
            "/dashboard/connections": 200,
            f"/dashboard/invoices?companyId={owner_company['id']}": 200,
            "/dashboard/received": 200,
            "/dashboard/webhooks": 200,
        }
        for page, status in pages.items():
            answer = await other.get(page)
            assert answer.status_code == status, (page, answer.text)
            # A 404 names what was asked for, as the API's does; nothing else of it.
            foreign = ["Owner Only SRL", "owned", "RON"]
            if status == 200:
                foreign += [invoice_id, owner_company["id"]]
            for text in foreign:
                assert text not in answer.text, (page, text)
        statuses = await other.get(f"/dashboard/invoices/statuses?id={invoice_id}")
        assert statuses.json() == {}


async def test_every_caller_controlled_field_renders_as_text(
    api_stack: Stack, make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, api = await fileable_account(make_api_account, "RO")
    await api.post(
        "/v1/companies", json={"legalName": IMG, "vatNumber": "RO87654321", "country": "RO"}
    )
    invoice_id = await _hostile_invoice(api, seed_invoice)
    endpoint = data_of(
        await api.post(
            "/v1/webhook-endpoints",
            json={"url": "https://example.com/h", "enabledEvents": ["*"], "description": SCRIPT},
        ),
        201,
    )
    async with _signed_in(api_stack, api) as browser:
        hostile_json = copy.deepcopy(seed_invoice)
        hostile_json["lines"][0]["description"] = SCRIPT
        validated = await browser.post_form(
            "/dashboard/sandbox/validate",
            {"invoice_json": json.dumps(hostile_json)},
            from_page="/dashboard/sandbox",
        )
        pages = [
            await browser.get("/dashboard/invoices"),
            await browser.get(f"/dashboard/invoices/{invoice_id}"),
            await browser.get("/dashboard/connections"),
            await browser.get("/dashboard/webhooks"),
            await browser.get(f"/dashboard/webhooks/{endpoint['id']}"),
            validated,
        ]
        for page in pages:
            assert page.status_code == 200, page.text
            assert "<script>alert" not in page.text, page.url
            assert "<img src=x" not in page.text, page.url
        escaped_script = str(escape(SCRIPT))
        assert escaped_script in pages[0].text  # the external id, in the list
        assert escaped_script in pages[1].text  # and on the invoice's page
        assert str(escape(IMG)) in pages[1].text  # its metadata
        assert str(escape(IMG)) in pages[2].text  # a company's legal name
        assert escaped_script in pages[3].text  # an endpoint's description
        assert escaped_script in validated.text  # a line's description, in the form again

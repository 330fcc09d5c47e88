"""The dashboard's pages over plain HTTP against the API-only stack, for what the browser
journey does not go through: ANAF's consent refused, IT's certificate and PL's KSeF token
forms, deleting with confirmation, a webhook secret's rotation, disabling and replaying, the
invoice list's filters and paging, and the inbox of received invoices."""

from __future__ import annotations

import html
import re
from contextlib import aclosing
from typing import Any

import asyncpg
import httpx
import lxml.html
import pytest
from clearway.accounts import create_api_key
from clearway.store.received_events import start_received_stream

from services.stack.sandbox_seed import sandbox_channel_certificate
from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.libs.store.received import new_received, receiving_connection
from tests.services.connections_support import (
    authorize_at_anaf,
    fileable_account,
    new_company,
)
from tests.services.intake.dashboard.dashboard_support import (
    DashboardClient,
    SignedIn,
    api_key_of,
    signed_in_as,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def _connect(browser: DashboardClient, company_id: str, country: str) -> httpx.Response:
    fields = {"companyId": company_id, "countryCode": country}
    return await browser.post_form(
        "/dashboard/connections", fields, from_page="/dashboard/connections"
    )


async def test_a_refused_consent_comes_back_to_the_connection_page_saying_why(
    api_stack: Stack, signed_in: SignedIn
) -> None:
    browser, api = signed_in
    company_id = await new_company(api, "RO")
    started = await _connect(browser, company_id, "RO")
    assert started.status_code == 303
    authorization_url = started.headers["location"]
    assert authorization_url.startswith(f"{api_stack.govsim_url}/anaf-oauth2/v1/authorize")
    async with httpx.AsyncClient(base_url=api_stack.govsim_url, timeout=10) as sim:
        queued = await sim.post("/_sim/anaf/consents", json={"refuse": True})
    assert queued.status_code == 204, queued.text
    callback = await authorize_at_anaf(authorization_url)
    back = await browser.get(callback.removeprefix(api_stack.api_url))
    [connection] = data_of(await api.get("/v1/connections"))
    assert (back.status_code, back.headers["location"]) == (
        303,
        f"/dashboard/connections/{connection['id']}",
    )
    page = await browser.get(back.headers["location"])
    assert page.status_code == 200
    assert '<dd id="connection-status">error</dd>' in page.text
    assert "refused to authorize Clearway" in page.text
    assert "Needs a person: It no longer files" in page.text
    assert 'id="connect-anaf"' in page.text  # and the button to try again


async def test_it_and_pl_are_set_up_from_their_forms_and_deleted_after_confirming(
    api_stack: Stack, signed_in: SignedIn
) -> None:
    browser, api = signed_in
    it_page = (await _connect(browser, await new_company(api, "IT"), "IT")).headers["location"]
    assert "Needs a person: Its setup is not finished." in (await browser.get(it_page)).text
    certificate = sandbox_channel_certificate().encode()
    uploaded = await browser.request(
        "POST",
        f"{it_page}/certificate",
        data={"csrf_token": await browser.csrf_token(it_page)},
        files={"certificate": ("channel.pem", certificate, "application/x-pem-file")},
    )
    assert (uploaded.status_code, uploaded.headers["location"]) == (
        303,
        f"{it_page}?notice=connected",
    )
    assert '<dd id="connection-status">active</dd>' in (await browser.get(it_page)).text

    pl_page = (await _connect(browser, await new_company(api, "PL"), "PL")).headers["location"]
    async with httpx.AsyncClient(base_url=api_stack.govsim_url, timeout=10) as sim:
        made = await sim.post("/_sim/pl/ksef-tokens", json={"nip": "5265877635"})
    wrong = await browser.post_form(
        f"{pl_page}/ksef-token", {"token": "not-a-token"}, from_page=pl_page
    )
    assert wrong.status_code == 400
    assert 'class="error" role="alert"' in wrong.text
    token = made.json()["token"]
    used = await browser.post_form(f"{pl_page}/ksef-token", {"token": token}, from_page=pl_page)
    assert used.status_code == 303, used.text
    assert '<dd id="connection-status">active</dd>' in (await browser.get(pl_page)).text
    assert token not in (await browser.get(pl_page)).text

    confirm = await browser.get(f"{it_page}/delete")
    assert "Delete this connection?" in confirm.text
    deleted = await browser.post_form(f"{it_page}/delete", {}, from_page=f"{it_page}/delete")
    assert deleted.headers["location"] == "/dashboard/connections?notice=connection-deleted"
    remaining = data_of(await api.get("/v1/connections"))
    assert [c["countryCode"] for c in remaining] == ["PL"]


async def test_a_webhook_secret_is_shown_once_then_rotated_and_deliveries_replayed(
    signed_in: SignedIn,
) -> None:
    browser, api = signed_in
    created = await browser.post_form(
        "/dashboard/webhooks",
        {"url": "https://example.com/hooks/a", "events": ["invoice.accepted", "invoice.error"]},
        from_page="/dashboard/webhooks",
    )
    assert created.status_code == 200
    first_secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', created.text)
    assert first_secret
    [endpoint] = data_of(await api.get("/v1/webhook-endpoints"))
    assert endpoint["enabledEvents"] == ["invoice.accepted", "invoice.error"]
    page = f"/dashboard/webhooks/{endpoint['id']}"
    assert first_secret.group(1) not in (await browser.get(page)).text

    rotated = await browser.post_form(f"{page}/rotate-secret", {}, from_page=page)
    second_secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', rotated.text)
    assert second_secret
    assert second_secret.group(1) != first_secret.group(1)
    assert "The previous secret keeps signing beside it until" in rotated.text

    tested = await browser.post_form(f"{page}/test", {}, from_page=page)
    assert tested.headers["location"] == f"{page}?notice=test-sent"
    [delivery] = data_of(await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"))
    listed = (await browser.get(page)).text
    assert "webhook.test" in listed
    assert f"/deliveries/{delivery['id']}/replay" in listed
    replayed = await browser.post_form(
        f"{page}/deliveries/{delivery['id']}/replay", {}, from_page=page
    )
    assert replayed.headers["location"] == f"{page}?notice=replayed"

    disabled = await browser.post_form(f"{page}/disabled", {"disabled": "true"}, from_page=page)
    assert disabled.headers["location"] == f"{page}?notice=endpoint-disabled"
    assert data_of(await api.get(f"/v1/webhook-endpoints/{endpoint['id']}"))["status"] == (
        "disabled"
    )
    refused = await browser.post_form(f"{page}/test", {}, from_page=page)
    assert refused.status_code == 409  # the API's answer, said on the page
    assert 'class="error" role="alert"' in refused.text


async def test_the_invoice_list_filters_and_pages_as_the_api_does(
    api_stack: Stack, make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, api = await fileable_account(make_api_account, "RO")
    for number in range(21):
        invoice = {**seed_invoice, "externalId": f"order-{number:02}"}
        data_of(await api.post("/v1/invoices", json=invoice), 201)
    async with signed_in_as(api_stack.api_url, api_key_of(api)) as browser:
        first = (await browser.get("/dashboard/invoices")).text
        rows = re.findall(r"<td>(order-\d\d)</td>", first)
        assert rows == [f"order-{n:02}" for n in range(20, 0, -1)]
        next_link = re.search(r'<a href="([^"]+)" rel="next">', first)
        assert next_link
        second = (await browser.get(html.unescape(next_link.group(1)))).text
        assert re.findall(r"<td>(order-\d\d)</td>", second) == ["order-00"]
        assert 'rel="next"' not in second

        searched = (await browser.get("/dashboard/invoices?search=order-07")).text
        assert re.findall(r"<td>(order-\d\d)</td>", searched) == ["order-07"]
        none_accepted = (await browser.get("/dashboard/invoices?status=accepted")).text
        assert "No invoices match these filters." in none_accepted
        today = (await browser.get("/dashboard/invoices?dateFrom=2000-01-01&country=RO")).text
        assert len(re.findall(r"<td>(order-\d\d)</td>", today)) == 20
        refused = await browser.get("/dashboard/invoices?dateFrom=yesterday")
        assert refused.status_code == 200
        assert 'class="error" role="alert"' in refused.text  # the API's reason, above


async def test_the_inbox_lists_and_shows_received_invoices(
    api_stack: Stack, api_db: asyncpg.Pool[Any]
) -> None:
    async with api_db.acquire() as conn:
        receiving = await receiving_connection(conn)
        key = await create_api_key(conn, receiving.account_id, "test")
        ref = receiving.ref()
        hostile = new_received("ANAF-77").model_copy(update={"supplier_vat": "<b>RO123</b>"})
        assert await start_received_stream(conn, ref, hostile) is not None
    async with signed_in_as(api_stack.api_url, key) as browser:
        inbox = (await browser.get("/dashboard/received")).text
        assert f'href="/dashboard/received/{ref.received_id}"' in inbox
        assert "&lt;b&gt;RO123&lt;/b&gt;" in inbox
        assert "<b>RO123" not in inbox
        page = (await browser.get(f"/dashboard/received/{ref.received_id}")).text
        assert "ANAF-77" in page
        assert "invoice.received" in page
        document = await browser.get(f"/dashboard/received/{ref.received_id}/document")
        assert (document.status_code, document.content) == (200, b"<Invoice/>")
        evidence = await browser.get(f"/dashboard/received/{ref.received_id}/evidence")
        assert (evidence.status_code, evidence.content) == (200, b"<Signature/>")


def _unlabelled_fields(page: str) -> list[str]:
    """The form fields a screen reader could not name: no <label> around them or for them,
    and no aria-label."""
    tree = lxml.html.fromstring(page)
    labelled = {label.get("for") for label in tree.iter("label") if label.get("for")}
    missing = []
    for field in tree.xpath("//input | //select | //textarea"):
        if field.get("type") in ("hidden", "submit"):
            continue
        inside_label = any(ancestor.tag == "label" for ancestor in field.iterancestors())
        if not (inside_label or field.get("id") in labelled or field.get("aria-label")):
            missing.append(lxml.html.tostring(field).decode()[:80])
    return missing


async def test_every_page_has_one_heading_a_language_and_labelled_fields(
    api_stack: Stack, make_api_account: MakeAccount
) -> None:
    _, api = await fileable_account(make_api_account, "IT")
    data_of(
        await api.post(
            "/v1/webhook-endpoints", json={"url": "https://e.com/h", "enabledEvents": ["*"]}
        ),
        201,
    )
    async with signed_in_as(api_stack.api_url, api_key_of(api)) as browser:
        [connection] = data_of(await api.get("/v1/connections"))
        [endpoint] = data_of(await api.get("/v1/webhook-endpoints"))
        pages = [
            "/dashboard/invoices",
            "/dashboard/sandbox",
            "/dashboard/connections",
            f"/dashboard/connections/{connection['id']}",
            f"/dashboard/connections/{connection['id']}/delete",
            "/dashboard/webhooks",
            f"/dashboard/webhooks/{endpoint['id']}",
            "/dashboard/received",
        ]
        for path in pages:
            page = (await browser.get(path)).text
            tree = lxml.html.fromstring(page)
            assert tree.get("lang") == "en", path
            assert len(tree.xpath("//h1")) == 1, path
            assert tree.xpath("//a[@class='skip']/@href") == ["#main"], path
            assert _unlabelled_fields(page) == [], path
            for button in tree.iter("button"):
                assert button.text_content().strip() or button.get("aria-label"), path
        async with aclosing(DashboardClient(api_stack.api_url)) as signed_out:
            assert _unlabelled_fields((await signed_out.get("/dashboard/sign-in")).text) == []

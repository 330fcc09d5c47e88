"""clients/python: companies, connections, webhook endpoints and received invoices against the
API-only stack (its government simulators answer the connection flows)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_api_key
from clearway.store.received_events import start_received_stream
from clearway_client import (
    NOT_GIVEN,
    AsyncClearway,
    Clearway,
    NotFoundError,
)
from clearway_client.models import Address, Connection

from services.stack.sandbox_seed import sandbox_channel_certificate
from services.stack.stack import Stack
from tests.clients.python.conftest import key_of
from tests.conftest import MakeAccount
from tests.libs.security.certmaker import make_certificate, pkcs12_bundle
from tests.libs.store.received import new_received, receiving_connection
from tests.services.connections_support import COMPANIES, authorize_at_anaf, open_callback

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _company(client: Clearway, country: str) -> str:
    fields = COMPANIES[country]
    return client.companies.create(fields["legalName"], fields["vatNumber"], country).id


async def test_companies(new_account: Clearway) -> None:
    made = new_account.companies.create(
        "TechVision SRL",
        "RO12345678",
        "RO",
        trade_register="J40/1234/2020",
        address=Address(street="Strada Exemplu 42", city="Bucharest", country="RO"),
    )
    assert made.legal_name == "TechVision SRL"
    assert made.address is not None
    assert made.address.city == "Bucharest"
    assert made.trade_register == "J40/1234/2020"
    # The same company again is answered as it is.
    assert new_account.companies.create("TechVision SRL", "RO12345678", "RO").id == made.id
    assert [c.id for c in new_account.companies.list()] == [made.id]
    assert new_account.companies.get(made.id).vat_number == "RO12345678"
    assert new_account.companies.delete(made.id).deleted is True
    with pytest.raises(NotFoundError):
        new_account.companies.get(made.id)


async def test_connections_ro_oauth_it_certificate_pl_ksef_token(
    new_account: Clearway, api_stack: Stack
) -> None:
    ro = new_account.connections.create(_company(new_account, "RO"), "RO")
    assert ro.status == "pending_setup"
    assert ro.authorization_url is not None
    answer = await open_callback(await authorize_at_anaf(ro.authorization_url))
    assert answer.status_code == 200, answer.text
    assert new_account.connections.wait(ro.id, timeout=10).status == "active"

    it = new_account.connections.create(_company(new_account, "IT"), "IT", is_receiver=False)
    assert it.setup_instructions is not None
    assert it.setup_instructions.upload_url.endswith(f"/v1/connections/{it.id}/certificate")
    active_it = new_account.connections.upload_certificate(it.id, sandbox_channel_certificate())
    assert active_it.status == "active"
    assert active_it.is_receiver is False
    # PKCS#12 as bytes: base64 on the wire.
    certificate, key = make_certificate()
    renewed = new_account.connections.upload_certificate(
        it.id,
        pkcs12_bundle(certificate, key, b"pw"),
        format="pkcs12",
        password="pw",  # noqa: S106
    )
    assert renewed.status == "active"

    pl = new_account.connections.create(_company(new_account, "PL"), "PL")
    async with httpx.AsyncClient(base_url=api_stack.govsim_url, timeout=10) as sim:
        issued = await sim.post("/_sim/pl/ksef-tokens", json={"nip": "5265877635"})
    active_pl = new_account.connections.upload_ksef_token(pl.id, issued.json()["token"])
    assert active_pl.status == "active"

    listed = {c.id: c for c in new_account.connections.list()}
    assert set(listed) == {ro.id, it.id, pl.id}
    assert all(isinstance(c, Connection) for c in listed.values())
    assert new_account.connections.get(pl.id).country_code == "PL"
    assert new_account.connections.delete(pl.id).deleted is True


async def test_webhook_endpoints_deliveries_replay_and_rotation(new_account: Clearway) -> None:
    made = new_account.webhook_endpoints.create(
        "https://erp.example.com/webhooks/clearway",
        ["invoice.accepted", "invoice.rejected"],
        description="ERP",
    )
    assert made.secret.startswith("whsec_")
    assert made.status == "enabled"
    assert [e.id for e in new_account.webhook_endpoints.list()] == [made.id]
    assert new_account.webhook_endpoints.get(made.id).enabled_events == [
        "invoice.accepted",
        "invoice.rejected",
    ]
    changed = new_account.webhook_endpoints.update(made.id, description=None, disabled=True)
    assert changed.description is None
    assert changed.status == "disabled"
    kept = new_account.webhook_endpoints.update(made.id, disabled=False, url=NOT_GIVEN)
    assert kept.url == made.url
    assert kept.status == "enabled"

    rotated = new_account.webhook_endpoints.rotate_secret(made.id, overlap_seconds=60)
    assert rotated.secret != made.secret
    assert rotated.previous_secret_expires_at is not None

    test = new_account.webhook_endpoints.send_test(made.id)
    assert test.event_type == "webhook.test"
    deliveries = list(new_account.webhook_endpoints.deliveries(made.id, limit=1))
    assert [d.id for d in deliveries] == [test.id]
    again = new_account.webhook_endpoints.retry_delivery(made.id, test.id)
    assert again.id == test.id
    assert new_account.webhook_endpoints.delete(made.id).deleted is True
    with pytest.raises(NotFoundError):
        new_account.webhook_endpoints.get(made.id)


@pytest_asyncio.fixture
async def buyer(
    api_stack: Stack, api_db: asyncpg.Pool[Any]
) -> AsyncIterator[tuple[str, list[str]]]:
    """A new account whose RO company received two invoices: its key and their ids."""
    async with api_db.acquire() as conn:
        receiving = await receiving_connection(conn)
        key = await create_api_key(conn, receiving.account_id, "test")
        received = []
        for government_id in ("ANAF-1", "ANAF-2"):
            ref = receiving.ref()
            assert await start_received_stream(conn, ref, new_received(government_id)) is not None
            received.append(ref.received_id)
    yield key, received


async def test_received_invoices(api_stack: Stack, buyer: tuple[str, list[str]]) -> None:
    key, (first, second) = buyer
    async with AsyncClearway(key, api_stack.api_url) as clearway:
        listed = [r.id async for r in clearway.received_invoices.list(limit=1)]
        assert listed == [second, first]  # newest first, a page at a time
        one = await clearway.received_invoices.get(first)
        assert one.government_id == "ANAF-1"
        assert one.supplier_vat == "RO123"
        tagged = await clearway.received_invoices.update(first, metadata={"bookingId": "BK-42"})
        assert tagged.metadata == {"bookingId": "BK-42"}
        found = clearway.received_invoices.list(metadata={"bookingId": "BK-42"})
        assert [r.id async for r in found] == [first]
        untagged = await clearway.received_invoices.update(first, metadata={"bookingId": None})
        assert untagged.metadata == {}
        document = await clearway.received_invoices.document(first)
        assert document.content == b"<Invoice/>"
        assert document.media_type == "application/xml"
        evidence = await clearway.received_invoices.evidence(first)
        assert evidence.content == b"<Signature/>"
        events = await clearway.received_invoices.events(first)
        assert [e.event for e in events] == ["invoice.received"]
        # ANAF carries the buyer's response as a RASP message: recorded for the receiver.
        responded = await clearway.received_invoices.respond(first, "reject", reason="wrong amount")
        assert responded.response is not None
        assert responded.response.status == "requested"
    with Clearway(key, api_stack.api_url) as blocking:
        assert [r.id for r in blocking.received_invoices.list()] == [second, first]
        assert blocking.received_invoices.get(second).response is None
        with pytest.raises(NotFoundError):
            blocking.received_invoices.get("rinv_missing")


def test_the_pkcs12_bytes_go_as_base64() -> None:
    from clearway_client._operations import connections_upload_certificate  # noqa: PLC0415

    operation = connections_upload_certificate("conn_1", b"\x00\x01", format="pkcs12")
    assert operation.body == {
        "format": "pkcs12",
        "certificate": base64.b64encode(b"\x00\x01").decode(),
    }


async def test_the_async_client_has_the_same_resources(
    api_stack: Stack, make_api_account: MakeAccount
) -> None:
    _, http = await make_api_account()
    async with AsyncClearway(key_of(http), api_stack.api_url) as clearway:
        company = await clearway.companies.create("Atelier SAS", "FR40303265045", "FR")
        assert [c.id for c in await clearway.companies.list()] == [company.id]
        assert (await clearway.companies.get(company.id)).siret is None
        fr = await clearway.connections.create(company.id, "FR", is_receiver=False)
        assert fr.status == "active"  # FR: nothing to set up
        assert fr.network_credentials is not None
        assert (await clearway.connections.wait(fr.id)).id == fr.id
        assert [c.id for c in await clearway.connections.list()] == [fr.id]
        assert (await clearway.connections.get(fr.id)).country_code == "FR"

        pl_company = await clearway.companies.create("Sprzedawca sp. z o.o.", "PL5265877635", "PL")
        pl = await clearway.connections.create(pl_company.id, "PL")
        async with httpx.AsyncClient(base_url=api_stack.govsim_url, timeout=10) as sim:
            issued = await sim.post("/_sim/pl/ksef-tokens", json={"nip": "5265877635"})
        assert (
            await clearway.connections.upload_ksef_token(pl.id, issued.json()["token"])
        ).status == "active"
        it_company = await clearway.companies.create("Bottega Srl", "IT01234567897", "IT")
        it = await clearway.connections.create(it_company.id, "IT")
        uploaded = await clearway.connections.upload_certificate(
            it.id, sandbox_channel_certificate()
        )
        assert uploaded.status == "active"
        assert (await clearway.connections.delete(fr.id)).deleted

        endpoint = await clearway.webhook_endpoints.create("https://erp.example.com/h", ["*"])
        assert [e.id for e in await clearway.webhook_endpoints.list()] == [endpoint.id]
        assert (await clearway.webhook_endpoints.get(endpoint.id)).url == endpoint.url
        updated = await clearway.webhook_endpoints.update(endpoint.id, description="ERP")
        assert updated.description == "ERP"
        delivery = await clearway.webhook_endpoints.send_test(endpoint.id)
        listed = [d.id async for d in clearway.webhook_endpoints.deliveries(endpoint.id)]
        assert listed == [delivery.id]
        assert (await clearway.webhook_endpoints.retry_delivery(endpoint.id, delivery.id)).id
        assert (await clearway.webhook_endpoints.rotate_secret(endpoint.id)).secret
        assert (await clearway.webhook_endpoints.delete(endpoint.id)).deleted
        assert (await clearway.companies.delete(company.id)).deleted
        assert await clearway.request("GET", "/v1/companies") is not None

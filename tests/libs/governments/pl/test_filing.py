"""KSeF's Filer sends a seller's invoices in one open online session (governments/pl/sessions.py),
against the simulated KSeF in process and real PostgreSQL: the session is shared, replaced when
it nears validUntil, fills up, idles or KSeF refuses it, opened once by concurrent invoices, and a
lost answer in a shared session is found there and filed once."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
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
from clearway.config import Settings
from clearway.db import Connection
from clearway.domain.connections import SecretKind
from clearway.domain.ids import new_id
from clearway.domain.invoice import InvoiceRequest
from clearway.governments import government
from clearway.governments.pl import sessions as online
from clearway.governments.pl.auth import KsefAuthClient
from clearway.governments.pl.filing import KsefFiler
from clearway.pipeline.decisions import Accepted
from clearway.pipeline.filing.gate import SubmissionGate
from clearway.pipeline.filing.outcomes import AnswerLost, Attempt, Unconfirmed, Uploaded
from clearway.store import submissions
from clearway.store.events import start_stream
from clearway.store.invoices import InvoiceRef, NewInvoice
from fastapi import FastAPI

from services.govsim.app import create_app
from services.govsim.pl.sessions import OnlineSession as SimSession
from tests.libs.governments.pl.nips import random_nip
from tests.libs.governments.test_filing_contract import INSTANT, LEASE, Filing
from tests.libs.pipeline.filing_rows import connected_company, schedule_filing
from tests.libs.validation.bodies import clean_body
from tests.services.govsim.simtools import FakeClock

pytestmark = [pytest.mark.postgres]

CONTROL = "/_sim/pl"


@dataclass(frozen=True)
class Seller:
    """One company connected to KSeF with a fresh access token, and the Filer that sends for
    it (its clock moved by hand)."""

    account_id: str
    connection_id: str
    body: dict[str, Any]
    nip: str
    filer: KsefFiler
    clock: FakeClock
    govsim: FastAPI
    http: httpx.AsyncClient
    settings: Settings


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(database_url="unused", kafka_bootstrap="unused")


@pytest.fixture
def govsim() -> FastAPI:
    return create_app(INSTANT)


@pytest_asyncio.fixture
async def http(govsim: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=govsim)
    async with httpx.AsyncClient(transport=transport, base_url="http://govsim") as client:
        yield client


@pytest_asyncio.fixture
async def seller(
    store_db: asyncpg.Pool[Any],
    govsim: FastAPI,
    http: httpx.AsyncClient,
    settings: Settings,
    keyring: Any,
) -> AsyncIterator[Seller]:
    del keyring
    body = clean_body("PL")
    nip = random_nip()  # the test's own limits at KSeF and in the shared buckets
    body["supplier"] = {**body["supplier"], "vatNumber": f"PL{nip}"}
    endpoint = settings.governments().ksef.for_mode(False)
    clock = FakeClock(0.0)
    filer = KsefFiler(http, endpoint, clock=clock)
    async with store_db.acquire() as conn:
        account_id = await create_account(conn, "KSeF sessions")
        connection_id = await connected_company(
            conn,
            account_id,
            "PL",
            legal_name=body["supplier"]["name"],
            vat_number=body["supplier"]["vatNumber"],
        )
        ksef_token = govsim.state.ksef.auth.register_ksef_token(nip)
        tokens = await KsefAuthClient(endpoint.api_url, http).authenticate_with_token(
            ksef_token, nip
        )
        await store_secrets(conn, connection_id, {SecretKind.ACCESS_TOKEN: tokens.access_token})
    yield Seller(account_id, connection_id, body, nip, filer, clock, govsim, http, settings)
    await filer.close_sessions()


async def claimed(conn: Connection, seller: Seller, *, scenario: str | None = None) -> Attempt:
    """A new invoice of the seller, validated, rendered and claimed for filing."""
    gov = government("PL")
    body = dict(seller.body, invoiceNumber=f"SS-{secrets.token_hex(4)}")
    request = InvoiceRequest.model_validate(body)
    rendered, _xml = gov.formats()[0].render(request, body["invoiceNumber"])
    ref = InvoiceRef(
        invoice_id=new_id("inv"), account_id=seller.account_id, country="PL", livemode=False
    )
    created = await start_stream(
        conn,
        ref,
        NewInvoice(
            supplier_vat=body["supplier"]["vatNumber"],
            customer_vat=body["customer"].get("vatNumber") or "",
            net_amount=Decimal("200.00"),
            vat_amount=Decimal("0.00"),
            gross_amount=Decimal("200.00"),
            currency=body.get("currency", "PLN"),
            request=request.model_dump(mode="json", by_alias=True, exclude_none=True),
            sandbox_scenario=scenario,
        ),
    )
    queue = await schedule_filing(
        conn, ref, created.id, seller.connection_id, rendered, document_format="FA3"
    )
    (row,) = await submissions.claim_due(conn, queue, 1, LEASE)
    return Attempt(conn, row, SubmissionGate(seller.settings))


async def upload(attempt: Attempt, seller: Seller) -> Any:
    return await seller.filer.upload(attempt, await attempt.document() or b"")


def ksef_sessions(seller: Seller) -> list[SimSession]:
    """The online sessions the simulated KSeF opened for the seller, oldest first."""
    return [s for s in seller.govsim.state.ksef.all_sessions() if s.context_nip == seller.nip]


def session_of(outcome: Any) -> str:
    assert isinstance(outcome, Uploaded), outcome
    reference: str = outcome.details["sessionReferenceNumber"]
    return reference


async def closed_soon(session: SimSession) -> bool:
    """Whether the session was closed by now or within a moment (closes run in the
    background)."""
    for _ in range(100):
        if session.closed_at is not None:
            return True
        await asyncio.sleep(0.01)
    return False


def follow(seller: Seller, attempt: Attempt, uploaded: Uploaded) -> Any:
    context: Any = SimpleNamespace(settings=seller.settings)
    filing = Filing(government("PL"), seller.filer, attempt, context, seller.http)
    return filing.follow(uploaded)


# --- one session for many invoices -------------------------------------------------------------


async def test_a_sellers_invoices_share_one_open_session_and_are_accepted_in_it(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    async with store_db.acquire() as conn:
        attempts = [await claimed(conn, seller) for _ in range(3)]
        uploads = [await upload(attempt, seller) for attempt in attempts]
        assert len({session_of(outcome) for outcome in uploads}) == 1
        [session] = ksef_sessions(seller)
        assert session.reference_number == session_of(uploads[0])
        assert len(session.invoices) == 3
        # Accepted, its UPO read, while the session is still open.
        decided = await follow(seller, attempts[0], uploads[0])
        assert isinstance(decided, Accepted), decided
        assert decided.receipt
        assert session.closed_at is None
        for attempt in attempts:  # each row names the session, where a lost answer is looked for
            assert attempt.submission.gov_session == session.reference_number


async def test_concurrent_invoices_of_one_seller_open_one_session(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    async with AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(store_db.acquire()) for _ in range(5)]
        attempts = [await claimed(conn, seller) for conn in conns]
        uploads = await asyncio.gather(*(upload(attempt, seller) for attempt in attempts))
    assert len({session_of(outcome) for outcome in uploads}) == 1
    [session] = ksef_sessions(seller)
    assert len(session.invoices) == 5


# --- replaced -----------------------------------------------------------------------------------


async def test_a_session_near_its_valid_until_is_closed_and_replaced(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    async with store_db.acquire() as conn:
        first = session_of(await upload(await claimed(conn, seller), seller))
        seller.clock.advance(online.SESSION_LIFETIME - online.RENEW_BEFORE + 1)
        second = session_of(await upload(await claimed(conn, seller), seller))
    assert second != first
    old, new = ksef_sessions(seller)
    assert await closed_soon(old)
    assert (len(old.invoices), len(new.invoices)) == (1, 1)
    assert new.closed_at is None


async def test_a_full_session_is_closed_and_replaced(
    store_db: asyncpg.Pool[Any], seller: Seller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(online, "MAX_INVOICES", 2)
    async with store_db.acquire() as conn:
        references = [
            session_of(await upload(await claimed(conn, seller), seller)) for _ in range(3)
        ]
    assert references[0] == references[1] != references[2]
    old, _new = ksef_sessions(seller)
    assert await closed_soon(old)


async def test_an_idle_session_is_closed_and_the_next_invoice_opens_another(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    async with store_db.acquire() as conn:
        first = session_of(await upload(await claimed(conn, seller), seller))
        await seller.filer.sessions.sweep()  # not idle yet
        [session] = ksef_sessions(seller)
        assert session.closed_at is None
        seller.clock.advance(online.IDLE_CLOSE)
        await seller.filer.sessions.sweep()
        assert session.closed_at is not None
        second = session_of(await upload(await claimed(conn, seller), seller))
    assert second != first


@pytest.mark.parametrize("how", ["expired", "unavailable"])
async def test_a_session_ksef_no_longer_takes_is_replaced_and_the_invoice_sent_once(
    store_db: asyncpg.Pool[Any], seller: Seller, how: str
) -> None:
    """KSeF closed it at validUntil (21180) or services it (21184): the refused send filed
    nothing, so the invoice goes into a new session, recorded on its row first."""
    async with store_db.acquire() as conn:
        first = session_of(await upload(await claimed(conn, seller), seller))
        if how == "expired":
            answer = await seller.http.post(f"{CONTROL}/sessions/{first}/expire")
        else:
            answer = await seller.http.put(
                f"{CONTROL}/sessions/{first}/unavailable", json={"value": True}
            )
        assert answer.is_success
        attempt = await claimed(conn, seller)
        second = session_of(await upload(attempt, seller))
        assert attempt.submission.gov_session == second
    assert second != first
    old, new = ksef_sessions(seller)
    assert (len(old.invoices), len(new.invoices)) == (1, 1)


async def test_shutdown_closes_the_open_sessions(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    async with store_db.acquire() as conn:
        await upload(await claimed(conn, seller), seller)
    [session] = ksef_sessions(seller)
    assert session.closed_at is None
    await seller.filer.close_sessions()
    assert session.closed_at is not None


# --- a lost answer in a shared session ---------------------------------------------------------


async def test_a_lost_answer_in_a_shared_session_is_found_there_and_filed_once(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    async with store_db.acquire() as conn:
        before = session_of(await upload(await claimed(conn, seller), seller))
        lost_attempt = await claimed(conn, seller, scenario="timeout")
        lost = await upload(lost_attempt, seller)
        assert isinstance(lost, AnswerLost), lost
        assert lost_attempt.submission.gov_session == before
        after = session_of(await upload(await claimed(conn, seller), seller))
        found = await seller.filer.find(lost_attempt)
        assert session_of(found) == before == after
        decided = await follow(seller, lost_attempt, found)
        assert isinstance(decided, Accepted), decided
    [session] = ksef_sessions(seller)
    hashes = [invoice.sent.invoice_hash for invoice in session.invoices]
    assert len(hashes) == len(set(hashes)) == 3
    assert found.upload_id in {invoice.reference_number for invoice in session.invoices}


async def test_a_lost_answer_is_not_matched_to_another_invoices_send_of_the_same_document(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    # The same invoice posted twice makes the same document: the first was filed in the session
    # (and recorded as such), the second's send into it was lost. Listing the session finds
    # the first's entry with the same hash: it is not the second's.
    async with store_db.acquire() as conn:
        first_attempt = await claimed(conn, seller)
        first = await upload(first_attempt, seller)
        assert isinstance(first, Uploaded), first
        await conn.execute(
            "UPDATE submissions SET upload_id = $2 WHERE invoice_id = $1",
            first_attempt.submission.ref.invoice_id,
            first.upload_id,
        )
        lost_attempt = await claimed(conn, seller, scenario="timeout")
        await conn.execute(
            "UPDATE documents SET xml = $2 WHERE invoice_id = $1",
            lost_attempt.submission.ref.invoice_id,
            await first_attempt.document(),
        )
        lost = await upload(lost_attempt, seller)
        assert isinstance(lost, AnswerLost), lost
        found = await seller.filer.find(lost_attempt)
    [session] = ksef_sessions(seller)
    assert len({i.sent.invoice_hash for i in session.invoices}) == 1  # one document, sent twice
    # KSeF took the second send too (the simulator's timeout loses only the answer): that entry
    # is the lost one's, never the first invoice's.
    assert isinstance(found, Uploaded), found
    assert found.upload_id != first.upload_id
    assert found.upload_id in {i.reference_number for i in session.invoices}


async def test_a_lost_answer_in_a_session_ksef_will_not_list_is_unconfirmed_not_sent_again(
    store_db: asyncpg.Pool[Any], seller: Seller
) -> None:
    async with store_db.acquire() as conn:
        lost_attempt = await claimed(conn, seller, scenario="timeout")
        assert isinstance(await upload(lost_attempt, seller), AnswerLost)
        # As if the row named a session KSeF does not know for this context (21173).
        unknown = lost_attempt.submission.model_copy(update={"gov_session": "20261204-SO-UNKNOWN"})
        found = await seller.filer.find(Attempt(conn, unknown, SubmissionGate(seller.settings)))
    assert isinstance(found, Unconfirmed), found
    assert "20261204-SO-UNKNOWN" in found.where_to_check

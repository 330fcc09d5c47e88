"""The token refresher with a clock the test controls, against real PostgreSQL and the real
government simulators.

Each test gets a database of its own, which no service process reads: a clock months ahead
would otherwise make the stack's connections due too. The refresher runs in this process
(TokenRefresher, as the service runs it); "two replicas" are two refreshers with their own
connection pools, so their claims meet only in PostgreSQL, exactly as two processes' would —
the row lock and the lease are the database's, not the process's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_account, create_active_connection, create_company
from clearway.accounts.connection_secrets import read_secret
from clearway.accounts.connections import activate_connection, open_connection
from clearway.config import Settings
from clearway.db import create_pool
from clearway.domain.company import CompanyRequest
from clearway.domain.connections import SecretKind
from clearway.domain.ids import new_id, utcnow
from clearway.domain.lifecycle import EventType
from clearway.governments.pl.auth import KsefAuthClient, KsefTokens
from clearway.governments.pl.xades import KsefCertificate
from clearway.security import Keyring, generate_master_key
from clearway.store.events import NewEvent, append_event, start_stream
from clearway.store.invoices import InvoiceRef, NewInvoice

from services.stack.infra import Database, free_port
from services.stack.stack import Stack
from services.token_refresher.handlers import LEASE, TokenRefresher
from tests.libs.security.certmaker import make_seal_certificate, pem_pair
from tests.services.connections_support import throwaway_database

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

KEYRING = Keyring([generate_master_key("refresher-test")])


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest_asyncio.fixture
async def refresher_database(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    """A database of this test's own (the simulators still come from the stack)."""
    async with throwaway_database(tmp_path_factory.mktemp("refresh")) as database:
        yield database


@pytest_asyncio.fixture
async def refresher_db(refresher_database: Database) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(refresher_database.url)
    try:
        yield pool
    finally:
        await pool.close()


def settings_for(stack: Stack, **overrides: str) -> Settings:
    """The settings this environment (variable names, overrides too) gives."""
    environment = {
        "DATABASE_URL": "postgresql://unused",
        "KAFKA_BOOTSTRAP": "unused:9092",
        "ANAF_OAUTH_URL": f"{stack.govsim_url}/anaf-oauth2/v1",
        "KSEF_API_URL": f"{stack.govsim_url}/v2",
        **overrides,
    }
    return Settings.from_env(environment)


def refresher(
    pool: asyncpg.Pool[Any],
    stack: Stack,
    http: httpx.AsyncClient,
    clock: Clock,
    **options: Any,
) -> TokenRefresher:
    return TokenRefresher(
        pool,
        settings_for(stack, **options.pop("settings", {})),
        http,
        keyring=KEYRING,
        clock=clock,
        rng=random.Random(5),  # noqa: S311 - seeded jitter
        **options,
    )


async def _company(conn: Any, country: str = "RO", vat: str = "RO12345678") -> tuple[str, str]:
    account_id = await create_account(conn, "refresher test")
    company = CompanyRequest(legal_name="Refresh SRL", vat_number=vat, country=country)
    return account_id, await create_company(conn, account_id, company)


async def ro_connection(pool: asyncpg.Pool[Any], stack: Stack) -> str:
    """An active RO connection holding a token pair the ANAF simulator really issued."""
    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        pair = (await sim.post("/_sim/anaf/tokens", json={})).json()
    async with pool.acquire() as conn:
        account_id, company_id = await _company(conn)
        return await create_active_connection(
            conn,
            account_id,
            company_id,
            "RO",
            access_token=pair["access_token"],
            refresh_token=pair["refresh_token"],
            expires_at=utcnow() + dt.timedelta(seconds=pair["expires_in"]),
            keyring=KEYRING,
        )


@pytest_asyncio.fixture
async def connection_id(refresher_db: asyncpg.Pool[Any], stack: Stack) -> str:
    """The id of an active RO connection (ro_connection) in this test's database."""
    return await ro_connection(refresher_db, stack)


async def row_of(pool: asyncpg.Pool[Any], connection_id: str) -> Any:
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM connections WHERE id = $1", connection_id)


async def secret(pool: asyncpg.Pool[Any], connection_id: str, kind: SecretKind) -> str | None:
    async with pool.acquire() as conn:
        return await read_secret(conn, connection_id, kind, keyring=KEYRING)


async def outbox_events(pool: asyncpg.Pool[Any], connection_id: str) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM outbox WHERE topic = 'connection.events' AND key = $1 ORDER BY id",
            connection_id,
        )
    return [row["payload"] for row in rows]


async def test_refreshes_before_expiry_on_a_clock_the_test_controls(
    stack: Stack, refresher_db: asyncpg.Pool[Any], connection_id: str
) -> None:
    before = await row_of(refresher_db, connection_id)
    old_access = await secret(refresher_db, connection_id, SecretKind.ACCESS_TOKEN)
    old_refresh = await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN)
    issued = before["token_expires_at"] - dt.timedelta(days=90)
    # Jittered into 70-80% of the 90 days: 18 to 27 days before the token expires.
    assert (
        issued + dt.timedelta(days=63)
        <= before["next_refresh_at"]
        <= issued + dt.timedelta(days=72)
    )

    clock = Clock(utcnow())
    async with httpx.AsyncClient() as http:
        worker = refresher(refresher_db, stack, http, clock)
        assert await worker.run_once() == 0  # not due today
        clock.now = before["next_refresh_at"] - dt.timedelta(seconds=1)
        assert await worker.run_once() == 0  # nor a second before its time
        clock.now = before["next_refresh_at"]
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0  # done: the next time is months away

    after = await row_of(refresher_db, connection_id)
    new_access = await secret(refresher_db, connection_id, SecretKind.ACCESS_TOKEN)
    assert after["status"] == "active"
    assert new_access not in {None, old_access}
    assert await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN) not in {
        None,
        old_refresh,
    }
    # ANAF answered a new 90-day token (the simulator's clock is the real one).
    assert abs(after["token_expires_at"] - (clock.now + dt.timedelta(days=90))) < dt.timedelta(
        minutes=1
    )
    assert (
        clock.now + dt.timedelta(days=63)
        <= after["next_refresh_at"]
        <= clock.now + dt.timedelta(days=72)
    )
    assert after["refresh_lease_owner"] is None
    assert [e["event"] for e in await outbox_events(refresher_db, connection_id)] == [
        "connection.active",
        "connection.refreshed",
    ]
    # The new token works at ANAF.
    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        answer = await sim.get(
            "/test/FCTEL/rest/listaMesajeFactura",
            params={"zile": "1", "cif": "12345678"},
            headers={"Authorization": f"Bearer {new_access}"},
        )
    assert answer.status_code == 200


async def _invoice_waiting_on(pool: asyncpg.Pool[Any], connection_id: str) -> str:
    """An invoice already filed with the connection, whose decision the poller is awaiting."""
    connection = await row_of(pool, connection_id)
    ref = InvoiceRef(
        invoice_id=new_id("inv"), account_id=connection["account_id"], country="RO", livemode=False
    )
    async with pool.acquire() as conn:
        await start_stream(
            conn,
            ref,
            NewInvoice(
                company_id=connection["company_id"],
                supplier_vat="RO12345678",
                customer_vat="RO87654321",
                net_amount=100,
                vat_amount=21,
                gross_amount=121,
                currency="RON",
                request={},
            ),
        )
        # Validated, then submitted: the only way the lifecycle lets an invoice be filed.
        await append_event(
            conn, ref, NewEvent(type=EventType.VALIDATED, expected_version=1, causation_id="test")
        )
        await append_event(
            conn,
            ref,
            NewEvent(
                type=EventType.SUBMITTED,
                expected_version=2,
                causation_id="test",
                metadata={"uploadId": "5000000001"},
            ),
        )
        await conn.execute(
            "INSERT INTO submissions (invoice_id, connection_id, state, upload_id) "
            "VALUES ($1, $2, 'uploaded', '5000000001')",
            ref.invoice_id,
            connection_id,
        )
        await conn.execute(
            "INSERT INTO status_polls (invoice_id, connection_id, upload_id, version) "
            "VALUES ($1, $2, '5000000001', 3)",
            ref.invoice_id,
            connection_id,
        )
    return ref.invoice_id


async def test_a_refused_refresh_expires_the_connection_and_its_waiting_invoices(
    stack: Stack, refresher_db: asyncpg.Pool[Any], connection_id: str
) -> None:
    invoice_id = await _invoice_waiting_on(refresher_db, connection_id)
    refresh_token = await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN)
    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        expired = await sim.post("/_sim/anaf/tokens/expire", json={"token": refresh_token})
    assert expired.status_code == 204

    clock = Clock((await row_of(refresher_db, connection_id))["next_refresh_at"])
    async with httpx.AsyncClient() as http:
        assert await refresher(refresher_db, stack, http, clock).run_once() == 1

    row = await row_of(refresher_db, connection_id)
    assert row["status"] == "expired"
    assert "ANAF refused to refresh the token (invalid_grant" in row["last_error_message"]
    assert row["last_error_message"].endswith(
        "Authorize the connection again (POST /v1/connections)."
    )
    assert row["next_refresh_at"] is None
    async with refresher_db.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM connection_secrets WHERE connection_id = $1", connection_id
            )
            == 0
        )
        invoice = await conn.fetchrow("SELECT * FROM invoices WHERE id = $1", invoice_id)
        event = await conn.fetchrow(
            "SELECT * FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1", invoice_id
        )
        poll_version = await conn.fetchval(
            "SELECT version FROM status_polls WHERE invoice_id = $1", invoice_id
        )
    events = await outbox_events(refresher_db, connection_id)
    assert events[-1]["event"] == "connection.expired"
    assert events[-1]["status"] == "expired"
    assert events[-1]["lastErrorMessage"] == row["last_error_message"]
    # The invoice says what to do, and keeps its poll to be followed after re-authorization.
    assert invoice["status"] == "error"
    assert invoice["error_message"] == "The supplier's company's ANAF connection expired."
    assert (
        "Authorize the company's ANAF connection again (POST /v1/connections)"
        in (invoice["error_fix"])
    )
    assert "do not send it again" in invoice["error_fix"]
    assert (event["type"], event["version"]) == ("invoice.error", 4)
    assert event["metadata"]["reason"] == "connection_expired"
    assert poll_version == 4


async def test_a_government_that_does_not_answer_is_tried_again_later(
    stack: Stack, refresher_db: asyncpg.Pool[Any], connection_id: str
) -> None:
    due = (await row_of(refresher_db, connection_id))["next_refresh_at"]
    clock = Clock(due)
    async with httpx.AsyncClient() as http:
        down = {"ANAF_OAUTH_URL": f"http://127.0.0.1:{free_port()}/anaf-oauth2/v1"}
        assert await refresher(refresher_db, stack, http, clock, settings=down).run_once() == 1
        row = await row_of(refresher_db, connection_id)
        assert row["status"] == "active"
        assert row["refresh_failures"] == 1
        assert dt.timedelta(seconds=48) <= row["next_refresh_at"] - due <= dt.timedelta(seconds=72)
        assert "ANAF did not refresh the token" in row["last_error_message"]

        clock.now = row["next_refresh_at"]
        assert await refresher(refresher_db, stack, http, clock).run_once() == 1
    row = await row_of(refresher_db, connection_id)
    assert (row["status"], row["refresh_failures"], row["last_error_message"]) == (
        "active",
        0,
        None,
    )


class GovernmentLine(httpx.AsyncBaseTransport):
    """The real HTTP transport, with a pause before each request and a log of what was asked
    and answered (to count refreshes per refresh token)."""

    def __init__(self, pause: float = 0.0) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self.pause = pause
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()
        self.refresh_tokens: list[str] = []
        self.access_tokens: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs((await request.aread()).decode())
        if "refresh_token" in form:
            self.refresh_tokens.append(form["refresh_token"][0])
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(self.pause)
        response = await self._real.handle_async_request(request)
        body = await response.aread()
        if response.status_code == 200:
            self.access_tokens.append(httpx.Response(200, content=body).json()["access_token"])
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_two_replicas_never_refresh_the_same_connection_at_once(
    stack: Stack, refresher_database: Database, refresher_db: asyncpg.Pool[Any]
) -> None:
    ids = [await ro_connection(refresher_db, stack) for _ in range(12)]
    originals = {c: await secret(refresher_db, c, SecretKind.REFRESH_TOKEN) for c in ids}
    async with refresher_db.acquire() as conn:
        await conn.execute("UPDATE connections SET next_refresh_at = now() - interval '1 minute'")
    clock = Clock(utcnow() + dt.timedelta(seconds=1))
    other_pool = await create_pool(refresher_database.url)  # as another process would have
    lines = [GovernmentLine(pause=0.15), GovernmentLine(pause=0.15)]
    claimed = [0, 0]

    async def replica(index: int, pool: asyncpg.Pool[Any]) -> None:
        async with httpx.AsyncClient(transport=lines[index]) as http:
            worker = refresher(pool, stack, http, clock, batch_size=3)
            while count := await worker.run_once():
                claimed[index] += count

    try:
        await asyncio.gather(replica(0, refresher_db), replica(1, other_pool))
    finally:
        await other_pool.close()

    asked = lines[0].refresh_tokens + lines[1].refresh_tokens
    assert sorted(asked) == sorted(originals.values())  # each refresh token used exactly once
    assert min(claimed) > 0  # both replicas did part of the work
    assert sum(claimed) == len(ids)
    for connection_id in ids:
        events = [e["event"] for e in await outbox_events(refresher_db, connection_id)]
        assert events.count("connection.refreshed") == 1
        assert (
            await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN)
            != (originals[connection_id])
        )


async def test_a_replica_that_outlives_its_lease_records_nothing(
    stack: Stack, refresher_db: asyncpg.Pool[Any], connection_id: str
) -> None:
    clock = Clock((await row_of(refresher_db, connection_id))["next_refresh_at"])
    slow, quick = GovernmentLine(), GovernmentLine()
    slow.gate = asyncio.Event()
    async with (
        httpx.AsyncClient(transport=slow) as slow_http,
        httpx.AsyncClient(transport=quick) as quick_http,
    ):
        stuck = asyncio.create_task(refresher(refresher_db, stack, slow_http, clock).run_once())
        await asyncio.wait_for(slow.arrived.wait(), 10)  # replica A is asking ANAF
        other = refresher(refresher_db, stack, quick_http, clock)
        assert await other.run_once() == 0  # leased to A: B leaves it alone
        clock.now += LEASE + dt.timedelta(seconds=1)  # A hangs past its lease
        assert await other.run_once() == 1  # B takes it over and refreshes
        slow.gate.set()
        assert await stuck == 1  # A finishes late ...

    # ... and its tokens were dropped: the connection holds B's.
    assert len(slow.access_tokens) == len(quick.access_tokens) == 1
    stored = await secret(refresher_db, connection_id, SecretKind.ACCESS_TOKEN)
    assert stored == quick.access_tokens[0]
    events = [e["event"] for e in await outbox_events(refresher_db, connection_id)]
    assert events.count("connection.refreshed") == 1


async def activated(
    pool: asyncpg.Pool[Any],
    country: str,
    vat: str,
    secrets: dict[SecretKind, str | bytes],
    *,
    token_expires_at: dt.datetime,
    refresh_at: dt.datetime,
    refresh_token_expires_at: dt.datetime | None = None,
) -> Any:
    """A connection of a new company, made active with these secrets; its row."""
    async with pool.acquire() as conn, conn.transaction():
        account_id, company_id = await _company(conn, country, vat)
        row, _ = await open_connection(conn, account_id, company_id, country)
        await activate_connection(
            conn,
            row,
            secrets=secrets,
            token_expires_at=token_expires_at,
            refresh_token_expires_at=refresh_token_expires_at,
            refresh_at=refresh_at,
            keyring=KEYRING,
        )
    return row


async def pl_activated(
    pool: asyncpg.Pool[Any], tokens: KsefTokens, login: dict[SecretKind, str | bytes]
) -> Any:
    """A PL connection holding the KSeF tokens its login (KSeF token or seal) was answered with,
    refreshed 4 minutes before the access token ends; its row."""
    secrets = login | {
        SecretKind.ACCESS_TOKEN: tokens.access_token,
        SecretKind.REFRESH_TOKEN: tokens.refresh_token,
    }
    return await activated(
        pool,
        "PL",
        "PL5265877635",
        secrets,
        token_expires_at=tokens.access_expires_at,
        refresh_token_expires_at=tokens.refresh_expires_at,
        refresh_at=tokens.access_expires_at - dt.timedelta(minutes=4),
    )


async def due_at(
    pool: asyncpg.Pool[Any], clock: Clock, connection_id: str, moment: dt.datetime
) -> None:
    """Move the clock to `moment` and make the connection due then."""
    clock.now = moment
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE connections SET next_refresh_at = $2 WHERE id = $1", connection_id, moment
        )


async def due_for_a_new_login(pool: asyncpg.Pool[Any], clock: Clock, row: Any) -> None:
    """Twenty hours before the row's refresh token ends: less than a day left, so due for a new
    login."""
    await due_at(pool, clock, row["id"], row["refresh_token_expires_at"] - dt.timedelta(hours=20))


async def _pl_connection(pool: asyncpg.Pool[Any], stack: Stack) -> tuple[str, str]:
    """An active PL connection authenticated with a KSeF token; (connection id, KSeF token)."""
    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        ksef_token = (await sim.post("/_sim/pl/ksef-tokens", json={"nip": "5265877635"})).json()
    async with httpx.AsyncClient() as http:
        tokens = await KsefAuthClient(f"{stack.govsim_url}/v2", http).authenticate_with_token(
            ksef_token["token"], "5265877635"
        )
    row = await pl_activated(pool, tokens, {SecretKind.KSEF_TOKEN: ksef_token["token"]})
    return row["id"], ksef_token["token"]


async def test_pl_refreshes_access_tokens_and_authenticates_again_before_the_7_days_end(
    stack: Stack, refresher_db: asyncpg.Pool[Any]
) -> None:
    connection_id, ksef_token = await _pl_connection(refresher_db, stack)
    first = await row_of(refresher_db, connection_id)
    refresh_token = await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN)
    access_token = await secret(refresher_db, connection_id, SecretKind.ACCESS_TOKEN)

    clock = Clock(first["next_refresh_at"])
    async with httpx.AsyncClient() as http:
        worker = refresher(refresher_db, stack, http, clock)
        assert await worker.run_once() == 1
        refreshed = await row_of(refresher_db, connection_id)
        # KSeF's refresh: a new access token; the refresh token stays (it is not renewable).
        assert await secret(refresher_db, connection_id, SecretKind.ACCESS_TOKEN) != access_token
        assert await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN) == refresh_token
        assert refreshed["refresh_token_expires_at"] == first["refresh_token_expires_at"]
        # The simulator's clock is the real one: a fresh 15-minute token from now.
        lifetime = refreshed["token_expires_at"] - utcnow()
        assert dt.timedelta(minutes=14) < lifetime <= dt.timedelta(minutes=15)

        # Six days on, less than a day is left on the refresh token: authenticate again.
        await due_for_a_new_login(refresher_db, clock, first)
        assert await worker.run_once() == 1
        again = await row_of(refresher_db, connection_id)
        assert await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN) != refresh_token
        assert again["refresh_token_expires_at"] > first["refresh_token_expires_at"]

        # The company revoked its KSeF token: the next re-authentication fails for good.
        async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
            await sim.post("/_sim/pl/ksef-tokens/revoke", json={"token": ksef_token})
        await due_for_a_new_login(refresher_db, clock, again)
        assert await worker.run_once() == 1
    row = await row_of(refresher_db, connection_id)
    assert row["status"] == "expired"
    assert "Token unieważniony" in row["last_error_message"]
    assert (await outbox_events(refresher_db, connection_id))[-1]["event"] == "connection.expired"


async def test_an_sdi_certificate_expires_with_its_connection(
    stack: Stack, refresher_db: asyncpg.Pool[Any]
) -> None:
    not_after = utcnow().replace(microsecond=0) + dt.timedelta(days=30)
    row = await activated(
        refresher_db,
        "IT",
        "IT01234567897",
        {SecretKind.CERTIFICATE: "PEM", SecretKind.PRIVATE_KEY: "KEY"},
        token_expires_at=not_after,
        refresh_at=not_after,
    )
    clock = Clock(not_after - dt.timedelta(seconds=1))
    async with httpx.AsyncClient() as http:
        worker = refresher(refresher_db, stack, http, clock)
        assert await worker.run_once() == 0
        clock.now = not_after
        assert await worker.run_once() == 1
    expired = await row_of(refresher_db, row["id"])
    assert expired["status"] == "expired"
    assert "The certificate expired on" in expired["last_error_message"]
    assert f"/v1/connections/{row['id']}/certificate" in expired["last_error_message"]


async def test_pl_logs_in_again_with_the_certificate_until_it_expires(
    stack: Stack, refresher_db: asyncpg.Pool[Any]
) -> None:
    """A PL connection made with a company seal: the refresher signs a new XAdES login with it
    before the refresh token's 7 days end, and expires the connection once it is past its
    notAfter (KSeF would refuse it), saying so."""
    # Valid through the first new login (about 6 days on), expired before the refresh token.
    not_after = utcnow().replace(microsecond=0) + dt.timedelta(days=6, hours=12)
    seal, seal_key = make_seal_certificate("5265877635", not_after=not_after)
    certificate_pem, key_pem = pem_pair(seal, seal_key)
    async with httpx.AsyncClient() as http:
        tokens = await KsefAuthClient(f"{stack.govsim_url}/v2", http).authenticate_with_certificate(
            KsefCertificate(certificate_pem.decode(), key_pem.decode()), "5265877635"
        )
    row = await pl_activated(
        refresher_db,
        tokens,
        {SecretKind.CERTIFICATE: certificate_pem, SecretKind.PRIVATE_KEY: key_pem},
    )
    connection_id = row["id"]
    first = await row_of(refresher_db, connection_id)

    clock = Clock(first["refresh_token_expires_at"] - dt.timedelta(hours=20))
    async with httpx.AsyncClient() as http:
        worker = refresher(refresher_db, stack, http, clock)
        # Less than a day left on the refresh token: a new XAdES login with the certificate.
        await due_for_a_new_login(refresher_db, clock, first)
        assert await worker.run_once() == 1
        again = await row_of(refresher_db, connection_id)
        assert again["status"] == "active", again["last_error_message"]
        assert await secret(refresher_db, connection_id, SecretKind.REFRESH_TOKEN) != (
            tokens.refresh_token
        )
        assert again["refresh_token_expires_at"] > first["refresh_token_expires_at"]
        assert await secret(refresher_db, connection_id, SecretKind.CERTIFICATE) == (
            certificate_pem.decode()
        )

        # An hour past the certificate's notAfter, less than a day left on the refresh token:
        # no login is tried with it; the connection expires.
        await due_at(refresher_db, clock, connection_id, not_after + dt.timedelta(hours=1))
        assert clock.now > again["refresh_token_expires_at"] - dt.timedelta(days=1)
        assert await worker.run_once() == 1
    expired = await row_of(refresher_db, connection_id)
    assert expired["status"] == "expired"
    message = expired["last_error_message"]
    assert "expired on" in message
    assert f"/v1/connections/{connection_id}/certificate" in message
    assert await secret(refresher_db, connection_id, SecretKind.PRIVATE_KEY) is None
    assert (await outbox_events(refresher_db, connection_id))[-1]["event"] == "connection.expired"

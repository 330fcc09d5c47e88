"""What the connection tests share: companies, the RO flow as a browser goes through it, the
events on `connection.events`, and the secrets as the database holds them."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from clearway.accounts.connection_secrets import read_secret
from clearway.db import migrate
from clearway.domain.connections import SecretKind
from clearway.messaging.topics import CONNECTION_EVENTS
from clearway.security import Keyring

from services.stack.infra import Database, provision_database
from services.stack.sandbox_seed import sandbox_channel_certificate
from services.stack.stack import Stack
from tests.services.kafka_support import read_grouped

COMPANIES = {
    "RO": {"legalName": "TechVision SRL", "vatNumber": "RO12345678", "country": "RO"},
    "IT": {"legalName": "Bottega Srl", "vatNumber": "IT01234567897", "country": "IT"},
    "PL": {"legalName": "Sprzedawca sp. z o.o.", "vatNumber": "PL5265877635", "country": "PL"},
    "BE": {"legalName": "Brouwerij NV", "vatNumber": "BE0123456749", "country": "BE"},
    "DE": {"legalName": "Werkstatt GmbH", "vatNumber": "DE123456789", "country": "DE"},
    "FR": {"legalName": "Atelier SAS", "vatNumber": "FR40303265045", "country": "FR"},
}


async def new_company(client: httpx.AsyncClient, country: str, **overrides: Any) -> str:
    response = await client.post("/v1/companies", json={**COMPANIES[country], **overrides})
    assert response.status_code == 201, response.text
    company_id: str = response.json()["data"]["id"]
    return company_id


async def start_connection(
    client: httpx.AsyncClient, company_id: str, country: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/connections", json={"companyId": company_id, "countryCode": country, **extra}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def fileable_account(
    make_account: Callable[..., Awaitable[tuple[str, httpx.AsyncClient]]],
    country: str = "RO",
    **account: Any,
) -> tuple[str, httpx.AsyncClient]:
    """A new account whose company in `country` has a connection, so that its invoices are
    taken (an account without either has them refused at POST time). For RO the connection
    stays pending: the invoices are taken, and end in `error` at submission."""
    account_id, client = await make_account(**account)
    await start_connection(client, await new_company(client, country), country)
    return account_id, client


async def authorize_at_anaf(authorization_url: str) -> str:
    """What the user's browser does at ANAF (the simulator approves at once): the URL ANAF
    redirects it to, carrying `code` and `state`."""
    async with httpx.AsyncClient(timeout=10) as browser:
        answer = await browser.get(authorization_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def open_callback(callback_url: str) -> httpx.Response:
    """The browser arriving back at Clearway: no API key."""
    async with httpx.AsyncClient(timeout=30) as browser:
        return await browser.get(callback_url)


async def connect_ro(client: httpx.AsyncClient, company_id: str, **extra: Any) -> dict[str, Any]:
    """The whole RO flow: create, authorize at ANAF, come back; the active connection."""
    pending = await start_connection(client, company_id, "RO", **extra)
    answer = await open_callback(await authorize_at_anaf(pending["authorizationUrl"]))
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


async def connect_pl(
    stack: Stack, client: httpx.AsyncClient, company_id: str, nip: str, **extra: Any
) -> dict[str, Any]:
    """A KSeF connection made active with the company's own KSeF token, as the (simulated)
    portal generates one for `nip`; the active connection."""
    pending = await start_connection(client, company_id, "PL", **extra)
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        made = await sim.post("/_sim/pl/ksef-tokens", json={"nip": nip})
    answer = await client.post(
        f"/v1/connections/{pending['id']}/ksef-token", json={"token": made.json()["token"]}
    )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


async def connect_it(client: httpx.AsyncClient, company_id: str) -> dict[str, Any]:
    """An IT connection with a channel certificate (the simulated SDI takes any valid now):
    the active connection."""
    pending = await start_connection(client, company_id, "IT")
    certificate = {"format": "pem", "certificate": sandbox_channel_certificate()}
    answer = await client.post(f"/v1/connections/{pending['id']}/certificate", json=certificate)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


async def connection_events(
    stack: Stack, connection_id: str, wanted: set[str], *, timeout: float = 30
) -> dict[str, list[dict[str, Any]]]:
    """The messages about this connection on `connection.events`, by event, once every wanted
    event was seen (or the timeout passed)."""

    def event_of(key: bytes | None, body: dict[str, Any]) -> str | None:
        if body.get("connectionId") != connection_id:
            return None
        assert key == connection_id.encode()
        event: str = body["event"]
        return event

    return await read_grouped(
        stack.kafka_bootstrap, CONNECTION_EVENTS, wanted, event_of, timeout=timeout
    )


def stack_keyring(stack: Stack) -> Keyring:
    return Keyring.parse(stack.master_keys)


async def plain_secrets(
    db: asyncpg.Pool[Any], keyring: Keyring, connection_id: str
) -> dict[SecretKind, str]:
    """The connection's secrets, opened: what must never show up anywhere else."""
    opened: dict[SecretKind, str] = {}
    async with db.acquire() as conn:
        for kind in SecretKind:
            value = await read_secret(conn, connection_id, kind, keyring=keyring)
            if value is not None:
                opened[kind] = value
    return opened


async def secret_rows(db: asyncpg.Pool[Any], connection_id: str) -> list[dict[str, Any]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM connection_secrets WHERE connection_id = $1 ORDER BY kind",
            connection_id,
        )
    return [dict(row) for row in rows]


async def connection_row(db: asyncpg.Pool[Any], connection_id: str) -> dict[str, Any]:
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM connections WHERE id = $1", connection_id)
    assert row is not None
    return dict(row)


@contextlib.asynccontextmanager
async def throwaway_database(state_dir: Path) -> AsyncIterator[Database]:
    """A migrated database no service process reads, dropped afterwards."""
    database = await provision_database(f"clearway_conn_{secrets.token_hex(4)}", state_dir)
    await migrate(database.url)
    try:
        yield database
    finally:
        await database.drop()
        database.stop_embedded()

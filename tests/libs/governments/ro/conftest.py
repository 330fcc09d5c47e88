"""The connected Romanian buyer the RO tests drive: a company with an active ANAF connection,
the simulated ANAF (in process, on a hand-moved clock) it reads and answers through."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from clearway.config import Settings
from clearway.governments.base import RenewalTools
from clearway.governments.ro.receiving import AnafInbox
from clearway.governments.ro.settings import AnafSettings

from services.govsim.app import GovsimSettings, create_app
from services.govsim.ro.state import AnafSimulator
from tests.libs.governments.ro.connected import anaf_connection
from tests.services.govsim.simtools import FakeClock

SUPPLIER_CIF = "18547290"


@dataclass
class Company:
    """A connected buyer, the simulated ANAF it reads, and how its inbox is opened."""

    cif: str
    connection_id: str
    simulator: AnafSimulator
    clock: FakeClock
    http: httpx.AsyncClient
    tools: RenewalTools
    access_token: str

    def context(self) -> Any:
        """What Government.inbox reads of a service's context: its settings and pool."""
        return SimpleNamespace(settings=self.tools.settings, pool=self.tools.pool)

    def row(self, *, livemode: bool = False) -> dict[str, Any]:
        """The connection as the receiving machine hands it over (with the company's VAT)."""
        return {"id": self.connection_id, "livemode": livemode, "vat_number": f"RO{self.cif}"}

    def inbox(self) -> AnafInbox:
        """A new inbox object each time, as a restarted receiver would make it."""
        endpoint = self.tools.settings.governments().anaf.for_mode(False)
        return AnafInbox(
            self.tools,
            endpoint,
            connection_id=self.connection_id,
            cif=self.cif,
            clock=self.clock.utc,
        )

    async def deliver(self, *, damaged: bool = False) -> dict[str, Any]:
        """A sample purchase invoice delivered to the company's inbox now, and a minute passes
        (ANAF stamps its rows to the minute)."""
        response = await self.http.post(
            "/_sim/anaf/purchase-invoices",
            json={"cif": self.cif, "supplier_cif": SUPPLIER_CIF, "damaged": damaged},
        )
        assert response.status_code == 201, response.text
        self.clock.advance(60)
        delivered: dict[str, Any] = response.json()
        return delivered

    def download(self, download_id: str) -> bytes:
        message = self.simulator.message_by_download_id(int(download_id), "test")
        assert message is not None
        return self.simulator.download(message)


@pytest_asyncio.fixture
async def company(store_db: asyncpg.Pool[Any], keyring: Any) -> AsyncIterator[Company]:
    clock = FakeClock(time.time())
    simulator = AnafSimulator(
        client_id="clearway-sandbox",
        client_secret="clearway-sandbox-secret",  # noqa: S106 - the simulator's public default
        processing_delay=0,
        clock=clock,
    )
    govsim = create_app(GovsimSettings(), anaf=simulator)
    # A host of its own: ANAF's per-minute bucket is keyed by the REST base, shared by tests.
    host = f"http://anaf-{secrets.token_hex(4)}"
    settings = Settings(
        database_url="unused",
        kafka_bootstrap="unused",
        anaf=AnafSettings(rest_url=f"{host}/test/FCTEL/rest", oauth_url=f"{host}/anaf-oauth2/v1"),
    )
    cif = str(secrets.randbelow(10**8) + 10**8)  # its own paged-list quota
    transport = httpx.ASGITransport(app=govsim)
    async with (
        httpx.AsyncClient(transport=transport, base_url=host) as http,
        store_db.acquire() as conn,
    ):
        connection_id, access_token = await anaf_connection(conn, simulator, cif, "receiving RO")
        yield Company(
            cif,
            connection_id,
            simulator,
            clock,
            http,
            RenewalTools(settings, http, store_db, keyring),
            access_token,
        )

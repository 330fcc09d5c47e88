"""Italy's buyer's response through the whole responding machine, against real PostgreSQL and
the simulated SDI in process: a received FatturaPA (inserted through the store, as the receiver
records one) answered with an esito. A public administration's (FPA12) is sent and ends
`invoice.response_sent` with SDI's identifiers; a B2B one (FPR12) is SDI's scarto, and the
response ends `failed` with SDI's words, which the API shows."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator, Mapping
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.config import Settings
from clearway.domain.responses import BuyerResponse
from clearway.governments import government
from clearway.governments.it.settings import SdiSettings
from clearway.governments.responding import Responder
from clearway.pipeline.responding import RespondingMachine, RespondingTimings
from clearway.resilience.backoff import Backoff
from clearway.store.received_events import read_received_stream, start_received_stream
from clearway.store.received_invoices import NewReceived
from clearway.store.received_responses import request_response, response_row

from services.govsim.app import CountrySimulators
from services.govsim.it.state import SdiSimulator
from tests.libs.store.received import receiving_connection
from tests.services.govsim.it.test_it_sim import fattura
from tests.services.govsim.simtools import FakeClock, govsim_client

pytestmark = [pytest.mark.postgres]

REJECT = BuyerResponse.model_validate({"decision": "reject", "reason": "Importo errato"})


@pytest_asyncio.fixture
async def sdi() -> AsyncIterator[httpx.AsyncClient]:
    simulator = SdiSimulator(processing_delay=0, clock=FakeClock())
    async with govsim_client(CountrySimulators(sdi=simulator)) as client:
        yield client


def _machine(pool: asyncpg.Pool[Any], http: httpx.AsyncClient) -> RespondingMachine:
    settings = Settings(
        database_url="unused", kafka_bootstrap="unused", sdi=SdiSettings(url="http://govsim/sdi")
    )
    context: Any = SimpleNamespace(settings=settings, pool=pool)

    def responder_for(row: Mapping[str, Any]) -> Responder | None:
        return government("IT").responder(context, http, row)

    return RespondingMachine(
        pool,
        countries=["IT"],
        responder_for=responder_for,
        timings=RespondingTimings(
            lease=dt.timedelta(seconds=60), backoff=Backoff(base=0, cap=0, max_attempts=3)
        ),
        rng=random.Random(1),  # noqa: S311 - jitter, replayed: not a secret
    )


async def _received(pool: asyncpg.Pool[Any], identificativo: str, versione: str) -> str:
    async with pool.acquire() as conn:
        receiving = await receiving_connection(conn, "IT")
        ref = receiving.ref()
        new = NewReceived(
            government_id=identificativo,
            document=fattura(versione=versione),
            media_type="application/xml",
        )
        assert await start_received_stream(conn, ref, new)
        assert await request_response(conn, ref.received_id, REJECT, via="SDI")
    return ref.received_id


async def _refuse_delivered(
    pool: asyncpg.Pool[Any], sdi: httpx.AsyncClient, identificativo: str, formato: str
) -> Any:
    """A FatturaPA SDI delivered as file `identificativo`, refused by the buyer and responded
    to by the machine: its response row and its received stream."""
    name = f"IT01234567897_{identificativo[-5:]}.xml"
    delivered = {"identificativoSdI": identificativo, "nomeFile": name, "formato": formato}
    await sdi.post("/_sim/it/delivered-files", json=delivered)
    received_id = await _received(pool, identificativo, formato)
    machine = _machine(pool, sdi)
    while await machine.respond_due():
        pass
    async with pool.acquire() as conn:
        return await response_row(conn, received_id), await read_received_stream(conn, received_id)


async def test_a_pa_invoices_refusal_is_sent_to_sdi(
    store_db: asyncpg.Pool[Any], sdi: httpx.AsyncClient
) -> None:
    row, events = await _refuse_delivered(store_db, sdi, "4100000001", "FPA12")

    assert row["status"] == "sent"
    assert row["receipt"]["networkId"] == "4100000001"
    assert row["receipt"]["nomeFile"] == "IT01234567897_00001_EC_001.xml"
    assert events[-1].type == "invoice.response_sent"


async def test_a_b2b_invoices_response_fails_with_sdis_scarto(
    store_db: asyncpg.Pool[Any], sdi: httpx.AsyncClient
) -> None:
    row, events = await _refuse_delivered(store_db, sdi, "4100000002", "FPR12")

    assert row["status"] == "failed"
    assert row["failure"].startswith("SDI refused the esito committente: SE EN01: Fattura FPR12")
    assert events[-1].type == "invoice.response_failed"
    assert events[-1].metadata["failure"] == row["failure"]

"""The PA's Inbox (governments/fr/receiving.py) against the simulated PA, in process: every
purchase invoice routed to the company comes back once, byte for byte with its lifecycle, across
pages and restarts; a flow the PA will not give is handed over with a finding; the PA's 429 is a
typed error to back off on."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.config import LiveNotConfiguredError, Settings
from clearway.connectors.calls import GovernmentRefusedError, GovernmentTransientError
from clearway.formats import PDF
from clearway.governments import government
from clearway.governments.fr.client import ListedFlow, PaClient, buyer_status
from clearway.governments.fr.identifiers import vat_key
from clearway.governments.fr.receiving import PaCursor, PaInbox
from clearway.governments.fr.settings import FrPaSettings
from clearway.governments.inbox import InboxClosedError, InboxHeldBackError

from services.govsim.app import CountrySimulators, GovsimSettings, create_app
from services.govsim.fr.state import FrPaSimulator
from services.govsim.rate_limits import RateLimit
from tests.libs.governments.inboxes import (
    assert_nothing_comes_again,
    first_look,
    ids,
    read_all,
    received,
)
from tests.libs.pipeline.hostile import (
    assert_received_as_delivered,
    hostile_documents,
    receive_with_the_machine,
)
from tests.services.govsim.fr.test_fr_sim import BUYER_SIREN, ubl_invoice
from tests.services.govsim.simtools import FakeClock

API_KEY = "test-pa-key"


@dataclass
class Company:
    """A buyer served by the simulated PA, and how its inbox is opened."""

    siren: str
    simulator: FrPaSimulator
    clock: FakeClock
    http: httpx.AsyncClient

    def inbox(self, *, page_size: int = 100) -> PaInbox:
        """A new inbox object each time, as a restarted receiver would make it."""
        return PaInbox(
            PaClient(f"{HOST}/pa", API_KEY, self.http), siren=self.siren, page_size=page_size
        )

    async def deliver(self, document: bytes | None = None) -> str:
        """An invoice routed to the company now (a sample Factur-X unless given); its flow id."""
        request: dict[str, Any] = {"buyerSiren": self.siren}
        if document is not None:
            request["document"] = base64.b64encode(document).decode()
        response = await self.http.post("/_sim/fr/incoming-invoices", json=request)
        assert response.status_code == 201, response.text
        flow_id: str = response.json()["flowId"]
        return flow_id


HOST = "http://pa.test"


@pytest_asyncio.fixture
async def company() -> AsyncIterator[Company]:
    clock = FakeClock()
    simulator = FrPaSimulator(processing_delay=0, api_key=API_KEY, clock=clock)
    app = create_app(GovsimSettings(), simulators=CountrySimulators(fr_pa=simulator))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=HOST) as http:
        yield Company(BUYER_SIREN, simulator, clock, http)


async def test_a_routed_invoice_comes_back_once_with_its_exact_bytes_and_lifecycle(
    company: Company,
) -> None:
    flow_id = await company.deliver()

    delivery, page = await first_look(company.inbox())

    flow = company.simulator.incoming.get(flow_id)
    assert flow is not None
    assert delivery.government_id == flow_id
    assert delivery.document == flow.content
    assert delivery.document.startswith(b"%PDF-")
    assert delivery.media_type == "application/pdf"
    assert delivery.evidence_media_type == "application/json"
    evidence = json.loads(delivery.evidence or b"")
    assert evidence["flowId"] == flow_id
    assert [(status["code"], status["label"]) for status in evidence["lifecycle"]] == [
        (202, "Reçue"),
        (203, "Mise à disposition"),
    ]
    assert delivery.delivered_at == dt.datetime.fromtimestamp(company.clock(), dt.UTC)
    assert delivery.finding is None
    await assert_nothing_comes_again(company.inbox, company.clock, page, later=60)


async def test_a_ubl_comes_back_as_xml_and_another_buyers_invoice_not_at_all(
    company: Company,
) -> None:
    document = ubl_invoice()
    flow_id = await company.deliver(document)
    other = Company("732829320", company.simulator, company.clock, company.http)
    await other.deliver()

    (delivery,) = (await company.inbox().fetch(None)).deliveries

    assert (delivery.government_id, delivery.document) == (flow_id, document)
    assert delivery.media_type == "application/xml"


async def test_every_page_is_read_and_nothing_comes_twice(company: Company) -> None:
    delivered = []
    for _ in range(5):
        delivered.append(await company.deliver(ubl_invoice(number=secrets.token_hex(4))))
        company.clock.advance(1)

    pages, _ = await read_all(company.inbox(page_size=2), None)

    # Each search starts just before the last flow handed over, which it lists again and the
    # inbox skips: a page of 2 holds one new flow after the first.
    assert [len(page.deliveries) for page in pages] == [2, 1, 1, 1, 0]
    assert [page.more for page in pages] == [True, True, True, True, False]
    assert received(pages) == delivered


async def test_a_restart_from_the_saved_cursor_yields_nothing_twice_and_loses_nothing(
    company: Company,
) -> None:
    # Three arrive at the same instant: equals that a page boundary splits.
    first = [await company.deliver(ubl_invoice(number=f"F-{n}")) for n in range(3)]
    page_one = await company.inbox(page_size=2).fetch(None)
    assert page_one.more
    # The receiver stops here; meanwhile two more invoices arrive, one at that same instant.
    later = [await company.deliver(ubl_invoice(number="F-3"))]
    company.clock.advance(1)
    later.append(await company.deliver(ubl_invoice(number="F-4")))

    restarted, cursor = await read_all(company.inbox(page_size=2), page_one.cursor)
    after, _ = await read_all(company.inbox(page_size=2), cursor)

    everything = ids(page_one.deliveries) + received(restarted) + received(after)
    assert sorted(everything) == sorted(first + later)
    assert len(everything) == len(set(everything))
    assert received(after) == []


async def test_more_equals_than_a_page_holds_are_passed_by_offset(company: Company) -> None:
    same_instant = [await company.deliver(ubl_invoice(number=f"E-{n}")) for n in range(5)]

    pages, _ = await read_all(company.inbox(page_size=2), None)

    assert sorted(received(pages)) == sorted(same_instant)
    assert len(received(pages)) == len(same_instant)


async def test_the_pas_429_is_a_typed_error_and_a_look_read_in_part_keeps_its_progress(
    company: Company,
) -> None:
    delivered = [await company.deliver(ubl_invoice(number=f"R-{n}")) for n in range(2)]
    company.simulator.rate_limit = RateLimit(per_minute=3)  # the search and one flow's 2 calls

    part = await company.inbox().fetch(None)
    assert len(part.deliveries) == 1
    with pytest.raises(InboxHeldBackError) as held:
        await company.inbox().fetch(part.cursor)  # still within the minute
    assert held.value.at > dt.datetime.now(dt.UTC)
    assert "call limit" in held.value.reason

    company.clock.advance(60)
    rest = await company.inbox().fetch(part.cursor)
    assert sorted(ids(part.deliveries) + ids(rest.deliveries)) == sorted(delivered)


async def test_a_flow_the_pa_will_not_give_is_handed_over_with_its_words(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = await company.deliver()
    listed = company.simulator.incoming.get(gone)
    monkeypatch.setattr(company.simulator.incoming, "get", lambda _flow_id: None)
    assert listed is not None

    (delivery,) = (await company.inbox().fetch(None)).deliveries

    assert delivery.government_id == gone
    assert delivery.media_type == "application/json"
    assert json.loads(delivery.document) == {"message": f"Flux {gone} inconnu"}
    assert delivery.finding == f"PA flow {gone}: the PA refused its download (Flux {gone} inconnu)"


async def test_an_inactive_connection_or_one_without_siren_closes_the_inbox(
    company: Company,
) -> None:
    client = PaClient(f"{HOST}/pa", API_KEY, company.http)
    for inbox in (PaInbox(client, siren=BUYER_SIREN, active=False), PaInbox(client, siren=None)):
        with pytest.raises(InboxClosedError):
            await inbox.fetch(None)


# --- the registry --------------------------------------------------------------------------


def _context() -> Any:
    settings = Settings(database_url="unused", kafka_bootstrap="unused", fr_pa=FrPaSettings())
    return SimpleNamespace(settings=settings)


def test_france_builds_the_inbox_of_a_connection_by_its_siren_or_vat_number() -> None:
    http = httpx.AsyncClient()
    row = {"livemode": False, "status": "active", "network_identifier": None}

    by_vat = government("FR").inbox(_context(), http, {**row, "vat_number": "FR61542065479"})
    by_siren = government("FR").inbox(
        _context(), http, {**row, "network_identifier": "732829320", "vat_number": "x"}
    )

    assert isinstance(by_vat, PaInbox)
    assert by_vat._siren == "542065479"  # noqa: SLF001 - what the inbox reads
    assert isinstance(by_siren, PaInbox)
    assert by_siren._siren == "732829320"  # noqa: SLF001


def test_a_live_connection_without_a_live_pa_configured_has_no_inbox() -> None:
    with pytest.raises(LiveNotConfiguredError):
        government("FR").inbox(
            _context(), httpx.AsyncClient(), {"livemode": True, "vat_number": "FR61542065479"}
        )


# --- the cursor (pure) ---------------------------------------------------------------------

AT = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)


def _flow(flow_id: str, at: dt.datetime) -> ListedFlow:
    return ListedFlow(flow_id=flow_id, updated_at=at, syntax="UBL")


def test_the_cursor_asks_from_just_before_its_instant_and_skips_only_what_it_handed_over() -> None:
    cursor = PaCursor().past(_flow("a", AT)).past(_flow("b", AT))

    assert cursor.search_from() == AT - dt.timedelta(microseconds=1)
    assert not cursor.is_new(_flow("a", AT))
    assert cursor.is_new(_flow("c", AT))  # an equal not handed over yet
    assert cursor.is_new(_flow("d", AT + dt.timedelta(microseconds=1)))
    assert not cursor.is_new(_flow("e", AT - dt.timedelta(seconds=1)))
    later = cursor.past(_flow("d", AT + dt.timedelta(seconds=1)))
    assert (later.after, later.ids) == (AT + dt.timedelta(seconds=1), frozenset({"d"}))


def test_the_cursor_survives_its_text_and_a_broken_one_starts_over() -> None:
    cursor = PaCursor().past(_flow("a", AT.astimezone(dt.timezone(dt.timedelta(hours=2)))))

    text = cursor.dump()

    assert text == '{"after":"2026-06-01T10:00:00+00:00","ids":["a"],"v":1}'
    assert PaCursor.load(text) == cursor
    assert PaCursor.load('{"garbage": true}') == PaCursor()
    assert PaCursor.load(None).search_from() is None


# --- the buyer's status, back through the PA -------------------------------------------------


async def test_the_buyers_status_goes_back_through_the_pa_and_joins_the_evidence(
    company: Company,
) -> None:
    flow_id = await company.deliver()
    client = PaClient(f"{HOST}/pa", API_KEY, company.http)

    taken = await client.send_buyer_status(flow_id, buyer_status(204))
    refused = await client.send_buyer_status(flow_id, buyer_status(210, " Prix erroné ", "PRIX"))
    with pytest.raises(GovernmentRefusedError) as late:
        await client.send_buyer_status(flow_id, buyer_status(205))

    assert (taken.invoice_id, taken.code, taken.label) == (flow_id, 204, "Prise en charge")
    assert refused.message() == "210 Refusée — PRIX: Prix erroné"
    assert late.value.message == "205 ne peut pas suivre 210 Refusée"
    (delivery,) = (await company.inbox().fetch(None)).deliveries
    lifecycle = json.loads(delivery.evidence or b"")["lifecycle"]
    assert [status["code"] for status in lifecycle] == [202, 203, 204, 210]


@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (212, None, "212 is not a buyer's status"),
        (210, None, "210 Refusée needs a reason"),
        (210, "  ", "210 Refusée needs a reason"),
    ],
)
def test_a_buyer_status_the_pa_would_not_take_is_refused_before_sending(
    code: int, reason: str | None, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        buyer_status(code, reason)


# --- the receiving machine on the PA's inbox (real PostgreSQL) ------------------------------


@pytest.mark.postgres
async def test_the_machine_receives_a_routed_factur_x_once_read_back_with_its_bytes(
    store_db: asyncpg.Pool[Any], company: Company
) -> None:
    flow_id = await company.deliver()  # the sample Factur-X

    # Looked at twice: the flow is not listed again.
    rows = await receive_with_the_machine(store_db, company.inbox(), "FR", looks=2)

    row = rows[flow_id]
    flow = company.simulator.incoming.get(flow_id)
    assert flow is not None
    assert list(rows) == [flow_id]
    assert bytes(row["document"]) == flow.content
    assert (row["supplier_vat"], row["customer_vat"]) == (
        "FR44732829320",
        f"FR{vat_key(BUYER_SIREN)}{BUYER_SIREN}",
    )
    assert (row["net_amount"], row["gross_amount"], row["currency"]) == (
        Decimal("980.00"),
        Decimal("1176.00"),
        "EUR",
    )
    assert [line["description"] for line in row["request"]["lines"]] == [
        "Prestation de conseil",
        "Hébergement",
    ]


@pytest.mark.postgres
async def test_a_hostile_document_is_received_with_a_finding_and_the_rest_go_on(
    store_db: asyncpg.Pool[Any], company: Company
) -> None:
    good = await company.deliver()
    hostile = {}
    for number, document in enumerate(hostile_documents("FR").values()):
        # Routed as a Factur-X or a UBL; the PA hands over other bytes than it routed.
        routed = None if document.media_type == PDF else ubl_invoice(number=f"H-{number}")
        flow_id = await company.deliver(routed)
        flow = company.simulator.incoming.get(flow_id)
        assert flow is not None
        flow.content = document.content
        hostile[flow_id] = document
    other = await company.deliver()

    rows = await receive_with_the_machine(store_db, company.inbox(), "FR")  # one look

    assert set(rows) == {good, *hostile, other}
    assert_received_as_delivered(rows, hostile)
    assert [rows[f]["media_type"] for f in hostile] == [d.media_type for d in hostile.values()]
    assert [rows[f]["gross_amount"] for f in (good, other)] == [Decimal("1176.00")] * 2


async def test_a_pa_that_ignores_the_offset_fails_the_look_instead_of_looping(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(2):
        await company.deliver(ubl_invoice(number=f"O-{number}"))
    first = await company.inbox(page_size=2).fetch(None)
    assert len(first.deliveries) == 2
    incoming = company.simulator.incoming
    search = incoming.search
    monkeypatch.setattr(incoming, "search", lambda **query: search(**{**query, "offset": 0}))

    with pytest.raises(GovernmentTransientError, match="does not seem to page by offset"):
        await company.inbox(page_size=2).fetch(first.cursor)

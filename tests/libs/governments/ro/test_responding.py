"""Romania's buyer response (governments/ro/responding.py): the RASP document, and the
responder against the simulated ANAF in process, with real PostgreSQL for the connection's
token and the RASP quota: the invoice's upload index found in the buyer's list, the message
uploaded under the buyer's CUI, ANAF's refusals and limits as the responding machine reads
them."""

from __future__ import annotations

from typing import Any

import pytest
from clearway.connectors.calls import GovernmentRefusedError
from clearway.domain.responses import BuyerResponse, Decision
from clearway.governments import government
from clearway.governments.responding import ResponseImpossibleError
from clearway.governments.ro.client import AnafTransientError, AnafUnavailableError
from clearway.governments.ro.responding import (
    RASP_NS,
    AnafResponder,
    rasp_document,
    rasp_message,
    rasp_quota,
)
from clearway.resilience.ratelimit import count_call
from lxml import etree

from services.govsim.ro.state import RASP_UPLOADS_PER_CIF_PER_DAY
from tests.libs.governments.inboxes import first_look
from tests.libs.governments.ro.conftest import Company

pytestmark = [pytest.mark.postgres]

ACCEPT = BuyerResponse(decision=Decision.ACCEPT)
REJECT = BuyerResponse(decision=Decision.REJECT, reason='Cantitatea "livrata" <> comanda & pret')


def test_the_rasp_document_is_anaf_s_header_with_the_index_and_the_decision() -> None:
    root = etree.fromstring(rasp_document("5000000123", REJECT))

    assert etree.QName(root) == etree.QName(RASP_NS, "header")
    assert dict(root.attrib) == {
        "index_incarcare": "5000000123",
        "message": "Factura respinsa / Invoice rejected. Motiv / Reason: "
        'Cantitatea "livrata" <> comanda & pret',
    }
    assert rasp_message(ACCEPT) == "Factura acceptata / Invoice accepted."
    longest = BuyerResponse(decision=Decision.REJECT, reason="x" * 255)
    assert len(rasp_message(longest)) < 320


async def received(company: Company) -> dict[str, Any]:
    """A purchase invoice delivered and read from the inbox: its received_invoices row, as far
    as the responder reads it; and the upload index ANAF gave it."""
    delivered = await company.deliver()
    delivery, _ = await first_look(company.inbox())
    async with company.tools.pool.acquire() as conn:
        company_id = await conn.fetchval(
            "SELECT company_id FROM connections WHERE id = $1", company.connection_id
        )
    return {
        "country": "RO",
        "livemode": False,
        "connection_id": company.connection_id,
        "company_id": company_id,
        "government_id": delivery.government_id,
        "delivered_at": delivery.delivered_at,
        "upload_index": delivered["id_solicitare"],
    }


def responder(company: Company, row: dict[str, Any]) -> AnafResponder:
    """As Government.responder makes it, on the simulator's clock."""
    assert isinstance(
        government("RO").responder(company.context(), company.http, row), AnafResponder
    )
    return AnafResponder(
        company.tools,
        company.tools.settings.governments().anaf.for_mode(False),
        connection_id=row["connection_id"],
        company_id=row["company_id"],
        download_id=row["government_id"],
        delivered_at=row["delivered_at"],
        clock=company.clock.utc,
    )


async def buyer_messages(company: Company) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = (await company.http.get("/_sim/anaf/buyer-messages")).json()
    return shown


async def test_a_rejection_goes_to_anaf_as_a_rasp_message_on_the_invoice(company: Company) -> None:
    row = await received(company)

    receipt = await responder(company, row).respond(REJECT, attempts=0)

    (sent,) = await buyer_messages(company)
    assert sent["cif"] == company.cif
    assert sent["invoice_index"] == int(row["upload_index"])
    assert sent["message"] == rasp_message(REJECT)
    assert receipt.network_id == str(sent["index_incarcare"])
    assert receipt.details == {
        "index_incarcare": str(sent["index_incarcare"]),
        "invoiceIndex": row["upload_index"],
        "cif": company.cif,
    }


def test_romania_has_a_buyer_response_and_poland_none() -> None:
    row: dict[str, Any] = {"country": "RO"}
    assert government("RO").buyer_response(row) is not None
    assert government("PL").buyer_response({**row, "country": "PL"}) is None


async def test_an_invoice_anaf_does_not_list_cannot_be_answered(company: Company) -> None:
    row = await received(company)

    with pytest.raises(ResponseImpossibleError, match="does not list the invoice's message"):
        await responder(company, {**row, "government_id": "1"}).respond(ACCEPT, attempts=0)
    assert await buyer_messages(company) == []


async def test_anaf_s_refusal_fails_the_response_in_its_words(company: Company) -> None:
    row = await received(company)
    company.simulator.oauth.restrict(company.access_token, frozenset({"1"}))

    with pytest.raises(GovernmentRefusedError, match=f"CIF={company.cif}"):
        await responder(company, row).respond(ACCEPT, attempts=0)


async def test_a_technical_error_is_tried_again(company: Company) -> None:
    row = await received(company)
    await company.http.post("/_sim/anaf/faults", json={"kind": "technical_error", "count": 1})

    with pytest.raises(AnafUnavailableError, match="eroare tehnica"):
        await responder(company, row).respond(ACCEPT, attempts=0)
    assert await responder(company, row).respond(ACCEPT, attempts=1)


async def test_the_daily_rasp_limit_holds_the_response_until_the_next_day(
    company: Company,
) -> None:
    row = await received(company)
    for _ in range(RASP_UPLOADS_PER_CIF_PER_DAY):  # ANAF's count: uploaded elsewhere today
        company.simulator.count_today("rasp", company.cif)

    with pytest.raises(AnafTransientError, match="S-au incarcat deja 1000") as anaf_s:
        await responder(company, row).respond(ACCEPT, attempts=0)
    assert anaf_s.value.retry_after is not None
    assert anaf_s.value.retry_after > 0

    quota = rasp_quota(company.cif)  # Clearway's own count reached: ANAF is not asked
    async with company.tools.pool.acquire() as conn:
        for _ in range(RASP_UPLOADS_PER_CIF_PER_DAY):
            await count_call(conn, quota, company.clock.utc())
    with pytest.raises(AnafTransientError, match="daily quota"):
        await responder(company, row).respond(ACCEPT, attempts=0)
    assert await buyer_messages(company) == []

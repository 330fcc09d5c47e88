"""Hostile and malformed documents a government may hand over to a receiving company, what the
finding recorded for each must say, and the receiving machine run over a real inbox holding
them (each government's own, against its simulator).

A government checks what it accepts, so none of these comes from a supplier through it; they
stand for a government that errs, or bytes changed on the way. Each is still received: its
bytes as delivered, with an error finding saying what is wrong."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from clearway.formats import PDF, XML
from clearway.formats.pdf import text_page_pdf
from clearway.governments.inbox import Delivery, Inbox
from clearway.pipeline.reading import Reading, read_received
from clearway.pipeline.receiving import ReceivingMachine, ReceivingTimings
from clearway.resilience.backoff import Backoff
from clearway.validation.findings import Severity

from services.govsim.pl.purchases import sample_purchase_invoice as fa3_sample
from services.govsim.ro.purchases import sample_purchase_invoice as cius_ro_sample
from tests.libs.formats.test_reading import BILLION_LAUGHS, WRONG_NAMESPACE, XXE
from tests.libs.governments.pl.nips import random_nip
from tests.libs.store.received import own_country, receiving_connection

ISSUED = dt.date(2026, 6, 1)


@dataclass(frozen=True)
class Hostile:
    """A document as delivered and what the finding recorded with it must say (a pattern)."""

    content: bytes
    media_type: str
    reason: str


def hostile_documents(country: str) -> dict[str, Hostile]:
    """Every hostile or malformed document of the brief, as delivered to a company in RO, PL
    or FR, by case."""
    fa3 = fa3_sample(buyer_nip=random_nip(), seller_nip=random_nip(), issued=ISSUED)
    another_format = {  # a real e-invoice, in a format the country's network does not carry
        "RO": Hostile(fa3, XML, r"The root element is \{[^}]+\}Faktura, not a UBL"),
        "PL": Hostile(
            cius_ro_sample(buyer_cif="87654321", supplier_cif="18547290", issued=ISSUED),
            XML,
            r"The root element is \{[^}]+:Invoice-2\}Invoice, not a KSeF FA\(3\) Faktura",
        ),
        "FR": Hostile(fa3, XML, r"The root element is \{[^}]+\}Faktura, not a UBL"),
    }
    pdf_reason = (
        r"The PDF embeds no Factur-X invoice \(factur-x\.xml\)"
        if country == "FR"
        else f"A PDF is not an e-invoice format {country} takes"
    )
    return {
        "xxe": Hostile(XXE, XML, "The document declares a DTD"),
        "billion laughs": Hostile(BILLION_LAUGHS, XML, "The document declares a DTD"),
        "wrong namespace": Hostile(
            WRONG_NAMESPACE,
            XML,
            re.escape("The root element is {urn:example:not-an-invoice}Invoice, not "),
        ),
        "another format": another_format[country],
        "not xml": Hostile(b"%%EOF not an invoice", XML, "The document is not well-formed XML"),
        "pdf without xml": Hostile(text_page_pdf(["Facture"]), PDF, pdf_reason),
    }


def unreadable_because(row: Any) -> str:
    """The one error finding of a received invoice that could not be read, its message."""
    errors = [f for f in row["findings"] if f["severity"] == Severity.ERROR.value]
    assert len(errors) == 1, row["findings"]
    assert (row["request"], row["gross_amount"]) == (None, None)
    message: str = errors[0]["message"]
    return message


def assert_received_as_delivered(rows: Mapping[str, Any], planted: Mapping[str, Hostile]) -> None:
    """Each planted document received: its bytes as delivered, and the one error finding saying
    what is wrong with it."""
    for government_id, document in planted.items():
        row = rows[government_id]
        assert re.search(document.reason, unreadable_because(row)), row["findings"]
        assert bytes(row["document"]) == document.content


async def receive_with_the_machine(
    pool: asyncpg.Pool[Any], inbox: Inbox, country: str, *, looks: int = 1
) -> dict[str, Any]:
    """The receiving machine, reading `inbox` as `country`'s for a connection of a country code
    of its own (so it claims only this one), `looks` times; the received_invoices rows it
    recorded, by government id."""
    async with pool.acquire() as conn:
        receiving = await receiving_connection(conn, own_country())

    def reader(delivery: Delivery, *, country: str, livemode: bool) -> Reading:
        del country  # the connection's own code: the document is `country`'s
        return read_received(delivery, country=read_as, livemode=livemode)

    read_as = country
    machine = ReceivingMachine(
        pool,
        countries=[receiving.country],
        inbox_for=lambda _row: inbox,
        read=reader,
        timings=ReceivingTimings(
            interval=dt.timedelta(0),  # due again at once: each look reads the inbox again
            lease=dt.timedelta(minutes=1),
            backoff=Backoff(base=5.0, cap=900.0, max_attempts=0),
        ),
    )
    for _ in range(looks):
        assert await machine.receive_due() == 1
    rows = await pool.fetch(
        "SELECT * FROM received_invoices WHERE connection_id = $1", receiving.connection_id
    )
    return {row["government_id"]: row for row in rows}

"""The receiver's reader: a delivered document read back by its government into the invoice
JSON, validated by the rules of a sent invoice (findings kept, never a refusal), its stated
totals kept as stated."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import render
from clearway.governments.inbox import Delivery
from clearway.pipeline.reading import (
    DELIVERY_RULE,
    TOTALS_RULE,
    UNREADABLE_RULE,
    Reading,
    read_received,
)
from clearway.validation.findings import Severity

from tests.libs.governments.it.test_document import it_invoice
from tests.libs.pipeline.hostile import hostile_documents

NOW = dt.datetime(2025, 1, 20, tzinfo=dt.UTC)


def rendered(body: dict[str, Any], country: str = "RO") -> tuple[InvoiceRequest, bytes, str]:
    request = InvoiceRequest.model_validate(body)
    document = render(request, invoice_number="FV-2025-001", country=country)
    return request, document.content, document.media_type


def read(
    content: bytes,
    media_type: str = "application/xml",
    *,
    country: str = "RO",
    government_id: str = "4021",
    **delivery: Any,
) -> Reading:
    """A sandbox delivery of `content` from the country's government, read as it arrives."""
    return read_received(
        Delivery(government_id=government_id, document=content, media_type=media_type, **delivery),
        country=country,
        livemode=False,
        now=NOW,
    )


def errors(reading: Reading) -> list[str]:
    return [f.rule for f in reading.findings if f.severity is Severity.ERROR]


def test_a_delivered_invoice_reads_back_into_the_json_it_was_made_from(
    seed_invoice: dict[str, Any],
) -> None:
    request, content, media_type = rendered(seed_invoice)
    reading = read(content, media_type)
    assert reading.request is not None
    assert errors(reading) == []
    back = InvoiceRequest.model_validate(reading.request)
    assert (back.supplier.vat_number, back.customer.vat_number) == (
        request.supplier.vat_number,
        request.customer.vat_number,
    )
    assert [(line.description, line.unit_price) for line in back.lines] == [
        (line.description, line.unit_price) for line in request.lines
    ]
    assert (reading.supplier_vat, reading.customer_vat) == ("RO12345678", "RO87654321")
    # The seed: 5,000 + 200 at 19 %: the totals as the document states them.
    assert reading.totals is not None
    assert (reading.totals.net_amount, reading.totals.vat_amount, reading.totals.gross_amount) == (
        Decimal("5200.00"),
        Decimal("988.00"),
        Decimal("6188.00"),
    )
    assert reading.totals.currency == "RON"
    assert TOTALS_RULE not in [f.rule for f in reading.findings]


def test_a_format_stating_vat_per_rate_only_states_the_sums_of_its_rates() -> None:
    # FatturaPA states no net or VAT total, only DatiRiepilogo per rate (and the gross).
    content = render(it_invoice(), invoice_number="FT-1", country="IT").content
    reading = read(content, country="IT", government_id="4000000001")
    assert reading.totals is not None
    assert (reading.totals.net_amount, reading.totals.vat_amount, reading.totals.gross_amount) == (
        Decimal("800.00"),
        Decimal("176.00"),
        Decimal("976.00"),
    )
    assert TOTALS_RULE not in [f.rule for f in reading.findings]
    tampered = content.replace(b"<Imposta>176.00</Imposta>", b"<Imposta>170.00</Imposta>")
    assert tampered != content
    off = read(tampered, country="IT", government_id="4000000002")
    assert off.totals is not None
    assert off.totals.vat_amount == Decimal("170.00")
    [finding] = [f.message for f in off.findings if f.rule == TOTALS_RULE]
    assert "states a VAT total of 170.00, but its lines add up to 176.00" in finding


def test_totals_that_do_not_add_up_are_kept_as_stated_with_a_finding(
    seed_invoice: dict[str, Any],
) -> None:
    _, content, media_type = rendered(seed_invoice)
    tampered = content.replace(
        b'<cbc:TaxInclusiveAmount currencyID="RON">6188.00</cbc:TaxInclusiveAmount>',
        b'<cbc:TaxInclusiveAmount currencyID="RON">6189.00</cbc:TaxInclusiveAmount>',
    )
    assert tampered != content
    reading = read(tampered, media_type)
    assert reading.request is not None  # still received: a buyer must see what was sent
    assert reading.totals is not None
    assert reading.totals.gross_amount == Decimal("6189.00")
    totals = [f for f in reading.findings if f.rule == TOTALS_RULE]
    assert len(totals) == 1
    assert "6189.00" in totals[0].message
    assert "6188.00" in totals[0].message


@pytest.mark.parametrize("case", sorted(hostile_documents("RO")))
@pytest.mark.parametrize("country", ["RO", "PL", "FR"])
def test_a_hostile_or_malformed_document_is_a_finding_saying_what_is_wrong(
    country: str, case: str
) -> None:
    hostile = hostile_documents(country)[case]
    reading = read(hostile.content, hostile.media_type, country=country, government_id="G1")
    assert (reading.request, reading.totals) == (None, None)
    assert errors(reading) == [UNREADABLE_RULE]
    assert re.search(hostile.reason, reading.findings[0].message), reading.findings[0].message
    assert "root:" not in reading.findings[0].message  # no file was read into it


def test_a_broken_delivery_keeps_the_networks_reason() -> None:
    reading = read(
        b"PK\x03\x04 cut", "application/zip", finding="ANAF message 4021: the ZIP is cut off"
    )
    assert (reading.request, reading.totals) == (None, None)
    assert errors(reading) == [DELIVERY_RULE]
    assert "the ZIP is cut off" in reading.findings[0].message

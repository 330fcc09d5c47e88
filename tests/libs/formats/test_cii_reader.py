"""The CII reader: the stated totals kept as the document states them, CCYYMMDD dates, a missing
mandatory term or a bad date refused with its name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from clearway.formats import XML, render
from clearway.formats.hardened import UnreadableDocumentError
from clearway.governments import GOVERNMENTS

from tests.libs.formats.corpus import invoice
from tests.libs.formats.support import read_tampered, tampered

DE = GOVERNMENTS["DE"]
LINE = "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
SUMMATION = (
    "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    "/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
)


def xrechnung_cii() -> bytes:
    return render(
        invoice("DE"), invoice_number="INV-1", country="DE", format="XRECHNUNG-CII"
    ).content


def test_totals_that_do_not_add_up_are_read_as_stated() -> None:
    read, honest = read_tampered(
        DE,
        xrechnung_cii(),
        (f"{SUMMATION}/ram:GrandTotalAmount", "99999.99"),
        (f"{SUMMATION}/ram:LineTotalAmount", "-5.00"),
    )
    assert read.format_name == "XRECHNUNG-CII"
    assert read.stated.tax_inclusive == Decimal("99999.99")
    assert read.stated.line_total == Decimal("-5.00")
    assert read.stated.payable == honest.stated.payable
    assert read.request == honest.request


@pytest.mark.parametrize(
    ("path", "text", "reason"),
    [
        ("rsm:ExchangedDocument/ram:ID", None, r"invoice number \(BT-1\)"),
        ("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", "2026-03-02", "CCYYMMDD"),
        (f"{SUMMATION}/ram:DuePayableAmount", "Infinity", "not a decimal"),
        (
            f"{LINE}/ram:SpecifiedTradeProduct/ram:Name",
            None,
            "line 1 name",
        ),
    ],
)
def test_a_broken_document_is_refused_naming_what_is_wrong(
    path: str, text: str | None, reason: str
) -> None:
    with pytest.raises(UnreadableDocumentError, match=reason):
        DE.read_document(tampered(xrechnung_cii(), path, text), XML)

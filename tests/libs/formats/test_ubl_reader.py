"""The UBL reader: the stated totals kept as the document states them, what the request model
cannot hold said in left_out, a missing mandatory term or a bad number refused with its name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from clearway.formats import XML, render
from clearway.formats.hardened import UnreadableDocumentError
from clearway.governments import GOVERNMENTS
from lxml import etree

from tests.libs.formats.support import NS, find, read_tampered, seed_invoice, tampered

RO = GOVERNMENTS["RO"]


def seed_ubl() -> bytes:
    return render(seed_invoice(), invoice_number="INV-1", country="RO").content


def test_the_seed_reads_back_with_its_stated_totals() -> None:
    read = RO.read_document(seed_ubl(), XML)
    stated = read.stated
    assert (stated.line_total, stated.tax, stated.tax_inclusive, stated.payable) == (
        Decimal("5200.00"),
        Decimal("988.00"),
        Decimal("6188.00"),
        Decimal("6188.00"),
    )
    assert [(vat.category, vat.rate, vat.taxable_amount) for vat in stated.vat_breakdown] == [
        ("S", Decimal(19), Decimal("5200.00"))
    ]
    assert stated.line_amounts == (Decimal("5000.00"), Decimal("200.00"))
    assert read.left_out == ()


def test_totals_that_do_not_add_up_are_read_as_stated() -> None:
    read, honest = read_tampered(
        RO,
        seed_ubl(),
        ("cac:LegalMonetaryTotal/cbc:PayableAmount", "1.00"),
        ("cac:TaxTotal/cbc:TaxAmount", "7.77"),
    )
    assert read.stated.payable == Decimal("1.00")
    assert read.stated.tax == Decimal("7.77")
    assert read.stated.tax_inclusive == Decimal("6188.00")
    assert read.request == honest.request  # the lines say what was invoiced


def test_a_document_level_allowance_is_left_out_and_said() -> None:
    root = etree.fromstring(seed_ubl())
    allowance = etree.Element(etree.QName(NS["cac"], "AllowanceCharge"))
    find(root, "cac:PaymentTerms").addnext(allowance)
    find(root, "cac:LegalMonetaryTotal").append(
        etree.fromstring(
            f'<cbc:AllowanceTotalAmount xmlns:cbc="{NS["cbc"]}">10.00</cbc:AllowanceTotalAmount>'
        )
    )
    read = RO.read_document(etree.tostring(root), XML)
    assert read.left_out == (
        "AllowanceTotalAmount 10.00 (BG-22).",
        "Document-level allowances and charges (BG-20, BG-21).",
    )


@pytest.mark.parametrize(
    ("path", "text", "reason"),
    [
        ("cbc:ID", None, r"invoice number \(BT-1\)"),
        ("cbc:IssueDate", "15/01/2025", "not a date"),
        ("cac:LegalMonetaryTotal/cbc:PayableAmount", "NaN", "not a decimal"),
        ("cac:InvoiceLine/cbc:InvoicedQuantity", "1e3", "not a decimal"),
        ("cac:InvoiceLine/cac:Price/cbc:PriceAmount", None, "net price"),
        ("cac:AccountingSupplierParty", None, r"seller \(BG-4\)"),
        ("cbc:DocumentCurrencyCode", "euro", "does not fit the invoice model: currency"),
    ],
)
def test_a_broken_document_is_refused_naming_what_is_wrong(
    path: str, text: str | None, reason: str
) -> None:
    with pytest.raises(UnreadableDocumentError, match=reason):
        RO.read_document(tampered(seed_ubl(), path, text), XML)

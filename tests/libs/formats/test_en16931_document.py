"""The EN 16931 semantic document both syntaxes write: categories, exemptions, K, O, discounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from clearway.formats.en16931 import (
    Delivery,
    Document,
    SchemedId,
    VatSubtotal,
    build_document,
    decimal_text,
    peppol_endpoint,
    price_text,
)

from tests.libs.formats.corpus import base_request, invoice

CUSTOMIZATION = "urn:cen.eu:en16931:2017"


def document(country: str, case: str | None = None, **changes: object) -> Document:
    return build_document(
        invoice(country, case, **changes), invoice_number="N-1", customization_id=CUSTOMIZATION
    )


def test_breakdown_per_category_and_rate_with_exemption_reasons() -> None:
    breakdown = document("DE", "exempt").vat_breakdown
    assert breakdown == (
        VatSubtotal(
            category="S",
            rate=Decimal(19),
            taxable_amount=Decimal("1000.00"),
            tax_amount=Decimal("190.00"),
        ),
        VatSubtotal(
            category="E",
            rate=Decimal(0),
            taxable_amount=Decimal("800.00"),
            tax_amount=Decimal("0.00"),
            exemption_reason="Steuerfrei nach § 4 Nr. 21 UStG",
            exemption_code="VATEX-EU-132-1I",
        ),
    )


def test_single_code_categories_get_their_vatex_code_and_text() -> None:
    reverse_charge = document("BE", "reverse_charge").vat_breakdown[-1]
    assert (reverse_charge.category, reverse_charge.exemption_code) == ("AE", "VATEX-EU-AE")
    assert reverse_charge.exemption_reason == "Reverse charge"
    export = document("DE", "export").vat_breakdown[0]
    assert (export.exemption_code, export.exemption_reason) == (
        "VATEX-EU-G",
        "Export outside the EU",
    )


def test_a_given_exemption_reason_wins_and_the_first_one_of_a_group_is_kept() -> None:
    # The second K line gives a reason and a code; the first gives none: one K breakdown.
    (intra,) = document("FR", "intra_community").vat_breakdown
    assert intra.category == "K"
    assert intra.exemption_code == "VATEX-EU-IC"
    assert intra.exemption_reason == "Intra-community supply - Article 138 Directive 2006/112"
    assert intra.taxable_amount == Decimal("579.00")


def test_zero_rate_without_category_joins_the_zero_rated_breakdown() -> None:
    lines = [
        {"description": "a", "unitPrice": 10, "vatRate": 0},
        {"description": "b", "unitPrice": 5, "vatRate": 0, "vatCategory": "Z"},
    ]
    built = document("DE", lines=lines)
    assert [(v.category, v.taxable_amount) for v in built.vat_breakdown] == [
        ("Z", Decimal("15.00"))
    ]
    assert [line.vat_category for line in built.lines] == ["Z", "Z"]


def test_intra_community_supply_is_delivered_on_the_issue_date_to_the_buyer_country() -> None:
    assert document("DE", "intra_community").delivery == Delivery(
        date=dt.date(2026, 3, 2), country="FR"
    )
    assert document("DE").delivery is None


def test_not_subject_to_vat_drops_vat_identifiers_and_rates() -> None:
    built = document("DE", "not_subject_to_vat")
    assert built.seller.vat_id is None
    assert built.seller.tax_registration_id == "DE123456789"
    assert built.buyer.vat_id is None
    assert built.vat_breakdown[0].rate is None
    assert built.lines[0].vat_rate is None
    assert built.seller.legal_id == SchemedId("HRB 123456")


def test_discount_is_a_price_discount_on_the_gross_price() -> None:
    line = document("DE", "multiple_rates_discount_attachment").lines[2]
    assert (line.gross_price, line.price_discount, line.net_price) == (
        Decimal("99.99"),
        Decimal("10.005"),
        Decimal("89.985"),
    )
    assert line.net_amount == Decimal("269.96")
    undiscounted = document("DE").lines[0]
    assert (undiscounted.gross_price, undiscounted.price_discount) == (None, None)


def test_totals_come_from_compute_totals() -> None:
    totals = document("RO", "multiple_rates_discount_attachment").totals
    assert totals.line_total == totals.tax_exclusive == Decimal("1300.96")
    # 21% of 1269.96 is 266.6916 -> 266.69; 11% of 31.00 is 3.41: VAT per rate, then summed.
    assert totals.tax == Decimal("270.10")
    assert totals.tax_inclusive == totals.payable == Decimal("1571.06")


def test_header_terms() -> None:
    built = document("DE", "credit_note")
    assert (built.type_code, built.is_credit_note) == ("381", True)
    assert built.preceding_invoice is not None
    assert built.preceding_invoice.number == "INV-2026-0042"
    assert built.buyer_reference == "BUYER-REF-7"
    assert built.order_reference == "PO-4711"
    assert built.payment is not None
    assert built.payment.account == "DE89370400440532013000"
    assert document("BE", "debit_note").type_code == "383"


def test_due_date_falls_back_to_the_payment_means_due_date() -> None:
    payment = base_request("DE")["paymentMeans"] | {"dueDate": "2026-05-01"}
    assert document("DE", dueDate=None, paymentMeans=payment).due_date == dt.date(2026, 5, 1)


def test_attachment_is_referenced_by_its_filename() -> None:
    built = document("DE", "multiple_rates_discount_attachment")
    (attachment,) = built.attachments
    assert attachment.reference == attachment.filename == "timesheet.pdf"
    assert attachment.mime_type == "application/pdf"


def test_peppol_endpoint_splits_scheme_and_identifier() -> None:
    party = invoice("BE").supplier
    assert peppol_endpoint(party) == SchemedId("0123456749", "0208")
    assert peppol_endpoint(party.model_copy(update={"peppol_id": "no-scheme"})) is None


def test_number_texts() -> None:
    assert decimal_text(Decimal("19.00")) == "19"
    assert decimal_text(Decimal(20)) == "20"
    assert decimal_text(Decimal("2.50")) == "2.5"
    assert price_text(Decimal(5000)) == "5000.00"
    assert price_text(Decimal("0.0125")) == "0.0125"

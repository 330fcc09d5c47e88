"""FA(3): an invoice in another currency states its VAT in PLN (P_14_xW) and the rate on each
line (KursWaluty); a correction names the invoice it corrects, which the schema holds to a date."""

from __future__ import annotations

from decimal import Decimal

from clearway.domain.invoice import InvoiceRequest
from clearway.formats import check, render
from clearway.formats.conformance import fatal
from lxml import etree

from tests.libs.validation.bodies import clean_body
from tests.libs.validation.cases import mutated

NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}


def _document(body: dict[str, object]) -> tuple[etree._Element, list[str]]:
    request = InvoiceRequest.model_validate(body)
    document = render(request, invoice_number="FV/2025/09/1", country="PL")
    return etree.fromstring(document.xml), [f.rule_id for f in fatal(check("PL", document))]


def test_vat_in_pln_for_an_invoice_in_euro() -> None:
    root, failures = _document(mutated("PL", {"/currency": "EUR", "/exchangeRate": "4.2537"}))
    assert failures == []
    vat = Decimal(root.findtext("fa:Fa/fa:P_14_1", namespaces=NS) or "")
    assert vat == Decimal("253.00")  # 23% of 1100.00
    assert root.findtext("fa:Fa/fa:P_14_1W", namespaces=NS) == "1076.19"  # 253.00 x 4.2537
    rates = root.xpath("fa:Fa/fa:FaWiersz/fa:KursWaluty/text()", namespaces=NS)
    assert rates == ["4.2537", "4.2537"]


def test_an_invoice_in_pln_has_no_conversion() -> None:
    root, failures = _document(mutated("PL", {"/exchangeRate": "1"}))
    assert failures == []
    assert root.find("fa:Fa/fa:P_14_1W", namespaces=NS) is None
    assert root.find("fa:Fa/fa:FaWiersz/fa:KursWaluty", namespaces=NS) is None


def test_a_credit_note_in_euro_states_negative_differences_in_pln() -> None:
    body = mutated(
        "PL",
        {
            "/invoiceType": "credit_note",
            "/precedingInvoice": {"number": "FV/2025/08/17", "issueDate": "2025-08-20"},
            "/currency": "EUR",
            "/exchangeRate": "4.2537",
        },
    )
    root, failures = _document(body)
    assert failures == []
    assert root.findtext("fa:Fa/fa:RodzajFaktury", namespaces=NS) == "KOR"
    assert root.findtext("fa:Fa/fa:P_14_1W", namespaces=NS) == "-1076.19"
    corrected = "fa:Fa/fa:DaneFaKorygowanej/fa:NrFaKorygowanej"
    assert root.findtext(corrected, namespaces=NS) == "FV/2025/08/17"


def test_the_schema_wants_the_corrected_invoices_date() -> None:
    # Why the validator asks for precedingInvoice.issueDate (CW-PL-05): the gate refuses without.
    body = clean_body("PL") | {
        "invoiceType": "credit_note",
        "precedingInvoice": {"number": "FV/2025/08/17"},
    }
    _, failures = _document(body)
    assert failures != []

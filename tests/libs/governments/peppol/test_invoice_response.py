"""The Peppol BIS 3 Invoice Response (governments/peppol/invoice_response.py), pure: what it
refers to is read from the received invoice itself (Clearway's own Belgian BIS UBL and German
XRechnung CII), and what it renders passes the T111 rules as the simulated access point checks
them (services/govsim/peppol/invoice_response.py: no official T111 artefact is installable from
the package index, so that checker, written from OpenPEPPOL's rules, is the reference)."""

from __future__ import annotations

import datetime as dt

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.domain.responses import BuyerResponse
from clearway.formats import render
from clearway.governments.peppol.invoice_response import (
    DOCUMENT_TYPE,
    ReferencedInvoice,
    referenced_invoice,
    render_invoice_response,
)
from clearway.governments.responding import ResponseImpossibleError
from lxml import etree

from services.govsim.peppol.invoice_response import DOCUMENT_TYPE as SIMULATOR_DOCUMENT_TYPE
from services.govsim.peppol.invoice_response import invoice_response_problems
from tests.libs.formats.round_trip import corpus_invoice

ACCEPT = BuyerResponse.model_validate({"decision": "accept"})
REJECT = BuyerResponse.model_validate({"decision": "reject", "reason": "Prijs klopt niet"})
ISSUED = dt.date(2026, 12, 3)
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


def _request(country: str) -> InvoiceRequest:
    """The corpus's invoice, its German supplier on Peppol (the corpus's has an e-mail
    endpoint, which no Invoice Response can be addressed to)."""
    request = corpus_invoice(country, "base")
    if country != "DE":
        return request
    supplier = request.supplier.model_copy(update={"peppol_id": "9930:DE123456789"})
    return request.model_copy(update={"supplier": supplier})


def _received(country: str, format_name: str) -> tuple[bytes, ReferencedInvoice]:
    request = _request(country)
    document = render(request, invoice_number="INV-77", country=country, format=format_name)
    return document.content, referenced_invoice(document.content)


@pytest.mark.parametrize(
    ("country", "format_name"),
    [("BE", "PEPPOL-BIS-3"), ("DE", "XRECHNUNG-UBL"), ("DE", "XRECHNUNG-CII")],
)
def test_the_invoice_it_answers_is_read_from_the_received_document(
    country: str, format_name: str
) -> None:
    _, invoice = _received(country, format_name)

    request = _request(country)
    assert invoice.invoice_id == "INV-77"
    assert invoice.issue_date == request.issue_date
    assert invoice.type_code == "380"
    assert invoice.supplier.scheme.isdigit()  # ISO 6523 ICDs: Peppol participants
    assert invoice.buyer.scheme.isdigit()
    assert invoice.supplier.participant_id != invoice.buyer.participant_id


@pytest.mark.parametrize("response", [ACCEPT, REJECT])
@pytest.mark.parametrize(
    ("country", "format_name"), [("BE", "PEPPOL-BIS-3"), ("DE", "XRECHNUNG-CII")]
)
def test_the_response_passes_the_t111_rules_addressed_from_buyer_to_supplier(
    country: str, format_name: str, response: BuyerResponse
) -> None:
    _, invoice = _received(country, format_name)

    xml = render_invoice_response(invoice, response, response_id="IR-1", issued=ISSUED)

    root = etree.fromstring(xml)
    problems = invoice_response_problems(
        root, sender=invoice.buyer.participant_id, receiver=invoice.supplier.participant_id
    )
    assert problems == []
    assert DOCUMENT_TYPE == SIMULATOR_DOCUMENT_TYPE


def _belgian_response(
    response: BuyerResponse, response_id: str
) -> tuple[ReferencedInvoice, etree._Element]:
    """A Belgian invoice received, and the buyer's response to it as rendered."""
    _, invoice = _received("BE", "PEPPOL-BIS-3")
    xml = render_invoice_response(invoice, response, response_id=response_id, issued=ISSUED)
    return invoice, etree.fromstring(xml)


def test_a_rejection_is_re_with_the_reason_as_other_and_refers_to_the_invoice() -> None:
    invoice, root = _belgian_response(REJECT, "IR-9")

    response = root.find("cac:DocumentResponse/cac:Response", NS)
    assert response is not None
    code = response.find("cbc:ResponseCode", NS)
    assert code is not None
    assert (code.text, code.get("listID")) == ("RE", "UNCL4343OpSubset")
    assert response.findtext("cac:Status/cbc:StatusReasonCode", namespaces=NS) == "OTH"
    assert response.findtext("cac:Status/cbc:StatusReason", namespaces=NS) == "Prijs klopt niet"
    reference = "cac:DocumentResponse/cac:DocumentReference/cbc:"
    assert root.findtext(f"{reference}ID", namespaces=NS) == "INV-77"
    assert root.findtext("cbc:ID", namespaces=NS) == "IR-9"
    sender = root.find("cac:SenderParty/cbc:EndpointID", NS)
    assert sender is not None
    assert f"{sender.get('schemeID')}:{sender.text}" == invoice.buyer.participant_id


def test_an_acceptance_is_ap_without_a_clarification() -> None:
    _, root = _belgian_response(ACCEPT, "IR-2")

    assert root.findtext("cac:DocumentResponse/cac:Response/cbc:ResponseCode", namespaces=NS) == (
        "AP"
    )
    assert root.find("cac:DocumentResponse/cac:Response/cac:Status", NS) is None


def test_the_t111_checker_refuses_a_rejection_without_clarification() -> None:
    invoice, root = _belgian_response(REJECT, "IR-3")
    status = root.find("cac:DocumentResponse/cac:Response/cac:Status", NS)
    assert status is not None
    status.getparent().remove(status)

    problems = invoice_response_problems(
        root, sender=invoice.buyer.participant_id, receiver=invoice.supplier.participant_id
    )

    assert [p[:18] for p in problems] == ["[PEPPOL-T111-R001]"]


def test_an_invoice_without_the_suppliers_endpoint_cannot_be_answered() -> None:
    content, _ = _received("BE", "PEPPOL-BIS-3")
    root = etree.fromstring(content)
    endpoint = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS)
    assert endpoint is not None
    endpoint.getparent().remove(endpoint)

    with pytest.raises(
        ResponseImpossibleError, match="endpoint \\(with its scheme\\) for the supplier"
    ):
        referenced_invoice(etree.tostring(root))


def test_a_supplier_reached_by_e_mail_is_no_peppol_participant_to_answer() -> None:
    document = render(
        corpus_invoice("DE", "base"), invoice_number="INV-5", country="DE", format="XRECHNUNG-UBL"
    )

    with pytest.raises(ResponseImpossibleError, match=r"\(EM:[^)]+\) is no Peppol participant"):
        referenced_invoice(document.content)


def test_a_document_that_is_no_invoice_cannot_be_answered() -> None:
    with pytest.raises(ResponseImpossibleError, match="not a UBL or CII invoice"):
        referenced_invoice(b"<Order xmlns='urn:x'/>")
    with pytest.raises(ResponseImpossibleError, match="not readable XML"):
        referenced_invoice(b"%PDF-1.7")

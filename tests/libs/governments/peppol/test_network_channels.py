"""The pure parts of the Peppol and ZRE clients: the references that make a send findable, the
document type the SMP is asked about, and where a German invoice goes."""

from __future__ import annotations

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.governments.de.client import client_reference_for, leitweg_id_of
from clearway.governments.de.document import render_xrechnung_cii
from clearway.governments.peppol.client import (
    document_type_of,
    instance_identifier_for,
    receiver_of,
)
from clearway.governments.peppol.document import render_peppol_bis

from tests.libs.validation.bodies import clean_body

BIS3 = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"


def test_the_instance_identifier_is_a_uuid_fixed_per_invoice() -> None:
    first = instance_identifier_for("inv_1")
    assert first == instance_identifier_for("inv_1")
    assert first != instance_identifier_for("inv_2")
    assert len(first) == 36
    assert first.count("-") == 4
    assert (
        client_reference_for("inv_1")
        == client_reference_for("inv_1")
        != (client_reference_for("inv_2"))
    )


def test_the_document_type_comes_from_the_root_and_the_customization_id() -> None:
    ubl = render_peppol_bis(InvoiceRequest.model_validate(clean_body("BE")), invoice_number="1")
    assert document_type_of(ubl) == (
        f"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##{BIS3}::2.1"
    )
    cii = render_xrechnung_cii(InvoiceRequest.model_validate(clean_body("DE")), invoice_number="1")
    assert document_type_of(cii) == (
        "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100::CrossIndustryInvoice"
        f"##{XRECHNUNG}::D16B"
    )
    with pytest.raises(ValueError, match="neither"):
        document_type_of(b"<html/>")


@pytest.mark.parametrize(
    ("customer", "receiver"),
    [
        ({"peppolId": "0208:0403170701", "vatNumber": "BE0403170701"}, "0208:0403170701"),
        ({"vatNumber": "BE 0403.170.701"}, "0208:0403170701"),
        ({"vatNumber": "DE811569869"}, "9930:DE811569869"),
        ({"peppolId": "iso6523-actorid-upis::9925:BE0403170701"}, "9925:BE0403170701"),
        ({"vatNumber": "FR40303265045"}, None),
    ],
)
def test_the_buyers_participant_id(customer: dict[str, str], receiver: str | None) -> None:
    assert receiver_of({"customer": customer}) == receiver


@pytest.mark.parametrize(
    ("request_body", "leitweg_id"),
    [
        ({"buyerReference": "991-33333TEST-33"}, "991-33333TEST-33"),
        ({"customer": {"leitwegId": "04011000-1234512345-06"}}, "04011000-1234512345-06"),
        ({"buyerReference": "REF-42", "customer": {"leitwegId": "991-33333TEST-33"}}, None),
        ({"buyerReference": "REF-42"}, None),
        ({}, None),
    ],
)
def test_a_german_invoice_is_b2g_when_its_buyer_reference_is_a_leitweg_id(
    request_body: dict[str, object], leitweg_id: str | None
) -> None:
    assert leitweg_id_of(request_body) == leitweg_id

"""What Clearway's Peppol access point provider forwards (BE, DE): the Standard Business Document
read into a delivery for the receiver participant, the business document byte for byte, the SBDH
as evidence; and each delivery that is not one refused, saying why."""

from __future__ import annotations

import json

import pytest
from clearway.config import Settings
from clearway.governments import government
from clearway.governments.de.document import render_xrechnung_cii
from clearway.governments.peppol.document import render_peppol_bis
from clearway.governments.peppol.receiving import (
    BIS_BILLING_TYPES,
    SBDH_NS,
    XRECHNUNG_TYPES,
    PeppolPushChannel,
)
from clearway.governments.pushed import DeliveryRefusedError
from lxml import etree

from tests.libs.config.test_live_endpoints import REQUIRED
from tests.libs.formats.corpus import invoice
from tests.libs.formats.test_reading import BILLION_LAUGHS, XXE

BE_RECEIVER = "0208:0123456749"
DE_RECEIVER = "9930:DE123456789"
BIS_INVOICE, BIS_CREDIT_NOTE = BIS_BILLING_TYPES
XRECHNUNG_CII = XRECHNUNG_TYPES[2]


def channel(country: str) -> PeppolPushChannel:
    pushed = government(country).push_channel(Settings.from_env(REQUIRED))
    assert isinstance(pushed, PeppolPushChannel)
    return pushed


def bis_invoice() -> bytes:
    """A Peppol BIS invoice as Clearway renders one, without its XML declaration: as it stands
    inside an SBD."""
    return _inner(render_peppol_bis(invoice("BE"), invoice_number="INV-7"))


def xrechnung_cii() -> bytes:
    return _inner(render_xrechnung_cii(invoice("DE"), invoice_number="RE-7"))


def _inner(document: bytes) -> bytes:
    return document.split(b"?>", 1)[1].strip()


def sbd(
    document: bytes,
    *,
    receiver: str | None = BE_RECEIVER,
    document_type: str = BIS_INVOICE,
    instance: str | None = "b5e8f0a4-7c1d-4e2b-9a6f-3d2c1b0a9e8f",
    declaration: bytes = b'<?xml version="1.0" encoding="UTF-8"?>\n',
    root_namespaces: str = "",
) -> bytes:
    """An SBD as the Peppol Envelope specification lays it out, around `document`."""
    receiver_part = (
        f'<Receiver><Identifier Authority="iso6523-actorid-upis">{receiver}</Identifier></Receiver>'
        if receiver is not None
        else ""
    )
    instance_part = f"<InstanceIdentifier>{instance}</InstanceIdentifier>" if instance else ""
    header = f"""<StandardBusinessDocumentHeader>
    <HeaderVersion>1.0</HeaderVersion>
    <Sender><Identifier Authority="iso6523-actorid-upis">0208:0403000059</Identifier></Sender>
    {receiver_part}
    <DocumentIdentification>
      <Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard>
      <TypeVersion>2.1</TypeVersion>{instance_part}<Type>Invoice</Type>
      <CreationDateAndTime>2026-12-01T09:30:00Z</CreationDateAndTime>
    </DocumentIdentification>
    <BusinessScope>
      <Scope><Type>DOCUMENTID</Type><InstanceIdentifier>{document_type}</InstanceIdentifier>
        <Identifier>busdox-docid-qns</Identifier></Scope>
      <Scope><Type>PROCESSID</Type>
        <InstanceIdentifier>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</InstanceIdentifier>
        <Identifier>cenbii-procid-ubl</Identifier></Scope>
    </BusinessScope>
  </StandardBusinessDocumentHeader>"""
    return (
        declaration
        + f'<StandardBusinessDocument xmlns="{SBDH_NS}"{root_namespaces}>\n  '.encode()
        + header.encode()
        + b"\n  "
        + document
        + b"\n</StandardBusinessDocument>\n"
    )


def refusal(country: str, body: bytes, media_type: str = "application/xml") -> str:
    with pytest.raises(DeliveryRefusedError) as refused:
        channel(country).take(body, media_type)
    return str(refused.value)


def test_a_belgian_delivery_is_the_document_byte_for_byte_for_the_receiver_participant() -> None:
    document = bis_invoice()
    pushed = channel("BE").take(sbd(document), "application/xml; charset=UTF-8")

    assert (pushed.recipient_field, pushed.recipient) == ("participant_id", BE_RECEIVER)
    delivery = pushed.delivery
    assert delivery.government_id == "b5e8f0a4-7c1d-4e2b-9a6f-3d2c1b0a9e8f"
    assert delivery.document == document
    assert delivery.media_type == "application/xml"
    # The evidence is the SBDH: who sent it to whom, which document, when.
    header = etree.fromstring(delivery.evidence or b"")
    assert header.tag == f"{{{SBDH_NS}}}StandardBusinessDocumentHeader"
    assert header.findtext(f"{{{SBDH_NS}}}Sender/{{{SBDH_NS}}}Identifier") == "0208:0403000059"
    assert delivery.evidence_media_type == "application/xml"


def test_germany_receives_xrechnung_cii_and_belgium_does_not() -> None:
    document = xrechnung_cii()
    body = sbd(document, receiver=DE_RECEIVER, document_type=XRECHNUNG_CII)

    pushed = channel("DE").take(body, "text/xml")
    assert (pushed.recipient, pushed.delivery.document) == (DE_RECEIVER, document)
    # Germany also receives Peppol BIS; Belgium only Peppol BIS.
    assert set(government("DE").receivable_document_types()) == {
        *BIS_BILLING_TYPES,
        *XRECHNUNG_TYPES,
    }
    assert government("BE").receivable_document_types() == BIS_BILLING_TYPES
    reason = refusal("BE", sbd(document, document_type=XRECHNUNG_CII))
    assert "does not receive the document type" in reason
    assert "xrechnung_3.0" in reason


def test_the_receiver_is_compared_as_written_without_the_scheme_prefix_or_spaces() -> None:
    body = sbd(bis_invoice(), receiver=f" iso6523-actorid-upis::{BE_RECEIVER} ")
    assert channel("BE").take(body, "application/xml").recipient == BE_RECEIVER


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (bis_invoice(), "no SBDH"),  # the bare document, as a sender's own API takes it
        (sbd(bis_invoice(), receiver=None), "names no receiver"),
        (sbd(bis_invoice(), instance=None), "InstanceIdentifier"),
        (sbd(bis_invoice(), document_type=BIS_CREDIT_NOTE), "not the SBDH's"),
        (sbd(b""), "header and one business document"),
        (XXE, "DTD"),
        (BILLION_LAUGHS, "DTD"),
        (b"<StandardBusinessDocument", "not well-formed"),
    ],
    ids=[
        "no-sbdh",
        "no-receiver",
        "no-instance",
        "type-mismatch",
        "no-document",
        "xxe",
        "billion-laughs",
        "truncated",
    ],
)
def test_what_is_no_delivery_is_refused_saying_why(body: bytes, reason: str) -> None:
    assert reason in refusal("BE", body)


def test_a_body_that_is_not_xml_is_refused() -> None:
    assert "application/xml" in refusal("BE", sbd(bis_invoice()), "application/json")


@pytest.mark.parametrize(
    ("country", "receiver", "reason"),
    [
        ("BE", "0208:0123456700", "Belgian enterprise number"),  # check digits wrong
        ("BE", "9925:BE0123456700", "Belgian VAT number"),
        ("DE", "9930:DE12345", "German VAT number"),
        ("BE", "not-a-participant", "participant id"),
    ],
)
def test_a_receiver_the_countrys_scheme_would_never_issue_is_refused(
    country: str, receiver: str, reason: str
) -> None:
    assert reason in refusal(country, sbd(bis_invoice(), receiver=receiver))


def test_a_document_using_the_envelopes_namespace_prefix_is_re_serialized_whole() -> None:
    """The one case the bytes cannot be the envelope's: the document leans on a declaration of
    the envelope. It is still a document of its own, with the same content."""
    document = bis_invoice().replace(b"xmlns:cbc=", b"xmlns:unused=", 1)
    namespace = b' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
    body = sbd(document, root_namespaces=namespace.decode())

    taken = channel("BE").take(body, "application/xml").delivery.document
    assert taken != document
    assert etree.tostring(etree.fromstring(taken), method="c14n") == etree.tostring(
        etree.fromstring(body)[1], method="c14n"
    )


def test_an_envelope_in_another_encoding_keeps_the_bytes_and_says_their_encoding() -> None:
    document = bis_invoice().replace(b"Acme Solutions BV", "Acmé Solutions BV".encode())
    body = sbd(
        document.decode().encode("iso-8859-1"),
        declaration=b'<?xml version="1.0" encoding="ISO-8859-1"?>\n',
    )
    taken = channel("BE").take(body, "application/xml").delivery.document
    assert taken == b'<?xml version="1.0" encoding="ISO-8859-1"?>' + document.decode().encode(
        "iso-8859-1"
    )
    assert "Acmé Solutions BV" in etree.tostring(etree.fromstring(taken), encoding="unicode")


def test_the_answers_are_the_providers_json() -> None:
    be = channel("BE")
    pushed = be.take(sbd(bis_invoice()), "application/xml")
    received = be.received(pushed, "rinv_1")
    assert received.status == 200
    assert json.loads(received.body) == {
        "status": "received",
        "instanceIdentifier": pushed.delivery.government_id,
        "receivedInvoiceId": "rinv_1",
        "countryC4": "BE",
    }
    refused = be.refused("no company receives for 0208:0123456749 here")
    assert refused.status == 422
    assert json.loads(refused.body)["error"] == "no company receives for 0208:0123456749 here"

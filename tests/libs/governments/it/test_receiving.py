"""Italy's receiving channel, pure: SDI's RiceviFatture request read into a delivery for the
buyer, a request SDI would not make refused saying why, and the answers as SDICoop's WSDL has
them (ER01, or a SOAP Fault)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from clearway.config import Settings
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import render
from clearway.governments import GOVERNMENTS
from clearway.governments.it.receiving import (
    RICEZIONE_NS,
    SOAP_NS,
    SdiChannel,
    buyer_vat_number,
)
from clearway.governments.it.signed import P7M, signed_content
from clearway.governments.pushed import DeliveryRefusedError
from lxml import etree

from services.govsim.it.purchases import signed_cades
from tests.libs.config.test_live_endpoints import REQUIRED
from tests.libs.governments.it.test_document import it_invoice

CODE = "CLRWY01"
NAME = "IT01234567890_0A1B2.xml"
CHANNEL = SdiChannel(CODE)
MESSAGGI_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/messaggi/v1.0"


def fattura(**changes: Any) -> bytes:
    invoice: InvoiceRequest = it_invoice(**changes)
    return render(invoice, invoice_number="FT-2025/7", country="IT").content


def metadati(
    identificativo: str = "4000000123", name: str = NAME, code: str = CODE, ns: str = MESSAGGI_NS
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><types:MetadatiInvioFile xmlns:types="{ns}" '
        f'versione="1.0"><IdentificativoSdI>{identificativo}</IdentificativoSdI>'
        f"<NomeFile>{name}</NomeFile><CodiceDestinatario>{code}</CodiceDestinatario>"
        "<Formato>FPR12</Formato><TentativiInvio>1</TentativiInvio>"
        "<MessageId>10000000042</MessageId></types:MetadatiInvioFile>"
    ).encode()


def request(
    file: bytes | str | None = None,
    *,
    identificativo: str = "4000000123",
    name: str = NAME,
    metadata: bytes | str | None = None,
    operation: str = "fileSdIConMetadati",
) -> bytes:
    """A RiceviFatture call as SDI makes it: SOAP 1.1, the files in base64 elements."""

    def b64(value: bytes | str) -> str:
        return value if isinstance(value, str) else base64.b64encode(value).decode()

    document = fattura() if file is None else file
    meta = metadati(identificativo, name) if metadata is None else metadata
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
        f'xmlns:typ="{RICEZIONE_NS}"><soapenv:Header/><soapenv:Body><typ:{operation}>'
        f"<IdentificativoSdI>{identificativo}</IdentificativoSdI><NomeFile>{name}</NomeFile>"
        f"<File>{b64(document)}</File><NomeFileMetadati>IT01234567890_0A1B2_MT_001.xml"
        f"</NomeFileMetadati><Metadati>{b64(meta)}</Metadati></typ:{operation}>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def refusal(body: bytes, media_type: str = "text/xml; charset=utf-8") -> str:
    with pytest.raises(DeliveryRefusedError) as refused:
        CHANNEL.take(body, media_type)
    return str(refused.value)


def test_a_ricevi_fatture_call_is_a_delivery_to_the_buyer_with_the_metadata_as_evidence() -> None:
    document = fattura()
    pushed = CHANNEL.take(request(document), "text/xml; charset=utf-8")

    assert (pushed.recipient_field, pushed.recipient) == ("vat_number", "IT09876543210")
    delivery = pushed.delivery
    assert delivery.government_id == "4000000123"
    assert (delivery.document, delivery.media_type) == (document, "application/xml")
    assert (delivery.evidence, delivery.evidence_media_type) == (metadati(), "application/xml")
    assert delivery.finding is None


def test_the_2015_messages_namespace_is_taken_too() -> None:
    body = request(metadata=metadati(ns="http://www.fatturapa.gov.it/sdi/messaggi/v1.0"))
    assert CHANNEL.take(body, "text/xml").delivery.government_id == "4000000123"


def test_a_signed_file_is_kept_as_signed_and_its_buyer_read_from_what_it_signs() -> None:
    document = fattura()
    p7m = signed_cades(document)  # as the simulated supplier signs one
    for content in (p7m, base64.encodebytes(p7m)):  # DER, and DER in Base64: SDI takes both
        pushed = CHANNEL.take(request(content, name=NAME + ".p7m"), "text/xml")
        assert pushed.recipient == "IT09876543210"
        assert (pushed.delivery.document, pushed.delivery.media_type) == (content, P7M)
        assert signed_content(content) == document
        # The IT reader reads the signed file as the invoice it signs.
        read = GOVERNMENTS["IT"].read_document(content, P7M)
        assert read.request.customer.vat_number == "IT09876543210"


def without_buyer_vat(fiscal_code: str) -> bytes:
    """The invoice with its buyer known by a CodiceFiscale only (no IdFiscaleIVA)."""
    root = etree.fromstring(fattura())
    buyer = root.find("FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici")
    assert buyer is not None
    vat = buyer.find("IdFiscaleIVA")
    assert vat is not None
    code = etree.Element("CodiceFiscale")
    code.text = fiscal_code
    vat.addnext(code)
    buyer.remove(vat)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_buyer_without_a_vat_number_is_found_by_a_company_fiscal_code() -> None:
    # Eleven digits, a valid Partita IVA: a company's fiscal code, its VAT number here.
    assert buyer_vat_number(without_buyer_vat("12345670157")) == "IT12345670157"
    with pytest.raises(DeliveryRefusedError, match="RSSMRA85T10A562S is no company's"):
        buyer_vat_number(without_buyer_vat("RSSMRA85T10A562S"))


def test_a_hostile_invoice_whose_buyer_can_be_read_is_delivered_with_nothing_expanded() -> None:
    xxe = fattura().replace(
        b"?>",
        b'?>\n<!DOCTYPE p:FatturaElettronica [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        1,
    )
    xxe = xxe.replace(b"Consulenza informatica", b"&xxe;")
    pushed = CHANNEL.take(request(xxe), "text/xml")
    assert pushed.recipient == "IT09876543210"
    assert pushed.delivery.document == xxe  # as delivered; the reader refuses its DTD afterwards


@pytest.mark.parametrize(
    ("body", "media_type", "reason"),
    [
        (request(), "application/json", "SOAP 1.1 message (text/xml)"),
        (b"<soapenv:Envelope", "text/xml", "not well-formed"),
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaa">]><soapenv:Envelope xmlns:soapenv="'
            + SOAP_NS.encode()
            + b'"/>',
            "text/xml",
            "declares a DTD",
        ),
        (b"<Envelope/>", "text/xml", "not a SOAP 1.1 Envelope"),
        (request(operation="fileSdI"), "text/xml", "only RiceviFatture is served here"),
        (request(identificativo="12a"), "text/xml", "IdentificativoSdI '12a' is not a number"),
        (request(name="fattura.xml"), "text/xml", "NomeFile 'fattura.xml' is not a FatturaPA"),
        (request("not base64!"), "text/xml", "File is not base64"),
        (request(b"<FatturaElettronica>"), "text/xml", "the invoice is not well-formed XML"),
        (request(b"<Invoice/>"), "text/xml", "not a FatturaPA FatturaElettronica"),
        (request(metadata=b"<x/>"), "text/xml", "not a MetadatiInvioFile"),
        (
            request(metadata=metadati(identificativo="4000000999")),
            "text/xml",
            "the metadata file is for 4000000999",
        ),
        (
            request(metadata=metadati(code="ABCDEF1")),
            "text/xml",
            "CodiceDestinatario 'ABCDEF1', not this channel's 'CLRWY01'",
        ),
        (request(b"0\x03\x02\x01\x00", name=NAME + ".p7m"), "text/xml", "File (.p7m)"),
    ],
)
def test_a_request_sdi_would_not_make_is_refused_saying_why(
    body: bytes, media_type: str, reason: str
) -> None:
    assert reason in refusal(body, media_type)


def test_a_missing_field_is_named() -> None:
    body = (
        request()
        .replace(b"<NomeFileMetadati>", b"<Other>")
        .replace(b"</NomeFileMetadati>", b"</Other>")
    )
    assert "fileSdIConMetadati has no NomeFileMetadati" in refusal(body)


def test_the_receipt_is_esito_er01_and_a_refusal_a_soap_fault() -> None:
    pushed = CHANNEL.take(request(), "text/xml")
    answer = CHANNEL.received(pushed, "rinv_1")
    assert (answer.status, answer.media_type) == (200, "text/xml; charset=utf-8")
    envelope = etree.fromstring(answer.body)
    [response] = envelope.find(f"{{{SOAP_NS}}}Body")
    assert etree.QName(response) == etree.QName(RICEZIONE_NS, "rispostaRiceviFatture")
    assert response.findtext("Esito") == "ER01"

    refused = CHANNEL.refused("no company receives for IT09876543210 here")
    assert refused.status == 500
    fault = etree.fromstring(refused.body).find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "soap:Client"
    assert fault.findtext("faultstring") == "no company receives for IT09876543210 here"


def test_the_it_government_pushes_through_the_configured_channel() -> None:
    settings = Settings.from_env({**REQUIRED, "SDI_CODICE_DESTINATARIO": "ABC1234"})
    channel = GOVERNMENTS["IT"].push_channel(settings)
    assert isinstance(channel, SdiChannel)
    assert channel.code == "ABC1234"
    assert Settings.from_env(REQUIRED).sdi.codice_destinatario == CODE  # the sandbox's default

"""SDI's Notifica di Esito Committente (governments/it/esito.py), pure: what it names of the
received file comes from the FatturaPA and SDI's metadata file; its shape is the messaggi v1.0
one (IdentificativoSdI, RiferimentoFattura, Esito EC01/EC02, Descrizione); an SE reads back in
SDI's words."""

from __future__ import annotations

import pytest
from clearway.domain.responses import BuyerResponse
from clearway.governments.it.esito import (
    MESSAGGI_NS,
    ReceivedFatturaPA,
    esito_committente,
    esito_file_name,
    received_fattura,
    scarto_reason,
)
from clearway.governments.responding import ResponseImpossibleError
from lxml import etree

from tests.services.govsim.it.test_it_sim import SELLER_PIVA, fattura

METADATA = f"""<?xml version="1.0" encoding="UTF-8"?>
<types:MetadatiInvioFile xmlns:types="{MESSAGGI_NS}" versione="1.0">
  <IdentificativoSdI>4000000123</IdentificativoSdI>
  <NomeFile>IT01234567890_00ABC.xml</NomeFile>
  <CodiceDestinatario>UFXYZ1</CodiceDestinatario>
  <Formato>FPA12</Formato>
  <TentativiInvio>1</TentativiInvio>
  <MessageId>123456</MessageId>
</types:MetadatiInvioFile>""".encode()


def test_the_file_is_named_by_sdis_metadata_and_the_invoice_by_the_fatturapa() -> None:
    received = received_fattura(
        fattura(versione="FPA12", numero="FT-9", data="2026-05-04"), METADATA, "gov-id"
    )

    assert received == ReceivedFatturaPA(
        identificativo="4000000123",
        file_name="IT01234567890_00ABC.xml",
        format="FPA12",
        number="FT-9",
        year="2026",
    )


def test_without_metadata_the_government_id_and_the_transmitters_file_name_stand_in() -> None:
    received = received_fattura(fattura(), None, "4000000777")

    assert (received.identificativo, received.file_name, received.format) == (
        "4000000777",
        f"IT{SELLER_PIVA}_00001.xml",
        "FPR12",
    )


def test_a_refusal_is_ec02_with_its_descrizione_in_the_messaggi_shape() -> None:
    received = ReceivedFatturaPA("4000000123", "IT01234567890_00ABC.xml", "FPA12", "FT-9", "2026")
    reject = BuyerResponse.model_validate({"decision": "reject", "reason": "Importo errato"})

    root = etree.fromstring(esito_committente(received, reject))

    assert etree.QName(root) == etree.QName(MESSAGGI_NS, "NotificaEsitoCommittente")
    assert root.get("versione") == "1.0"
    assert [child.tag for child in root] == [
        "IdentificativoSdI",
        "RiferimentoFattura",
        "Esito",
        "Descrizione",
    ]
    assert root.findtext("IdentificativoSdI") == "4000000123"
    assert root.findtext("RiferimentoFattura/NumeroFattura") == "FT-9"
    assert root.findtext("RiferimentoFattura/AnnoFattura") == "2026"
    assert (root.findtext("Esito"), root.findtext("Descrizione")) == ("EC02", "Importo errato")
    assert esito_file_name(received.file_name) == "IT01234567890_00ABC_EC_001.xml"


def test_an_acceptance_is_ec01_without_descrizione() -> None:
    received = ReceivedFatturaPA("1", "IT1_00001.xml", "FPA12", None, None)
    accept = BuyerResponse.model_validate({"decision": "accept"})

    root = etree.fromstring(esito_committente(received, accept))

    assert [child.tag for child in root] == ["IdentificativoSdI", "Esito"]
    assert root.findtext("Esito") == "EC01"


def test_a_scarto_reads_as_its_code_and_note() -> None:
    scarto = (
        f'<types:ScartoEsitoCommittente xmlns:types="{MESSAGGI_NS}" versione="1.0">'
        "<IdentificativoSdI>1</IdentificativoSdI><Scarto>EN01</Scarto>"
        "<MessageId>2</MessageId><Note>Fattura FPR12 tra privati</Note>"
        "</types:ScartoEsitoCommittente>"
    ).encode()
    assert scarto_reason(scarto) == "SE EN01: Fattura FPR12 tra privati"


def test_a_document_that_is_no_fatturapa_cannot_be_answered() -> None:
    with pytest.raises(ResponseImpossibleError, match="not a FatturaPA"):
        received_fattura(b"<Invoice/>", None, "1")

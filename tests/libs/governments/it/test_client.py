"""The SDI client's pure parts: notification errors as SDI wrote them, the channel's TLS
context from the connection's certificate, and the progressivo of file names."""

from __future__ import annotations

import ssl

import pytest
from clearway.governments.it.client import Notification, client_tls
from clearway.governments.it.filing import progressivo
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.libs.security.certmaker import make_certificate

NS = b"""<?xml version="1.0" encoding="UTF-8"?>
<types:NotificaScarto xmlns:types="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/messaggi/v1.0"
  versione="1.0"><IdentificativoSdI>4000000001</IdentificativoSdI>
  <NomeFile>IT01234567897_00001.xml</NomeFile>
  <ListaErrori>
    <Errore><Codice>00305</Codice><Descrizione>1.4.1.1.2 &lt;IdCodice&gt; non valido</Descrizione></Errore>
    <Errore><Codice>00311</Codice><Descrizione>1.1.4 &lt;CodiceDestinatario&gt; non valido</Descrizione></Errore>
  </ListaErrori><MessageId>1</MessageId></types:NotificaScarto>"""  # noqa: E501 - one NS file


def test_an_ns_lists_each_error_as_code_and_italian_words() -> None:
    scarto = Notification(tipo="NS", name="IT01234567897_00001_NS_001.xml", xml=NS)
    assert scarto.errors() == (
        "00305: 1.4.1.1.2 <IdCodice> non valido",
        "00311: 1.1.4 <CodiceDestinatario> non valido",
    )
    assert scarto.text("IdentificativoSdI") == "4000000001"


def _pem(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert_pem, key_pem


def test_the_channel_context_presents_the_connections_certificate() -> None:
    certificate, key = make_certificate()
    assert isinstance(client_tls(*_pem(certificate, key)), ssl.SSLContext)
    _, other_key = make_certificate()
    with pytest.raises(ssl.SSLError):  # a key that is not the certificate's
        client_tls(_pem(certificate, key)[0], _pem(certificate, other_key)[1])


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1, "00001"), (35, "0000Z"), (36, "00010"), (36**5 - 1, "ZZZZZ")],
)
def test_progressivo_is_five_base36_characters(number: int, expected: str) -> None:
    assert progressivo(number) == expected


def test_progressivo_refuses_a_number_past_five_characters() -> None:
    with pytest.raises(ValueError, match="every 5-character progressivo"):
        progressivo(36**5)

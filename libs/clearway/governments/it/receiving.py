"""Italy's receiving side: SDI delivers a purchase invoice to the recipient's channel.

A buyer (or its intermediary) is reached at a channel, named by a CodiceDestinatario; SDI
delivers every file addressed to that code, and every file for a buyer that registered it as its
preferred address, by calling the channel's RicezioneFatture web service (SDICoop, SOAP 1.1 over
mutual TLS; the TLS terminator checks SDI's certificate and adds the network key). Clearway's
channel has one code (SdiSettings.codice_destinatario), and the company receiving is the buyer the
invoice names. The operation is RiceviFatture, its WSDL's base64 elements inline (no MTOM):

    POST /networks/it/deliveries   Content-Type: text/xml   SOAPAction: .../RiceviFatture
    <soap:Envelope><soap:Body><types:fileSdIConMetadati>
      <IdentificativoSdI>  SDI's number for the file: the received invoice's governmentId
      <NomeFile>           IT<transmitter>_<progressivo>.xml, or .xml.p7m when signed (CAdES)
      <File>               the FatturaPA as the supplier sent it, in base64
      <NomeFileMetadati>   <file stem>_MT_<NNN>.xml
      <Metadati>           the "file dei metadati" (MetadatiInvioFile: IdentificativoSdI,
                           NomeFile, CodiceDestinatario, Formato, TentativiInvio, MessageId,
                           Note), in base64: kept as the delivery's evidence
    </types:fileSdIConMetadati></soap:Body></soap:Envelope>

    200  rispostaRiceviFatture, Esito ER01 (presa in carico: the only outcome the WSDL has)
    500  a SOAP Fault (faultcode Client) saying why it was not taken: SDI counts a delivery
         without its ER01 as failed and tries again; after its attempts it tells the supplier
         (MC) and leaves the file in the buyer's reserved area.

The receiving company is the buyer, CessionarioCommittente/DatiAnagrafici: its IdFiscaleIVA
(IdPaese + IdCodice is its VAT number here); without one, a CodiceFiscale of eleven digits that
is a valid Partita IVA (a company's fiscal code is, most often, its VAT number). A person's
fiscal code names no company here: such a file is refused. The document is the File as
delivered, byte for byte (a signed one stays signed; the reader reads what it signs); it is read
by the IT reader afterwards, findings kept. Only what names the delivery and its buyer is read
here, with the hardened parser and entities never expanded: a hostile document whose buyer can
still be read is received with its findings, one whose buyer cannot is refused.

The buyer's 15-day outcome for a public administration (EC01/EC02, NotificaEsito) and the
NotificaDecorrenzaTermini SDI sends on the same service are not taken here.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

from lxml import etree

from clearway.formats.hardened import UnreadableDocumentError, hardened_parser, hardened_tree
from clearway.governments.inbox import Delivery
from clearway.governments.it.document import NS_FATTURAPA
from clearway.governments.it.identifiers import is_valid_partita_iva
from clearway.governments.it.signed import P7M, signed_content
from clearway.governments.pushed import DeliveryRefusedError, NetworkAnswer, PushedDelivery

if TYPE_CHECKING:
    from clearway.config import Settings

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
RICEZIONE_NS = "http://www.fatturapa.gov.it/sdi/ws/ricezione/v1.0/types"
SOAP_ACTION = "http://www.fatturapa.it/RicezioneFatture/RiceviFatture"
# The messages' namespace: the 2015 bindings' and the one SDI's recent files carry.
MESSAGGI_NAMESPACES = frozenset(
    {
        "http://www.fatturapa.gov.it/sdi/messaggi/v1.0",
        "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/messaggi/v1.0",
    }
)
ESITO_RICEVUTA = "ER01"  # presa in carico
XML = "application/xml"
SOAP_MEDIA_TYPES = frozenset({"text/xml", "application/xml"})  # SOAP 1.1 is text/xml
# IT + the transmitter's code + "_" + the progressivo; signed (.p7m) or not.
FILE_NAME = re.compile(r"[A-Z]{2}[A-Za-z0-9]{1,28}_[A-Za-z0-9]{1,5}\.xml(\.p7m)?")
IDENTIFICATIVO = re.compile(r"\d{1,18}")
_BUYER = "FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici/"


class SdiChannel:
    """Clearway's SDI channel, reached at CodiceDestinatario `code`."""

    def __init__(self, code: str) -> None:
        self.code = code

    def take(self, body: bytes, media_type: str) -> PushedDelivery:
        if media_type.split(";", 1)[0].strip().lower() not in SOAP_MEDIA_TYPES:
            raise DeliveryRefusedError(
                f"RicezioneFatture takes a SOAP 1.1 message (text/xml), not {media_type!r}"
            )
        call = _call(body)
        identificativo = _field(call, "IdentificativoSdI")
        if not IDENTIFICATIVO.fullmatch(identificativo):
            raise DeliveryRefusedError(f"IdentificativoSdI {identificativo!r} is not a number")
        name = _field(call, "NomeFile")
        if not FILE_NAME.fullmatch(name):
            raise DeliveryRefusedError(
                f"NomeFile {name!r} is not a FatturaPA file name (IT<code>_<progressivo>.xml "
                "or .xml.p7m)"
            )
        document = _base64(call, "File")
        metadata = _base64(call, "Metadati")
        _field(call, "NomeFileMetadati")
        self._check_metadata(metadata, identificativo, name)
        signed = name.endswith(".p7m")
        vat_number = buyer_vat_number(_signed_document(document) if signed else document)
        delivery = Delivery(
            government_id=identificativo,
            document=document,
            media_type=P7M if signed else XML,
            evidence=metadata,
            evidence_media_type=XML,
        )
        return PushedDelivery("vat_number", vat_number, delivery)

    def received(self, pushed: PushedDelivery, received_id: str) -> NetworkAnswer:
        del pushed, received_id  # ER01 is all RiceviFatture answers
        answer = etree.Element(
            f"{{{RICEZIONE_NS}}}rispostaRiceviFatture", nsmap={"types": RICEZIONE_NS}
        )
        etree.SubElement(answer, "Esito").text = ESITO_RICEVUTA
        return NetworkAnswer(200, _envelope(answer), "text/xml; charset=utf-8")

    def refused(self, reason: str) -> NetworkAnswer:
        fault = etree.Element(f"{{{SOAP_NS}}}Fault")
        etree.SubElement(fault, "faultcode").text = "soap:Client"
        etree.SubElement(fault, "faultstring").text = reason
        return NetworkAnswer(500, _envelope(fault), "text/xml; charset=utf-8")

    def _check_metadata(self, metadata: bytes, identificativo: str, name: str) -> None:
        """The metadata file is SDI's for this file, and the file is addressed to this channel."""
        try:
            root = hardened_tree(metadata).getroot()
        except UnreadableDocumentError as exc:
            raise DeliveryRefusedError(f"Metadati: {exc}") from exc
        qname = etree.QName(root)
        if qname.localname != "MetadatiInvioFile" or qname.namespace not in MESSAGGI_NAMESPACES:
            raise DeliveryRefusedError(f"Metadati is {root.tag}, not a MetadatiInvioFile")
        said = {
            tag: (root.findtext(tag) or "").strip() for tag in ("IdentificativoSdI", "NomeFile")
        }
        if said != {"IdentificativoSdI": identificativo, "NomeFile": name}:
            raise DeliveryRefusedError(
                f"the metadata file is for {said['IdentificativoSdI']} {said['NomeFile']!r}, "
                f"the call for {identificativo} {name!r}"
            )
        code = (root.findtext("CodiceDestinatario") or "").strip()
        if code != self.code:
            raise DeliveryRefusedError(
                f"the file is for CodiceDestinatario {code!r}, not this channel's {self.code!r}"
            )


def sdi_channel(settings: Settings) -> SdiChannel:
    return SdiChannel(settings.sdi.codice_destinatario)


def buyer_vat_number(document: bytes) -> str:
    """The VAT number here of the company a FatturaPA is addressed to (see the module's story);
    DeliveryRefusedError when it names none. Entities are never expanded: a DTD's are left out."""
    try:
        root = etree.fromstring(document, hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise DeliveryRefusedError(f"the invoice is not well-formed XML: {exc}") from exc
    if etree.QName(root) != etree.QName(NS_FATTURAPA, "FatturaElettronica"):
        raise DeliveryRefusedError(f"the file is {root.tag}, not a FatturaPA FatturaElettronica")
    country = _text(root, _BUYER + "IdFiscaleIVA/IdPaese")
    code = _text(root, _BUYER + "IdFiscaleIVA/IdCodice")
    if country and code:
        return f"{country}{code}".upper()
    fiscal_code = _text(root, _BUYER + "CodiceFiscale")
    if is_valid_partita_iva(fiscal_code):
        return f"IT{fiscal_code}"
    raise DeliveryRefusedError(
        "the buyer (CessionarioCommittente) has no IdFiscaleIVA"
        + (f", and its CodiceFiscale {fiscal_code} is no company's" if fiscal_code else "")
        + ": it names no company that receives here"
    )


def _call(body: bytes) -> etree._Element:
    """The RiceviFatture request in a SOAP 1.1 envelope."""
    try:
        envelope = hardened_tree(body).getroot()
    except UnreadableDocumentError as exc:
        raise DeliveryRefusedError(f"the SOAP message: {exc}") from exc
    if etree.QName(envelope) != etree.QName(SOAP_NS, "Envelope"):
        raise DeliveryRefusedError(f"the message is {envelope.tag}, not a SOAP 1.1 Envelope")
    soap_body = envelope.find(f"{{{SOAP_NS}}}Body")
    calls = (
        [] if soap_body is None else [child for child in soap_body if isinstance(child.tag, str)]
    )
    if len(calls) != 1:
        raise DeliveryRefusedError("the SOAP Body holds no single request")
    call = calls[0]
    if etree.QName(call) != etree.QName(RICEZIONE_NS, "fileSdIConMetadati"):
        raise DeliveryRefusedError(
            f"the request is {call.tag}; RiceviFatture's is fileSdIConMetadati (only RiceviFatture "
            "is served here)"
        )
    return call


def _field(call: etree._Element, tag: str) -> str:
    found = call.find(tag)
    text = (found.text or "").strip() if found is not None else ""
    if not text:
        raise DeliveryRefusedError(f"fileSdIConMetadati has no {tag}")
    return text


def _base64(call: etree._Element, tag: str) -> bytes:
    try:
        content = base64.b64decode("".join(_field(call, tag).split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DeliveryRefusedError(f"{tag} is not base64: {exc}") from exc
    if not content:
        raise DeliveryRefusedError(f"{tag} is empty")
    return content


def _signed_document(content: bytes) -> bytes:
    try:
        return signed_content(content)
    except UnreadableDocumentError as exc:
        raise DeliveryRefusedError(f"File (.p7m): {exc}") from exc


def _text(root: etree._Element, path: str) -> str:
    return (root.findtext(path) or "").strip()


def _envelope(content: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soap": SOAP_NS})
    etree.SubElement(envelope, f"{{{SOAP_NS}}}Body").append(content)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

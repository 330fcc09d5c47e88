"""The buyer's response to a FatturaPA received through SDI: the Notifica di Esito Committente
(EC), EC01 accepted or EC02 refused with its Descrizione, sent to SDI for the received file
(its IdentificativoSdI), which relays it to the supplier as NE. Pure.

SDI takes an EC only for an invoice to a public administration (FatturaPA FPA12) and within 15
days of its delivery; otherwise, and for a B2B invoice (FPR12), it answers with a Scarto Esito
Committente (SE: EN00 not conforming, EN01 not admissible). The SE's Note says why.

    <types:NotificaEsitoCommittente versione="1.0">  (messaggi v1.0)
      IdentificativoSdI, RiferimentoFattura (NumeroFattura, AnnoFattura)?, Esito,
      Descrizione? (at most 255 characters), MessageIdCommittente?

What the EC needs of the received file comes from what was received: the IdentificativoSdI and
the file's name from SDI's metadata file (MetadatiInvioFile, the received invoice's evidence)
where it came with one, else the IdentificativoSdI is the received invoice's government id and
the name is the transmitter's (IdTrasmittente + ProgressivoInvio, the naming convention); the
format, number and year from the FatturaPA itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from clearway.domain.responses import REASON_MAX_LENGTH, BuyerResponse, Decision
from clearway.formats.hardened import UnreadableDocumentError, hardened_parser
from clearway.governments.responding import ResponseImpossibleError

MESSAGGI_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/messaggi/v1.0"
ACCEPTED, REFUSED = "EC01", "EC02"
PUBLIC_ADMINISTRATION = "FPA12"


@dataclass(frozen=True)
class ReceivedFatturaPA:
    """What an EC names of the file SDI delivered."""

    identificativo: str  # SDI's IdentificativoSdI
    file_name: str  # the invoice file's name: the EC's is made from it
    format: str  # FPA12 (to a public administration) or FPR12 (B2B)
    number: str | None  # the (first) invoice's Numero
    year: str | None  # its Data's year


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _first(root: etree._Element, name: str) -> str | None:
    """The text of the first element of that local name (FatturaPA children are unqualified)."""
    for element in root.iter():
        if isinstance(element.tag, str) and _local(element) == name:
            return (element.text or "").strip() or None
    return None


def _parsed(content: bytes, what: str) -> etree._Element:
    try:
        return etree.fromstring(content, hardened_parser())
    except (etree.XMLSyntaxError, UnreadableDocumentError) as error:
        raise ResponseImpossibleError(f"the {what} is not readable XML: {error}") from error


def received_fattura(
    document: bytes, evidence: bytes | None, government_id: str
) -> ReceivedFatturaPA:
    """What the EC needs, from the received FatturaPA and SDI's metadata file (if any)."""
    root = _parsed(document, "received document")
    if _local(root) != "FatturaElettronica":
        raise ResponseImpossibleError("the received document is not a FatturaPA")
    file_format = root.get("versione") or _first(root, "FormatoTrasmissione") or ""
    identificativo, file_name = government_id, None
    if evidence is not None:
        metadata = _parsed(evidence, "SDI metadata file")
        if _local(metadata) == "MetadatiInvioFile":
            identificativo = _first(metadata, "IdentificativoSdI") or identificativo
            file_name = _first(metadata, "NomeFile")
    if file_name is None:
        country, code = _first(root, "IdPaese"), _first(root, "IdCodice")
        progressive = _first(root, "ProgressivoInvio")
        if not (country and code and progressive):
            raise ResponseImpossibleError("the received FatturaPA names no transmitter")
        file_name = f"{country}{code}_{progressive}.xml"
    date = _first(root, "Data")
    return ReceivedFatturaPA(
        identificativo=identificativo,
        file_name=file_name,
        format=file_format,
        number=_first(root, "Numero"),
        year=date[:4] if date else None,
    )


def esito_file_name(received_file_name: str) -> str:
    """The EC's file name: the received file's, without extension, then _EC_001.xml."""
    stem = received_file_name.split(".", 1)[0]
    return f"{stem}_EC_001.xml"


def esito_committente(received: ReceivedFatturaPA, response: BuyerResponse) -> bytes:
    """The Notifica di Esito Committente for the buyer's decision."""
    root = etree.Element(
        f"{{{MESSAGGI_NS}}}NotificaEsitoCommittente",
        nsmap={"types": MESSAGGI_NS},
        versione="1.0",
    )
    _leaf(root, "IdentificativoSdI", received.identificativo)
    if received.number and received.year:
        reference = etree.SubElement(root, "RiferimentoFattura")
        _leaf(reference, "NumeroFattura", received.number)
        _leaf(reference, "AnnoFattura", received.year)
    accepted = response.decision is Decision.ACCEPT
    _leaf(root, "Esito", ACCEPTED if accepted else REFUSED)
    if response.reason:
        _leaf(root, "Descrizione", response.reason.strip()[:REASON_MAX_LENGTH])
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return xml


def scarto_reason(scarto: bytes) -> str:
    """An SE in SDI's words: "SE EN01: <Note>"."""
    root = _parsed(scarto, "SDI scarto")
    code = _first(root, "Scarto") or "?"
    note = _first(root, "Note")
    return f"SE {code}: {note}" if note else f"SE {code}"


def _leaf(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text

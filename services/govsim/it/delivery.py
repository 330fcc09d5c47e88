"""The simulated SDI delivering a file to the recipient's channel: a call of the channel's
RicezioneFatture web service (SDICoop), operation RiceviFatture, as SDI makes it.

    POST <channel>   Content-Type: text/xml; charset=utf-8
                     SOAPAction: "http://www.fatturapa.it/RicezioneFatture/RiceviFatture"
    a SOAP 1.1 envelope around types:fileSdIConMetadati: IdentificativoSdI, NomeFile, File
    (the FatturaPA in base64), NomeFileMetadati and Metadati (the file dei metadati in base64:
    MetadatiInvioFile with IdentificativoSdI, NomeFile, CodiceDestinatario, Formato,
    TentativiInvio, MessageId)

The channel takes the file by answering rispostaRiceviFatture with Esito ER01; anything else
(a SOAP Fault, another status, no answer) is a failed attempt, and SDI tries again, counting
its attempts in TentativiInvio. Real SDI spreads its attempts over days before giving up (and
telling the sender, MC); here they are a few, a backoff apart (RecipientChannel.backoff), and
the control can ask for the file to be delivered again. The real transport is mutual TLS with
the channel's certificate; Clearway's receiver is reached with its network key as a bearer token
instead (the TLS terminator's stand-in).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from lxml import etree

from services.govsim.it.documents import MESSAGGI_NS
from services.govsim.untrusted_xml import UntrustedXmlError, parse_untrusted_xml

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
RICEZIONE_NS = "http://www.fatturapa.gov.it/sdi/ws/ricezione/v1.0/types"
SOAP_ACTION = '"http://www.fatturapa.it/RicezioneFatture/RiceviFatture"'
ESITO_RICEVUTA = "ER01"
ANSWER_EXCERPT = 500  # how much of the channel's answer the control reports


@dataclass(frozen=True)
class RecipientChannel:
    """Where SDI delivers the files addressed to CodiceDestinatario `code`."""

    url: str  # the channel's RicezioneFatture endpoint
    code: str
    network_key: str = field(repr=False)
    backoff: tuple[float, ...] = (0.5, 1.0)  # the waits between attempts: len + 1 attempts
    timeout: float = 30.0
    transport: httpx.AsyncBaseTransport | None = None  # a test's, in process


@dataclass
class PurchaseFile:
    """A file SDI delivers to the channel, and how its delivery went."""

    identificativo: int
    name: str
    content: bytes
    formato: str
    message_id: str
    attempts: int = 0  # TentativiInvio so far
    acknowledged: bool = False
    last_status: int | None = None
    last_answer: str = ""


def metadata_file(purchase: PurchaseFile, code: str) -> bytes:
    """The file dei metadati of this attempt (MessaggiTypes' MetadatiInvioFile)."""
    root = etree.Element(f"{{{MESSAGGI_NS}}}MetadatiInvioFile", nsmap={"types": MESSAGGI_NS})
    root.set("versione", "1.0")
    for tag, text in (
        ("IdentificativoSdI", str(purchase.identificativo)),
        ("NomeFile", purchase.name),
        ("CodiceDestinatario", code),
        ("Formato", purchase.formato),
        ("TentativiInvio", str(purchase.attempts)),
        ("MessageId", purchase.message_id),
    ):
        etree.SubElement(root, tag).text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def metadata_file_name(name: str) -> str:
    return f"{name.split('.', 1)[0]}_MT_001.xml"


def ricevi_fatture(purchase: PurchaseFile, metadata: bytes) -> bytes:
    """The RiceviFatture request: the files inline in base64, as SDICoop's WSDL allows."""
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soapenv": SOAP_NS})
    etree.SubElement(envelope, f"{{{SOAP_NS}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    call = etree.SubElement(
        body, f"{{{RICEZIONE_NS}}}fileSdIConMetadati", nsmap={"types": RICEZIONE_NS}
    )
    for tag, text in (
        ("IdentificativoSdI", str(purchase.identificativo)),
        ("NomeFile", purchase.name),
        ("File", base64.b64encode(purchase.content).decode()),
        ("NomeFileMetadati", metadata_file_name(purchase.name)),
        ("Metadati", base64.b64encode(metadata).decode()),
    ):
        etree.SubElement(call, tag).text = text
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def is_esito_ricevuta(status: int, body: bytes) -> bool:
    """Whether the channel's answer takes the file: 200 and rispostaRiceviFatture's ER01."""
    if status != httpx.codes.OK:
        return False
    try:
        envelope = parse_untrusted_xml(body)
    except UntrustedXmlError:
        return False
    answer = envelope.find(f"{{{SOAP_NS}}}Body/{{{RICEZIONE_NS}}}rispostaRiceviFatture")
    return answer is not None and (answer.findtext("Esito") or "").strip() == ESITO_RICEVUTA


async def deliver(
    channel: RecipientChannel,
    purchase: PurchaseFile,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> PurchaseFile:
    """Deliver `purchase` until the channel answers ER01 or the attempts are spent."""
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": SOAP_ACTION,
        "Authorization": f"Bearer {channel.network_key}",
    }
    async with httpx.AsyncClient(transport=channel.transport, timeout=channel.timeout) as http:
        for wait in (*channel.backoff, None):
            purchase.attempts += 1
            request = ricevi_fatture(purchase, metadata_file(purchase, channel.code))
            try:
                answer = await http.post(channel.url, content=request, headers=headers)
            except httpx.HTTPError as exc:
                purchase.last_status, purchase.last_answer = None, f"{type(exc).__name__}: {exc}"
            else:
                purchase.last_status = answer.status_code
                purchase.last_answer = answer.text[:ANSWER_EXCERPT]
                if is_esito_ricevuta(answer.status_code, answer.content):
                    purchase.acknowledged = True
                    return purchase
            if wait is not None:
                await sleep(wait)
    return purchase

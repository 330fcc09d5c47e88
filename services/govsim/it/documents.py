"""What the simulated SDI checks in a FatturaPA file, and the notification files it sends back.

The checks are those of the SDI's "controlli" that decide a notifica di scarto (NS), each with
the code and Italian description SDI uses (codes and wording as listed in public error tables,
e.g. 00001 nome file non valido, 00002 nome file duplicato, 00200 file non conforme al formato,
00305 IdCodice del cessionario non valido, 00311 CodiceDestinatario non valido, 00404 fattura
duplicata, 00426/00427/00428 on CodiceDestinatario, PECDestinatario and FormatoTrasmissione).
No FatturaPA XSD ships with Clearway's dependencies, so the format check (00200) covers the
structure the later checks read, not the whole schema.

Notifications follow MessaggiTypes v1.1: a root element in the messages namespace with
versione="1.0" and unqualified children (IdentificativoSdI, NomeFile, DataOraRicezione, ...).
The namespace varies among public sources (http://www.fatturapa.gov.it/sdi/messaggi/v1.0 in the
2015 bindings, the ivaservizi one below in recent client fixtures): UNCONFIRMED which one SDI
sends today. Notification files are named <file name without extension>_<TIPO>_<NNN>.xml.
Real notifications carry SDI's XAdES signature; these carry none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from lxml import etree

from services.govsim.untrusted_xml import UntrustedXmlError, child_text, parse_untrusted_xml

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

FATTURA_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
MESSAGGI_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/messaggi/v1.0"

# IT + the transmitter's code (Partita IVA or codice fiscale) + "_" + 5 alphanumerics.
FILE_NAME = re.compile(
    r"(?P<country>[A-Z]{2})(?P<code>[A-Za-z0-9]{1,28})_(?P<prog>[A-Za-z0-9]{5})\.(?P<ext>xml|xml\.p7m)"
)
B2B_CODE = re.compile(r"[A-Z0-9]{7}")
PA_CODE = re.compile(r"[A-Z0-9]{6}")
NO_CHANNEL = "0000000"  # the buyer has no channel: PEC, or the buyer's reserved area
FOREIGN_BUYER = "XXXXXXX"
FORMATS = frozenset({"FPA12", "FPR12"})


@dataclass(frozen=True)
class Errore:
    codice: str
    descrizione: str


NOME_FILE_NON_VALIDO = Errore("00001", "Nome file non valido")
NOME_FILE_DUPLICATO = Errore("00002", "Nome file duplicato")
FILE_NON_INTEGRO = Errore("00102", "File non integro (firma non valida)")
FATTURA_DUPLICATA = Errore("00404", "Fattura duplicata")


def formato_non_conforme(detail: str) -> Errore:
    return Errore("00200", f"File non conforme al formato: {detail}"[:255])


@dataclass(frozen=True)
class InvoiceKey:
    """What makes two invoices the same invoice: seller, document type, number and date."""

    seller: str
    document_type: str
    number: str
    issued: str


@dataclass(frozen=True)
class Transmission:
    """What SDI reads from a file that passed its checks."""

    format: str  # FPR12 (B2B) or FPA12 (public administration)
    recipient_code: str  # CodiceDestinatario
    recipient_pec: str  # PECDestinatario, "" when absent
    invoices: tuple[InvoiceKey, ...]

    @property
    def to_public_administration(self) -> bool:
        return self.format == "FPA12"


@dataclass(frozen=True)
class FileCheck:
    errors: tuple[Errore, ...]
    transmission: Transmission | None


def check_file_name(name: str) -> Errore | None:
    return None if FILE_NAME.fullmatch(name) else NOME_FILE_NON_VALIDO


def check_file(name: str, content: bytes) -> FileCheck:
    """Every check short of duplicates, which need the system's memory."""
    if name.endswith(".p7m"):
        # CAdES envelopes are not unpacked: the simulator cannot verify SDI's signature checks.
        return FileCheck((FILE_NON_INTEGRO,), None)
    try:
        root = parse_untrusted_xml(content)
    except UntrustedXmlError as error:
        return FileCheck((formato_non_conforme(error.message),), None)
    if etree.QName(root) != etree.QName(FATTURA_NS, "FatturaElettronica"):
        return FileCheck(
            (formato_non_conforme("elemento radice non FatturaElettronica v1.2"),), None
        )
    errors = list(_structure_errors(root))
    if errors:
        return FileCheck(tuple(errors), None)
    errors = list(_content_errors(root))
    transmission = Transmission(
        format=root.get("versione", ""),
        recipient_code=_text(root, "FatturaElettronicaHeader/DatiTrasmissione/CodiceDestinatario"),
        recipient_pec=_text(root, "FatturaElettronicaHeader/DatiTrasmissione/PECDestinatario"),
        invoices=tuple(_invoice_keys(root)),
    )
    return FileCheck(tuple(errors), None if errors else transmission)


_REQUIRED = (
    "FatturaElettronicaHeader/DatiTrasmissione/IdTrasmittente/IdPaese",
    "FatturaElettronicaHeader/DatiTrasmissione/IdTrasmittente/IdCodice",
    "FatturaElettronicaHeader/DatiTrasmissione/ProgressivoInvio",
    "FatturaElettronicaHeader/DatiTrasmissione/FormatoTrasmissione",
    "FatturaElettronicaHeader/DatiTrasmissione/CodiceDestinatario",
    "FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/IdPaese",
    "FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/IdCodice",
    "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/TipoDocumento",
    "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Data",
    "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Numero",
)


def _structure_errors(root: etree._Element) -> Iterator[Errore]:
    if root.get("versione") not in FORMATS:
        yield formato_non_conforme("attributo versione diverso da FPA12 e FPR12")
        return
    for path in _REQUIRED:
        if not _text(root, path):
            yield formato_non_conforme(f"elemento {path.rsplit('/', 1)[-1]} mancante")
            return
    for issued in root.iterfind("FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Data"):
        try:
            date.fromisoformat((issued.text or "").strip())
        except ValueError:
            yield formato_non_conforme("Data non valida")
            return
    if root.find("FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici") is None:
        yield formato_non_conforme("elemento CessionarioCommittente mancante")


def _content_errors(root: etree._Element) -> Iterator[Errore]:
    header = "FatturaElettronicaHeader/"
    formato = _text(root, header + "DatiTrasmissione/FormatoTrasmissione")
    versione = root.get("versione", "")
    code = _text(root, header + "DatiTrasmissione/CodiceDestinatario")
    pec = _text(root, header + "DatiTrasmissione/PECDestinatario")
    if formato not in FORMATS or formato != versione:
        yield Errore(
            "00428",
            "1.1.3 <FormatoTrasmissione> non coerente con il valore dell'attributo versione",
        )
    pattern = PA_CODE if versione == "FPA12" else B2B_CODE
    if len(code) == (7 if versione == "FPA12" else 6):
        yield Errore(
            "00427",
            "1.1.4 <CodiceDestinatario> di 7 caratteri a fronte di 1.1.3 <FormatoTrasmissione> "
            "con valore FPA12 o di 6 caratteri a fronte di FPR12",
        )
    elif not pattern.fullmatch(code):
        yield Errore("00311", "1.1.4 <CodiceDestinatario> non valido")
    if pec and code != NO_CHANNEL:
        # UNCONFIRMED whether SDI still refuses a PEC next to a code; the published text says so.
        yield Errore(
            "00426",
            "1.1.6 <PECDestinatario> valorizzato a fronte di 1.1.4 <CodiceDestinatario> "
            "con valore diverso da 0000000",
        )
    seller = header + "CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/"
    if _text(root, seller + "IdPaese") == "IT" and not is_partita_iva(
        _text(root, seller + "IdCodice")
    ):
        yield Errore("00301", "1.2.1.1.2 <IdCodice> non valido")
    buyer = header + "CessionarioCommittente/DatiAnagrafici/"
    buyer_vat, buyer_cf = (
        _text(root, buyer + "IdFiscaleIVA/IdCodice"),
        _text(root, buyer + "CodiceFiscale"),
    )
    if not buyer_vat and not buyer_cf:
        yield Errore(
            "00417",
            "1.4.1.1 <IdFiscaleIVA> e 1.4.1.2 <CodiceFiscale> non valorizzati "
            "(almeno uno dei due deve essere valorizzato)",
        )
    if (
        buyer_vat
        and _text(root, buyer + "IdFiscaleIVA/IdPaese") == "IT"
        and not is_partita_iva(buyer_vat)
    ):
        yield Errore("00305", "1.4.1.1.2 <IdCodice> non valido")


def _invoice_keys(root: etree._Element) -> Iterator[InvoiceKey]:
    seller = "FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/"
    seller_id = _text(root, seller + "IdPaese") + _text(root, seller + "IdCodice")
    for body in root.iterfind("FatturaElettronicaBody"):
        document = "DatiGenerali/DatiGeneraliDocumento/"
        yield InvoiceKey(
            seller=seller_id,
            document_type=_text(body, document + "TipoDocumento"),
            number=_text(body, document + "Numero"),
            issued=_text(body, document + "Data"),
        )


def is_partita_iva(value: str) -> bool:
    """Eleven digits whose last is the Luhn-style check digit of the first ten."""
    if not re.fullmatch(r"\d{11}", value):
        return False
    digits = [int(character) for character in value]
    total = sum(digits[index] for index in range(0, 10, 2))
    for index in range(1, 10, 2):
        doubled = digits[index] * 2
        total += doubled - 9 if doubled > 9 else doubled
    return (10 - total % 10) % 10 == digits[10]


def _text(element: etree._Element, path: str) -> str:
    return child_text(element, path, {})


# --- notification files --------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationHeader:
    """What every notification about a file repeats."""

    identificativo_sdi: int
    nome_file: str
    data_ora_ricezione: str
    message_id: str


def notification_xml(
    root_name: str, header: NotificationHeader, fields: Sequence[etree._Element]
) -> bytes:
    root = etree.Element(f"{{{MESSAGGI_NS}}}{root_name}", nsmap={"types": MESSAGGI_NS})
    root.set("versione", "1.0")
    _leaf(root, "IdentificativoSdI", str(header.identificativo_sdi))
    _leaf(root, "NomeFile", header.nome_file)
    for element in fields:
        root.append(element)
    _leaf(root, "MessageId", header.message_id)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def leaf(tag: str, text: str) -> etree._Element:
    element = etree.Element(tag)
    element.text = text
    return element


def error_list(errors: Sequence[Errore]) -> etree._Element:
    errors_element = etree.Element("ListaErrori")
    for error in errors:
        item = etree.SubElement(errors_element, "Errore")
        _leaf(item, "Codice", error.codice)
        _leaf(item, "Descrizione", error.descrizione)
    return errors_element


def recipient(code: str, description: str) -> etree._Element:
    element = etree.Element("Destinatario")
    _leaf(element, "Codice", code)
    _leaf(element, "Descrizione", description)
    return element


def committente_esito(
    identificativo_sdi: int, invoice: InvoiceKey | None, esito: str, descrizione: str
) -> etree._Element:
    element = etree.Element("EsitoCommittente")
    _leaf(element, "IdentificativoSdI", str(identificativo_sdi))
    if invoice is not None:
        element.append(invoice_reference(invoice))
    _leaf(element, "Esito", esito)
    if descrizione:
        _leaf(element, "Descrizione", descrizione)
    return element


def invoice_reference(invoice: InvoiceKey) -> etree._Element:
    element = etree.Element("RiferimentoFattura")
    _leaf(element, "NumeroFattura", invoice.number)
    _leaf(element, "AnnoFattura", invoice.issued[:4])
    return element


def _leaf(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text

"""JSON invoice -> FatturaPA 1.2.x (FatturaElettronica), the Italian SDI format.

Pure: no I/O. Built with lxml, elements in the schema's order (its content models are sequences,
so order is validity). In FatturaPA only the root element is in the namespace; every other element
is unqualified, as the schema (elementFormDefault unqualified) and the SDI's own examples have it.

Transmission format (versione, mirrored in FormatoTrasmissione) and recipient code:
- a foreign buyer (VAT prefix or address outside Italy): FPR12, CodiceDestinatario XXXXXXX;
- customer.sdiCode of 6 characters (an IPA office code): FPA12, public administration;
- customer.sdiCode of 7 characters: FPR12;
- no sdiCode: FPR12 with CodiceDestinatario 0000000, and PECDestinatario when the buyer has a PEC.

Amounts: 2 decimals (ImponibileImporto, Imposta, totals), rates as 22.00, unit prices and
quantities with 2 to 8 decimals. DatiRiepilogo has one block per (AliquotaIVA, Natura,
RiferimentoNormativo), VAT computed on the block's taxable amount, as the SDI checks it.

A 0% line carries its Natura: the line's natura, else derived from an unambiguous VAT category
(K -> N3.2 intra-Community supply, G -> N3.1 export, E -> N4 exempt). Without either, no Natura
is written and the gate reports SDI 00400.

Not rendered: split payment (EsigibilitaIVA S), withholding tax, stamp duty, welfare funds,
document-level discounts, contacts, and the seller's fiscal regime other than RF01 (ordinary).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree

from clearway.domain.invoice import (
    CENT,
    InvoiceRequest,
    InvoiceType,
    VatCategory,
    compute_totals,
    line_net_amount,
    money_str,
    round_money,
)

if TYPE_CHECKING:
    import datetime as dt

    from clearway.domain.invoice import Address, Attachment, Line, Party, PaymentMeans

NS_FATTURAPA = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
FORMAT_PUBLIC_ADMINISTRATION = "FPA12"
FORMAT_PRIVATE = "FPR12"
CODE_NO_CHANNEL = "0000000"  # no SDI channel: PEC, or the buyer's area at the Agenzia
CODE_FOREIGN_BUYER = "XXXXXXX"
PA_CODE_LENGTH = 6
DEFAULT_FISCAL_REGIME = "RF01"  # ordinary regime
FOREIGN_POSTAL_CODE = "00000"  # CAP is 5 digits; the SDI asks 00000 for addresses abroad
VAT_DUE_IMMEDIATELY = "I"  # EsigibilitaIVA: immediate (D deferred, S split payment)
PAYMENT_IN_FULL = "TP02"
PAYMENT_BANK_TRANSFER = "MP05"
DISCOUNT = "SC"
SURCHARGE = "MG"
SELLER_ITEM_CODE_TYPE = "Codice Art. fornitore"
CAUSALE_LENGTH = 200
ATTACHMENT_NAME_LENGTH = 60
_LATIN_1_MAX = 0xFF

_DOCUMENT_TYPE = {
    InvoiceType.INVOICE: "TD01",
    InvoiceType.CREDIT_NOTE: "TD04",
    InvoiceType.DEBIT_NOTE: "TD05",
}
_NATURA_BY_CATEGORY = {
    VatCategory.INTRA_COMMUNITY: "N3.2",
    VatCategory.EXPORT: "N3.1",
    VatCategory.EXEMPT: "N4",
}
# UnitaMisura is free text: the common UN/ECE codes get the Italian abbreviation.
UNIT_NAMES = {
    "C62": "NR",
    "H87": "PZ",
    "EA": "PZ",
    "HUR": "ORE",
    "DAY": "GG",
    "MON": "MESI",
    "KGM": "KG",
    "MTR": "M",
    "LTR": "L",
    "MTK": "M2",
    "KWH": "KWH",
}
# FormatoAttachment for each MIME type the API accepts (ATTACHMENT_MIME_TYPES).
ATTACHMENT_FORMATS = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPG",
    "text/csv": "CSV",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
}
_PROGRESSIVO = re.compile(r"^[A-Za-z0-9]{1,5}$")
_ITALIAN_POSTAL_CODE = re.compile(r"^[0-9]{5}$")
_PROVINCE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Recipient:
    """How the SDI reaches the buyer: the format (versione), the code and, maybe, a PEC."""

    format: str
    code: str
    pec: str | None


@dataclass(frozen=True, slots=True)
class _Summary:
    rate: Decimal
    natura: str | None
    legal_reference: str | None


def render_fatturapa(invoice: InvoiceRequest, *, invoice_number: str, progressivo: str) -> bytes:
    """The FatturaPA document for the SDI, as UTF-8 bytes with an XML declaration.

    progressivo is the transmission's ProgressivoInvio (and the file name's suffix).
    """
    recipient = sdi_recipient(invoice.customer)
    root = etree.Element(
        etree.QName(NS_FATTURAPA, "FatturaElettronica"),
        {"versione": recipient.format},
        nsmap={"p": NS_FATTURAPA},
    )
    header = etree.SubElement(root, "FatturaElettronicaHeader")
    _transmission(header, invoice.supplier, progressivo, recipient)
    _seller(header, invoice.supplier)
    _buyer(header, invoice.customer)

    body = etree.SubElement(root, "FatturaElettronicaBody")
    _general(body, invoice, invoice_number)
    _goods_and_services(body, invoice.lines)
    if invoice.payment_means is not None:
        _payment(body, invoice, invoice.payment_means)
    for attachment in invoice.attachments:
        _attachment(body, attachment)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sdi_recipient(customer: Party) -> Recipient:
    """FPA12 for a 6-character IPA code; FPR12 otherwise, with the code the SDI routes by."""
    if _country_of(customer) != "IT":
        return Recipient(FORMAT_PRIVATE, CODE_FOREIGN_BUYER, None)
    code = (customer.sdi_code or "").strip().upper()
    if len(code) == PA_CODE_LENGTH:
        return Recipient(FORMAT_PUBLIC_ADMINISTRATION, code, None)
    if code and code != CODE_NO_CHANNEL:
        return Recipient(FORMAT_PRIVATE, code, None)
    return Recipient(FORMAT_PRIVATE, CODE_NO_CHANNEL, customer.pec)


def fatturapa_filename(supplier_vat: str, progressivo: str) -> str:
    """IT01234567890_00001.xml: the transmitter's id and a 5-character progressive."""
    if not _PROGRESSIVO.match(progressivo):
        raise ValueError(f"progressivo must be 1 to 5 letters or digits, not {progressivo!r}")
    country, code = _fiscal_id(supplier_vat, "IT")
    return f"{country}{code}_{progressivo.upper().rjust(5, '0')}.xml"


def _transmission(
    header: etree._Element, supplier: Party, progressivo: str, recipient: Recipient
) -> None:
    transmission = _el(header, "DatiTrasmissione")
    _id_fiscale(_el(transmission, "IdTrasmittente"), supplier.vat_number, "IT")
    _el(transmission, "ProgressivoInvio", progressivo)
    _el(transmission, "FormatoTrasmissione", recipient.format)
    _el(transmission, "CodiceDestinatario", recipient.code)
    if recipient.pec:
        _el(transmission, "PECDestinatario", recipient.pec)


def _seller(header: etree._Element, supplier: Party) -> None:
    seller = _el(header, "CedentePrestatore")
    personal = _el(seller, "DatiAnagrafici")
    _id_fiscale(_el(personal, "IdFiscaleIVA"), supplier.vat_number, "IT")
    if supplier.fiscal_code:
        _el(personal, "CodiceFiscale", supplier.fiscal_code.upper())
    _el(_el(personal, "Anagrafica"), "Denominazione", supplier.name)
    _el(personal, "RegimeFiscale", DEFAULT_FISCAL_REGIME)
    if supplier.address is not None:
        _sede(seller, supplier.address)


def _buyer(header: etree._Element, customer: Party) -> None:
    buyer = _el(header, "CessionarioCommittente")
    personal = _el(buyer, "DatiAnagrafici")
    _id_fiscale(_el(personal, "IdFiscaleIVA"), customer.vat_number, _country_of(customer))
    if customer.fiscal_code:
        _el(personal, "CodiceFiscale", customer.fiscal_code.upper())
    _el(_el(personal, "Anagrafica"), "Denominazione", customer.name)
    if customer.address is not None:
        _sede(buyer, customer.address)


def _sede(parent: etree._Element, address: Address) -> None:
    sede = _el(parent, "Sede")
    if address.street:
        _el(sede, "Indirizzo", address.street)
    postal_code = address.postal_code or ""
    if address.country != "IT" and not _ITALIAN_POSTAL_CODE.match(postal_code):
        postal_code = FOREIGN_POSTAL_CODE
    if postal_code:
        _el(sede, "CAP", postal_code)
    if address.city:
        _el(sede, "Comune", address.city)
    province = (address.state_or_province or "").upper()
    if address.country == "IT" and _PROVINCE.match(province):
        _el(sede, "Provincia", province)
    _el(sede, "Nazione", address.country)


def _general(body: etree._Element, invoice: InvoiceRequest, invoice_number: str) -> None:
    general = _el(body, "DatiGenerali")
    document = _el(general, "DatiGeneraliDocumento")
    _el(document, "TipoDocumento", _DOCUMENT_TYPE[invoice.invoice_type])
    _el(document, "Divisa", invoice.currency)
    _el(document, "Data", invoice.issue_date.isoformat())
    _el(document, "Numero", invoice_number)
    _el(document, "ImportoTotaleDocumento", money_str(compute_totals(invoice.lines).gross_amount))
    note = invoice.note or ""
    for start in range(0, len(note), CAUSALE_LENGTH):
        _el(document, "Causale", note[start : start + CAUSALE_LENGTH])
    if invoice.purchase_order_reference:
        _el(_el(general, "DatiOrdineAcquisto"), "IdDocumento", invoice.purchase_order_reference)
    preceding = invoice.preceding_invoice
    if preceding is not None and invoice.invoice_type is not InvoiceType.INVOICE:
        linked = _el(general, "DatiFattureCollegate")
        _el(linked, "IdDocumento", preceding.number)
        if preceding.issue_date is not None:
            _el(linked, "Data", preceding.issue_date.isoformat())


def _goods_and_services(body: etree._Element, lines: list[Line]) -> None:
    goods = _el(body, "DatiBeniServizi")
    taxable: dict[_Summary, Decimal] = {}
    for number, line in enumerate(lines, start=1):
        natura = _natura(line)
        _line(goods, number, line, natura)
        reference = (
            (line.vat_exemption_reason or line.vat_exemption_reason_code) if natura else None
        )
        key = _Summary(line.vat_rate, natura, reference)
        taxable[key] = taxable.get(key, Decimal(0)) + line_net_amount(line)
    ordered = sorted(taxable.items(), key=lambda item: (-item[0].rate, item[0].natura or ""))
    for summary, amount in ordered:
        block = _el(goods, "DatiRiepilogo")
        _el(block, "AliquotaIVA", _rate(summary.rate))
        if summary.natura:
            _el(block, "Natura", summary.natura)
        _el(block, "ImponibileImporto", money_str(amount))
        _el(block, "Imposta", money_str(round_money(amount * summary.rate / Decimal(100))))
        _el(block, "EsigibilitaIVA", VAT_DUE_IMMEDIATELY)
        if summary.legal_reference:
            _el(block, "RiferimentoNormativo", summary.legal_reference)


def _line(goods: etree._Element, number: int, line: Line, natura: str | None) -> None:
    row = _el(goods, "DettaglioLinee")
    _el(row, "NumeroLinea", str(number))
    if line.item_code:
        article = _el(row, "CodiceArticolo")
        _el(article, "CodiceTipo", SELLER_ITEM_CODE_TYPE)
        _el(article, "CodiceValore", line.item_code)
    _el(row, "Descrizione", line.description)
    # Quantita cannot be negative: a negative line (a return) moves its sign to the price, and
    # its per-unit discount then raises the (negative) price: a maggiorazione.
    sign = Decimal(-1) if line.quantity < 0 else Decimal(1)
    _el(row, "Quantita", _fine(line.quantity * sign))
    _el(row, "UnitaMisura", UNIT_NAMES.get(line.unit_code, line.unit_code))
    _el(row, "PrezzoUnitario", _fine(line.unit_price * sign))
    if line.discount:
        # Per unit: PrezzoTotale = Quantita x (PrezzoUnitario - sconto, or + maggiorazione).
        adjustment = _el(row, "ScontoMaggiorazione")
        _el(adjustment, "Tipo", DISCOUNT if sign > 0 else SURCHARGE)
        _el(adjustment, "Importo", _fine(line.discount))
    _el(row, "PrezzoTotale", money_str(line_net_amount(line)))
    _el(row, "AliquotaIVA", _rate(line.vat_rate))
    if natura:
        _el(row, "Natura", natura)


def _natura(line: Line) -> str | None:
    if line.vat_rate != 0:
        return None
    if line.natura:
        return line.natura
    category = line.effective_vat_category
    return _NATURA_BY_CATEGORY.get(category) if category is not None else None


def _payment(body: etree._Element, invoice: InvoiceRequest, payment: PaymentMeans) -> None:
    element = _el(body, "DatiPagamento")
    _el(element, "CondizioniPagamento", PAYMENT_IN_FULL)
    detail = _el(element, "DettaglioPagamento")
    _el(detail, "ModalitaPagamento", PAYMENT_BANK_TRANSFER)
    due_date: dt.date | None = invoice.due_date or payment.due_date
    if due_date is not None:
        _el(detail, "DataScadenzaPagamento", due_date.isoformat())
    _el(detail, "ImportoPagamento", money_str(compute_totals(invoice.lines).gross_amount))
    if payment.bank_account:
        _el(detail, "IBAN", "".join(payment.bank_account.split()))  # IBANs are often spaced
    if payment.bic:
        _el(detail, "BIC", payment.bic)


def _attachment(body: etree._Element, attachment: Attachment) -> None:
    element = _el(body, "Allegati")
    _el(element, "NomeAttachment", _attachment_name(attachment.filename))
    _el(element, "FormatoAttachment", ATTACHMENT_FORMATS[attachment.mime_type])
    _el(element, "Attachment", attachment.content)


def _attachment_name(filename: str) -> str:
    """NomeAttachment is at most 60 Latin-1 characters: a longer name keeps its extension."""
    latin = "".join(char if ord(char) <= _LATIN_1_MAX else "_" for char in filename)
    if len(latin) <= ATTACHMENT_NAME_LENGTH:
        return latin
    stem, dot, extension = latin.rpartition(".")
    if not dot or len(extension) >= ATTACHMENT_NAME_LENGTH:
        return latin[:ATTACHMENT_NAME_LENGTH]
    return stem[: ATTACHMENT_NAME_LENGTH - len(extension) - 1] + dot + extension


def _id_fiscale(parent: etree._Element, vat_number: str, default_country: str) -> None:
    country, code = _fiscal_id(vat_number, default_country)
    _el(parent, "IdPaese", country)
    _el(parent, "IdCodice", code)


def _fiscal_id(vat_number: str, default_country: str) -> tuple[str, str]:
    """IT01234567890 -> ("IT", "01234567890"); 01234567890 -> (default_country, ...)."""
    compact = "".join(char for char in vat_number if char.isalnum()).upper()
    if len(compact) > 2 and compact[:2].isalpha():
        return compact[:2], compact[2:]
    return default_country, compact


def _country_of(party: Party) -> str:
    """The party's country: its VAT prefix, else its address's country, else Italy."""
    return _fiscal_id(party.vat_number, party.address.country if party.address else "IT")[0]


def _rate(rate: Decimal) -> str:
    """RateType: 22 -> "22.00"."""
    return str(rate.quantize(CENT))


def _fine(value: Decimal) -> str:
    """2 to 8 decimals (Amount8DecimalType, QuantitaType): 5 -> "5.00", 0.125 -> "0.125"."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return str(value.quantize(CENT))
    return format(normalized, "f")


def _el(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, name)
    if text is not None:
        element.text = latin_1(text)
    return element


# Letters NFKD does not take apart into a base letter and a mark.
_LATIN_1_FALLBACK = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "\u0131": "i"})


def latin_1(text: str) -> str:
    """FatturaPA text is Latin-1 only: a foreign party's name or street (Gdańsk, București)
    is written with the diacritics SDI cannot take removed, as Italian practice does."""
    if all(ord(char) <= _LATIN_1_MAX for char in text):
        return text
    folded = []
    for char in text.translate(_LATIN_1_FALLBACK):
        if ord(char) <= _LATIN_1_MAX:
            folded.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        folded.append(base if base and all(ord(c) <= _LATIN_1_MAX for c in base) else "?")
    return "".join(folded)

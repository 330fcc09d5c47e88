"""A FatturaPA document read back into the request: document.py reversed.

Pure: no I/O; parsed only by clearway.formats.hardened. Only the root element is in the FatturaPA
namespace, as the schema has it. Read from any sender, as the SDI delivers it:
- Parties: the VAT number is IdPaese + IdCodice (a buyer without one, a private person, is known
  by its CodiceFiscale); the name is Denominazione, or Nome and Cognome; the Sede is the address,
  where a foreign address's CAP 00000 (the SDI's stand-in) is no post code. The buyer's sdiCode is
  CodiceDestinatario (XXXXXXX, a foreign buyer's, is none), its pec PECDestinatario.
- Lines: UnitaMisura's Italian abbreviations are the UN/ECE codes document.py maps them from (PZ
  is H87); a discount (SC) or surcharge (MG) per unit, given as an amount or as a percentage of
  the unit price, is the line's discount (a surcharge a negative one). The VAT category follows
  from the rate and the Natura (NATURA_CATEGORIES); the exemption reason is the
  RiferimentoNormativo of the line's summary (same rate and Natura), when there is exactly one.
- The note is the Causale pieces, joined; the due date and the payee account are DatiPagamento's.
- The stated totals: ImportoTotaleDocumento, ImportoPagamento, DatiRiepilogo, each PrezzoTotale.

A signed file (.xml.p7m, CAdES) is read for the FatturaPA it signs (signed.py).

A file with several invoices (a "lotto", several FatturaElettronicaBody) is refused: the request
holds one invoice.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

from lxml import etree

from clearway.domain.invoice import MONEY_CONTEXT, InvoiceType, VatCategory
from clearway.formats import PDF
from clearway.formats.hardened import UnreadableDocumentError
from clearway.formats.pdf_reader import is_pdf
from clearway.formats.reading import (
    CLEARWAY_ONLY,
    Fields,
    ReadInvoice,
    StatedTotals,
    StatedVat,
    build_request,
    iso_date,
    joined,
    parse_root,
    party_fields,
)
from clearway.governments.it.document import (
    ATTACHMENT_FORMATS,
    CODE_FOREIGN_BUYER,
    DISCOUNT,
    FOREIGN_POSTAL_CODE,
    NS_FATTURAPA,
    SURCHARGE,
    UNIT_NAMES,
)
from clearway.governments.it.signed import P7M, is_p7m, signed_content

if TYPE_CHECKING:
    from collections.abc import Mapping

FORMAT_NAME = "FATTURAPA"
ROOT = etree.QName(NS_FATTURAPA, "FatturaElettronica")

# What FatturaPA has no place for (document.py: "Not rendered"): contacts and network ids, the
# trade register, the buyer reference, payment terms as text (CondizioniPagamento is a code),
# the exchange rate; the supplier's own SDI code and PEC (only the recipient's travel); the
# exemption reason code, which shares RiferimentoNormativo with the reason text.
NOT_CARRIED: frozenset[str] = (
    CLEARWAY_ONLY
    | {
        "exchangeRate",
        "buyerReference",
        "paymentMeans.paymentTerms",
        "lines[].vatExemptionReasonCode",
        "supplier.sdiCode",
        "supplier.pec",
    }
    | party_fields("email", "phone", "peppolId", "siret", "leitwegId", "tradeRegister")
)

# The UNCL 5305 category of a 0% line's Natura (FatturaPA 2.2.1.14).
NATURA_CATEGORIES: dict[str, VatCategory] = {
    "N1": VatCategory.OUTSIDE_SCOPE,  # escluse ex art. 15
    "N2.1": VatCategory.OUTSIDE_SCOPE,  # non soggette
    "N2.2": VatCategory.OUTSIDE_SCOPE,
    "N3.1": VatCategory.EXPORT,  # non imponibili: esportazioni
    "N3.2": VatCategory.INTRA_COMMUNITY,  # cessioni intracomunitarie
    "N3.3": VatCategory.ZERO_RATED,  # other non imponibili
    "N3.4": VatCategory.ZERO_RATED,
    "N3.5": VatCategory.ZERO_RATED,
    "N3.6": VatCategory.ZERO_RATED,
    "N4": VatCategory.EXEMPT,  # esenti
    "N5": VatCategory.EXEMPT,  # regime del margine
    **{f"N6.{n}": VatCategory.REVERSE_CHARGE for n in range(1, 10)},  # inversione contabile
    "N7": VatCategory.OUTSIDE_SCOPE,  # IVA assolta in altro stato UE
}
_DOCUMENT_TYPES = {"TD04": InvoiceType.CREDIT_NOTE, "TD05": InvoiceType.DEBIT_NOTE}
# UnitaMisura -> the UN/ECE code document.py writes it for (PZ stands for H87 and EA alike).
UNIT_CODES: dict[str, str] = {name: code for code, name in reversed(UNIT_NAMES.items())}
_MIME_TYPES = {name: mime for mime, name in ATTACHMENT_FORMATS.items()}
_UNIT_CODE = re.compile(r"^[A-Z0-9]{1,3}$")
FPA = Fields({})


def read_document(content: bytes, media_type: str) -> ReadInvoice:
    if media_type == PDF or is_pdf(content):
        raise UnreadableDocumentError("A PDF is not an e-invoice format IT takes.")
    if media_type == P7M or is_p7m(content):  # a signed file (.xml.p7m): read what it signs
        content = signed_content(content)
    root = parse_root(content)
    if etree.QName(root) != ROOT:
        raise UnreadableDocumentError(
            f"The root element is {root.tag}, not a FatturaPA FatturaElettronica."
        )
    header = FPA.element(root, "FatturaElettronicaHeader", "header")
    bodies = FPA.all(root, "FatturaElettronicaBody")
    if len(bodies) != 1:
        raise UnreadableDocumentError(
            f"The file holds {len(bodies)} invoices (FatturaElettronicaBody); one is read."
        )
    body = bodies[0]
    general = FPA.element(body, "DatiGenerali/DatiGeneraliDocumento", "DatiGeneraliDocumento")
    goods = FPA.element(body, "DatiBeniServizi", "DatiBeniServizi")
    left_out: list[str] = []
    document_type = FPA.required(general, "TipoDocumento", "TipoDocumento")
    if document_type not in {"TD01", *_DOCUMENT_TYPES}:
        left_out.append(f"TipoDocumento {document_type}, read as an invoice.")
    summaries = FPA.all(goods, "DatiRiepilogo")
    lines = FPA.all(goods, "DettaglioLinee")
    if not lines:
        raise UnreadableDocumentError("The document has no line (DettaglioLinee).")
    payment = FPA.find(body, "DatiPagamento/DettaglioPagamento")
    fields: dict[str, Any] = {
        "country": "IT",
        "invoice_type": _DOCUMENT_TYPES.get(document_type, InvoiceType.INVOICE),
        "invoice_number": FPA.required(general, "Numero", "Numero"),
        "supplier": _party(header, "CedentePrestatore", "seller"),
        "customer": _buyer(header),
        "lines": [_line(line, _references(summaries)) for line in lines],
        "currency": FPA.required(general, "Divisa", "Divisa"),
        "issue_date": iso_date(FPA.required(general, "Data", "Data"), "Data"),
        "due_date": FPA.date(payment, "DataScadenzaPagamento"),
        "note": joined(FPA.texts(general, "Causale")),
        "payment_means": (
            {"bank_account": FPA.text(payment, "IBAN"), "bic": FPA.text(payment, "BIC")}
            if FPA.find(body, "DatiPagamento") is not None
            else None
        ),
        "attachments": _attachments(body, left_out),
        "purchase_order_reference": FPA.text(body, "DatiGenerali/DatiOrdineAcquisto/IdDocumento"),
        "preceding_invoice": _preceding(body),
    }
    return ReadInvoice(
        format_name=FORMAT_NAME,
        request=build_request(fields),
        stated=_stated(general, payment, summaries, lines),
        not_carried=NOT_CARRIED,
        left_out=tuple(left_out),
    )


def _party(header: etree._Element, role: str, term: str) -> dict[str, Any]:
    party = FPA.element(header, role, f"{term} ({role})")
    personal = FPA.element(party, "DatiAnagrafici", f"{term} DatiAnagrafici")
    country = FPA.text(personal, "IdFiscaleIVA/IdPaese")
    code = FPA.text(personal, "IdFiscaleIVA/IdCodice")
    fiscal_code = FPA.text(personal, "CodiceFiscale")
    vat_number = f"{country or ''}{code}" if code else fiscal_code
    if vat_number is None:
        raise UnreadableDocumentError(f"The {term} has no IdFiscaleIVA and no CodiceFiscale.")
    name = FPA.text(personal, "Anagrafica/Denominazione") or " ".join(
        part
        for part in FPA.texts(personal, "Anagrafica/Nome")
        + FPA.texts(personal, "Anagrafica/Cognome")
    )
    return {
        "vat_number": vat_number,
        "fiscal_code": fiscal_code,
        "name": name or None,
        "address": _address(FPA.find(party, "Sede")),
    }


def _buyer(header: etree._Element) -> dict[str, Any]:
    buyer = _party(header, "CessionarioCommittente", "buyer")
    code = FPA.text(header, "DatiTrasmissione/CodiceDestinatario")
    buyer["sdi_code"] = code if code != CODE_FOREIGN_BUYER else None
    buyer["pec"] = FPA.text(header, "DatiTrasmissione/PECDestinatario")
    return buyer


def _address(sede: etree._Element | None) -> dict[str, Any] | None:
    if sede is None:
        return None
    country = FPA.text(sede, "Nazione")
    postal_code = FPA.text(sede, "CAP")
    if country != "IT" and postal_code == FOREIGN_POSTAL_CODE:
        postal_code = None  # the SDI's stand-in for a foreign post code
    return {
        "street": FPA.text(sede, "Indirizzo"),
        "postal_code": postal_code,
        "city": FPA.text(sede, "Comune"),
        "state_or_province": FPA.text(sede, "Provincia"),
        "country": country,
    }


def _references(summaries: list[etree._Element]) -> dict[tuple[Decimal, str], str | None]:
    """The RiferimentoNormativo of each (rate, Natura), when the summaries give it one value."""
    seen: dict[tuple[Decimal, str], set[str | None]] = {}
    for summary in summaries:
        natura = FPA.text(summary, "Natura")
        rate = FPA.decimal(summary, "AliquotaIVA")
        if natura is not None and rate is not None:
            seen.setdefault((rate, natura), set()).add(FPA.text(summary, "RiferimentoNormativo"))
    return {key: next(iter(values)) for key, values in seen.items() if len(values) == 1}


def _line(
    line: etree._Element, references: Mapping[tuple[Decimal, str], str | None]
) -> dict[str, Any]:
    number = FPA.text(line, "NumeroLinea") or "?"
    rate = FPA.required_decimal(line, "AliquotaIVA", f"line {number} AliquotaIVA")
    price = FPA.required_decimal(line, "PrezzoUnitario", f"line {number} PrezzoUnitario")
    natura = FPA.text(line, "Natura")
    unit = FPA.text(line, "UnitaMisura")
    quantity = FPA.decimal(line, "Quantita")
    fields: dict[str, Any] = {
        "description": FPA.required(line, "Descrizione", f"line {number} Descrizione"),
        "quantity": quantity if quantity is not None else Decimal(1),  # Quantita is optional
        "unit_price": price,
        "discount": _discount(line, price),
        "vat_rate": rate,
        "item_code": FPA.text(line, "CodiceArticolo/CodiceValore"),
        "natura": natura,
        "vat_category": (VatCategory.STANDARD if rate > 0 else NATURA_CATEGORIES.get(natura or "")),
        "vat_exemption_reason": references.get((rate, natura)) if natura else None,
    }
    if unit is not None:
        code = UNIT_CODES.get(unit, unit)
        if _UNIT_CODE.match(code):
            fields["unit_code"] = code
    return fields


def _discount(line: etree._Element, price: Decimal) -> Decimal | None:
    """Per unit: discounts (SC) less surcharges (MG), an amount or a percentage of the price."""
    total: Decimal | None = None
    with localcontext(MONEY_CONTEXT):
        for adjustment in FPA.all(line, "ScontoMaggiorazione"):
            amount = FPA.decimal(adjustment, "Importo")
            if amount is None:
                percent = FPA.decimal(adjustment, "Percentuale") or Decimal(0)
                amount = price * percent / 100
            kind = FPA.text(adjustment, "Tipo")
            if kind not in {DISCOUNT, SURCHARGE}:
                raise UnreadableDocumentError(
                    f"ScontoMaggiorazione Tipo is {kind!r}, not SC or MG."
                )
            total = (total or Decimal(0)) + (amount if kind == DISCOUNT else -amount)
    return total


def _preceding(body: etree._Element) -> dict[str, Any] | None:
    linked = FPA.find(body, "DatiGenerali/DatiFattureCollegate")
    if linked is None:
        return None
    return {
        "number": FPA.required(linked, "IdDocumento", "DatiFattureCollegate IdDocumento"),
        "issue_date": FPA.date(linked, "Data"),
    }


def _attachments(body: etree._Element, left_out: list[str]) -> list[dict[str, Any]]:
    attachments = []
    for attachment in FPA.all(body, "Allegati"):
        name = FPA.required(attachment, "NomeAttachment", "NomeAttachment")
        kind = FPA.text(attachment, "FormatoAttachment")
        mime_type = _MIME_TYPES.get((kind or "").upper())
        if mime_type is None:
            left_out.append(
                f"Attachment {name!r}: its format {kind!r} is not one an invoice may carry."
            )
            continue
        attachments.append(
            {
                "filename": name,
                "mime_type": mime_type,
                "content": "".join(FPA.required(attachment, "Attachment", "Attachment").split()),
            }
        )
    return attachments


def _stated(
    general: etree._Element,
    payment: etree._Element | None,
    summaries: list[etree._Element],
    lines: list[etree._Element],
) -> StatedTotals:
    return StatedTotals(
        line_total=None,
        tax_exclusive=None,
        tax=None,
        tax_inclusive=FPA.decimal(general, "ImportoTotaleDocumento"),
        payable=FPA.decimal(payment, "ImportoPagamento"),
        vat_breakdown=tuple(
            StatedVat(
                category=FPA.text(summary, "Natura"),
                rate=FPA.decimal(summary, "AliquotaIVA"),
                taxable_amount=FPA.decimal(summary, "ImponibileImporto"),
                tax_amount=FPA.decimal(summary, "Imposta"),
                exemption_reason=FPA.text(summary, "RiferimentoNormativo"),
            )
            for summary in summaries
        ),
        line_amounts=tuple(
            FPA.required_decimal(line, "PrezzoTotale", "PrezzoTotale") for line in lines
        ),
    )

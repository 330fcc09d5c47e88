"""A KSeF FA(3) document read back into the request: document.py reversed.

Pure: no I/O; parsed only by clearway.formats.hardened. Read from any sender, as KSeF delivers it:
- Parties: the seller's VAT number is its NIP, as FA(3) states it (digits, no PL prefix); the
  buyer's its NIP, or KodUE + NrVatUE (an EU buyer), or NrID (any other). An address is two free
  lines: AdresL1 the street, AdresL2 "post code city", split at its first space when the part
  before holds a digit (with one line only, that line is the street).
- The kind: RodzajFaktury VAT is an invoice; a correction (KOR) whose total P_15 is negative is a
  credit note, any other a debit note. A credit note's quantities are negative in FA(3) (the
  differences): read back with their sign turned, as the request states them.
- Lines: P_9A is the unit price; the per-unit discount is the shortest amount that gives P_10
  (the discount of the whole line, in grosze) on the line's quantity; P_12 gives the rate and
  the VAT category (RATE_CODES; a plain rate above 0 is S); an exempt line's reason is P_19A (or
  P_19B, P_19C), the exchange rate any line's KursWaluty.
- The note is the StopkaFaktury pieces, joined; the due date and the payee account Platnosc's.
- The stated totals: P_15, each P_13_x with its P_14_x (StatedVat.category is the field, e.g.
  "P_13_1"), each line's P_11, signs as stated.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from typing import Any

from lxml import etree

from clearway.domain.invoice import MONEY_CONTEXT, InvoiceType, VatCategory, round_money
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
from clearway.governments.pl.document import (
    INVOICE_KIND_CORRECTION,
    INVOICE_KIND_VAT,
    NS_FA3,
    SUM_FIELDS,
    SUMS_WITH_VAT,
    UNIT_NAMES,
)

FORMAT_NAME = "FA3"
ROOT = etree.QName(NS_FA3, "Faktura")

# What FA(3) has no place for (document.py: "Not rendered"): attachments, payment terms as text,
# the buyer and order references, party codes and network ids, a province, Italy's Natura, the
# exemption reason code (P_19A is one text).
NOT_CARRIED: frozenset[str] = (
    CLEARWAY_ONLY
    | {
        "attachments",
        "buyerReference",
        "purchaseOrderReference",
        "paymentMeans.paymentTerms",
        "lines[].natura",
        "lines[].vatExemptionReasonCode",
    }
    | party_fields(
        "tradeRegister",
        "fiscalCode",
        "pec",
        "sdiCode",
        "peppolId",
        "siret",
        "leitwegId",
        "address.stateOrProvince",
    )
)

# P_12's named codes: the VAT category each stands for, at 0%.
RATE_CODES: dict[str, VatCategory] = {
    "0 KR": VatCategory.ZERO_RATED,
    "0 WDT": VatCategory.INTRA_COMMUNITY,
    "0 EX": VatCategory.EXPORT,
    "zw": VatCategory.EXEMPT,
    "np I": VatCategory.OUTSIDE_SCOPE,
    "np II": VatCategory.REVERSE_CHARGE,
    "oo": VatCategory.REVERSE_CHARGE,
}
# P_8A -> the UN/ECE code document.py writes it for (szt. stands for C62, H87 and EA alike).
UNIT_CODES: dict[str, str] = {name: code for code, name in reversed(UNIT_NAMES.items())}
_UNIT_CODE = re.compile(r"^[A-Z0-9]{1,3}$")
_PLAIN_RATE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
FA3 = Fields({"fa": NS_FA3})


def read_document(content: bytes, media_type: str) -> ReadInvoice:
    if media_type == PDF or is_pdf(content):
        raise UnreadableDocumentError("A PDF is not an e-invoice format PL takes.")
    root = parse_root(content)
    if etree.QName(root) != ROOT:
        raise UnreadableDocumentError(f"The root element is {root.tag}, not a KSeF FA(3) Faktura.")
    fa = FA3.element(root, "fa:Fa", "Fa")
    left_out: list[str] = []
    kind = FA3.required(fa, "fa:RodzajFaktury", "RodzajFaktury")
    gross = FA3.decimal(fa, "fa:P_15")
    invoice_type = _invoice_type(kind, gross, left_out)
    sign = Decimal(-1) if invoice_type is InvoiceType.CREDIT_NOTE else Decimal(1)
    rows = FA3.all(fa, "fa:FaWiersz")
    if not rows:
        raise UnreadableDocumentError("The document has no line (FaWiersz).")
    exemption = FA3.find(fa, "fa:Adnotacje/fa:Zwolnienie")
    # The provision an exemption rests on: the Polish act (A), the directive (B) or other (C).
    reason = next(
        (
            text
            for path in ("fa:P_19A", "fa:P_19B", "fa:P_19C")
            if (text := FA3.text(exemption, path))
        ),
        None,
    )
    payment = FA3.find(fa, "fa:Platnosc")
    rates = [rate for row in rows if (rate := FA3.decimal(row, "fa:KursWaluty")) is not None]
    fields: dict[str, Any] = {
        "country": "PL",
        "invoice_type": invoice_type,
        "invoice_number": FA3.required(fa, "fa:P_2", "invoice number (P_2)"),
        "supplier": _party(root, "fa:Podmiot1", "seller"),
        "customer": _party(root, "fa:Podmiot2", "buyer"),
        "lines": [_line(row, sign, reason, left_out) for row in rows],
        "currency": FA3.required(fa, "fa:KodWaluty", "currency (KodWaluty)"),
        "exchange_rate": rates[0] if rates else None,
        "issue_date": iso_date(FA3.required(fa, "fa:P_1", "issue date (P_1)"), "P_1"),
        "due_date": FA3.date(payment, "fa:TerminPlatnosci/fa:Termin"),
        "note": joined(FA3.texts(root, "fa:Stopka/fa:Informacje/fa:StopkaFaktury")),
        "payment_means": (
            {
                "bank_account": FA3.text(payment, "fa:RachunekBankowy/fa:NrRB"),
                "bic": FA3.text(payment, "fa:RachunekBankowy/fa:SWIFT"),
            }
            if payment is not None
            else None
        ),
        "preceding_invoice": _corrected(fa) if kind.startswith(INVOICE_KIND_CORRECTION) else None,
    }
    return ReadInvoice(
        format_name=FORMAT_NAME,
        request=build_request(fields),
        stated=_stated(fa, gross, rows),
        not_carried=NOT_CARRIED,
        left_out=tuple(left_out),
    )


def _invoice_type(kind: str, gross: Decimal | None, left_out: list[str]) -> InvoiceType:
    if kind == INVOICE_KIND_VAT:
        return InvoiceType.INVOICE
    if kind.startswith(INVOICE_KIND_CORRECTION):
        return (
            InvoiceType.CREDIT_NOTE if gross is not None and gross < 0 else InvoiceType.DEBIT_NOTE
        )
    left_out.append(f"RodzajFaktury {kind}, read as an invoice.")
    return InvoiceType.INVOICE


def _corrected(fa: etree._Element) -> dict[str, Any] | None:
    corrected = FA3.find(fa, "fa:DaneFaKorygowanej")
    if corrected is None:
        return None
    return {
        "number": FA3.required(corrected, "fa:NrFaKorygowanej", "NrFaKorygowanej"),
        "issue_date": FA3.date(corrected, "fa:DataWystFaKorygowanej"),
    }


def _party(root: etree._Element, path: str, term: str) -> dict[str, Any]:
    party = FA3.element(root, path, term)
    ids = FA3.element(party, "fa:DaneIdentyfikacyjne", f"{term} DaneIdentyfikacyjne")
    eu_code, eu_number = FA3.text(ids, "fa:KodUE"), FA3.text(ids, "fa:NrVatUE")
    vat_number = (
        FA3.text(ids, "fa:NIP")
        or (f"{eu_code}{eu_number}" if eu_code and eu_number else None)
        or FA3.text(ids, "fa:NrID")
    )
    if vat_number is None:
        raise UnreadableDocumentError(f"The {term} has no NIP, EU VAT number or NrID.")
    contact = FA3.find(party, "fa:DaneKontaktowe")
    return {
        "vat_number": vat_number,
        "name": FA3.required(ids, "fa:Nazwa", f"{term} name (Nazwa)"),
        "address": _address(FA3.find(party, "fa:Adres")),
        "email": FA3.text(contact, "fa:Email"),
        "phone": FA3.text(contact, "fa:Telefon"),
    }


def _address(address: etree._Element | None) -> dict[str, Any] | None:
    if address is None:
        return None
    first, second = FA3.text(address, "fa:AdresL1"), FA3.text(address, "fa:AdresL2")
    postal_code, city = split_locality(second) if second else (None, None)
    return {
        "street": first,
        "postal_code": postal_code,
        "city": city,
        "country": FA3.required(address, "fa:KodKraju", "address country (KodKraju)"),
    }


def split_locality(locality: str) -> tuple[str | None, str | None]:
    """AdresL2 "00-950 Warszawa" -> ("00-950", "Warszawa"); without a post code, all city."""
    head, _, rest = locality.partition(" ")
    if any(char.isdigit() for char in head):
        return head, rest or None
    return None, locality


def _line(
    row: etree._Element, sign: Decimal, exemption: str | None, left_out: list[str]
) -> dict[str, Any]:
    number = FA3.text(row, "fa:NrWierszaFa") or "?"
    stated_quantity = FA3.decimal(row, "fa:P_8B")
    quantity = (stated_quantity if stated_quantity is not None else Decimal(1)) * sign
    line_discount = FA3.decimal(row, "fa:P_10")
    rate, category = _rate(FA3.required(row, "fa:P_12", f"line {number} rate (P_12)"), number)
    fields: dict[str, Any] = {
        "description": FA3.required(row, "fa:P_7", f"line {number} description (P_7)"),
        "quantity": quantity,
        "unit_price": FA3.required_decimal(row, "fa:P_9A", f"line {number} net price (P_9A)"),
        "discount": _per_unit(line_discount, stated_quantity),
        "vat_rate": rate,
        "vat_category": category,
        "vat_exemption_reason": exemption if category is VatCategory.EXEMPT else None,
        "item_code": FA3.text(row, "fa:Indeks"),
    }
    unit = FA3.text(row, "fa:P_8A")
    if unit is not None:
        code = UNIT_CODES.get(unit, unit)
        if _UNIT_CODE.match(code):
            fields["unit_code"] = code
        else:
            left_out.append(f"Line {number}: the unit {unit!r}, which has no UN/ECE code here.")
    return fields


def _per_unit(line_discount: Decimal | None, quantity: Decimal | None) -> Decimal | None:
    """P_10 is the discount of the whole line, rounded to grosze; the request's is per unit: the
    shortest amount (2 to 8 decimals) that gives P_10 back on the line's quantity, else the
    exact quotient."""
    if line_discount is None or not quantity:
        return line_discount
    with localcontext(MONEY_CONTEXT):
        exact = line_discount / quantity
        for places in range(2, 9):
            candidate = exact.quantize(Decimal(1).scaleb(-places))
            if round_money(candidate * quantity) == line_discount:
                return candidate
        return exact


def _rate(code: str, number: str) -> tuple[Decimal, VatCategory | None]:
    if code in RATE_CODES:
        return Decimal(0), RATE_CODES[code]
    if not _PLAIN_RATE.match(code):
        raise UnreadableDocumentError(f"Line {number}'s P_12 is {code!r}, not a rate FA(3) has.")
    rate = Decimal(code)
    return rate, VatCategory.STANDARD if rate > 0 else None


def _stated(fa: etree._Element, gross: Decimal | None, rows: list[etree._Element]) -> StatedTotals:
    return StatedTotals(
        line_total=None,
        tax_exclusive=None,
        tax=None,
        tax_inclusive=gross,
        payable=None,
        vat_breakdown=tuple(
            StatedVat(
                category=f"P_13_{field}",
                rate=None,
                taxable_amount=taxable,
                tax_amount=FA3.decimal(fa, f"fa:P_14_{field}") if field in SUMS_WITH_VAT else None,
            )
            for field in SUM_FIELDS
            if (taxable := FA3.decimal(fa, f"fa:P_13_{field}")) is not None
        ),
        line_amounts=tuple(_line_amount(row) for row in rows),
    )


def _line_amount(row: etree._Element) -> Decimal:
    amount = FA3.decimal(row, "fa:P_11")
    if amount is None:
        amount = FA3.decimal(row, "fa:P_11A")  # a gross-priced line states its gross value
    if amount is None:
        raise UnreadableDocumentError("A line (FaWiersz) states no value (P_11 or P_11A).")
    return amount

"""JSON invoice -> KSeF FA(3) (schema 1-0E), the Polish structured invoice.

Pure: no I/O (the clock only when the caller gives no creation time). Built with lxml, elements in
the schema's order (its content models are sequences, so order is validity). Amounts come from
compute_totals, so the XML and the API's totals cannot disagree.

Rate codes (P_12) and the sums per rate (P_13_x net, P_14_x VAT) follow the schema:
23/22 -> P_13_1, 8/7 -> P_13_2, 5 -> P_13_3, 4/3 -> P_13_4, "0 KR" (zero-rated, Z) -> P_13_6_1,
"0 WDT" (intra-Community supply, K) -> P_13_6_2, "0 EX" (export, G) -> P_13_6_3, "zw" (exempt, E)
-> P_13_7, "np I" (outside the scope, O; or reverse charge for a non-EU buyer) -> P_13_8,
"np II" (reverse charge for an EU buyer, art. 100(1)(4)) -> P_13_9, "oo" (domestic reverse
charge) -> P_13_10. A rate the schema has no code for is written as it is, and the gate names it.

A credit note is a correcting invoice (KOR) whose amounts are the difference: negative
quantities, line values and sums. A debit note is a KOR with positive differences.

An invoice in another currency states its VAT in PLN too (P_14_xW, the VAT of each rate times the
caller's exchangeRate, rounded to grosze) and the rate on each line (KursWaluty).

Not rendered (the request model has no field for them, or KSeF wants more than it holds): the
corrected invoice's KSeF number
(written as issued outside KSeF, NrKSeFN), attachments (FA(3)'s Zalacznik holds structured data,
not files, and KSeF accepts it only from taxpayers who registered for it), payment terms as text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from lxml import etree

from clearway.domain.invoice import (
    InvoiceRequest,
    InvoiceType,
    VatCategory,
    compute_totals,
    line_net_amount,
    money_str,
    round_money,
)

if TYPE_CHECKING:
    from clearway.domain.invoice import Address, Line, Party, PaymentMeans, Totals

NS_FA3 = "http://crd.gov.pl/wzor/2025/06/25/13775/"
FORM_SYSTEM_CODE = "FA (3)"
FORM_SCHEMA_VERSION = "1-0E"
FORM_CODE = "FA"
FORM_VARIANT = "3"
SYSTEM_INFO = "Clearway"

YES = "1"
NO = "2"
# TFormaPlatnosci: 6 is a bank transfer (przelew).
PAYMENT_FORM_TRANSFER = "6"
INVOICE_KIND_VAT = "VAT"
INVOICE_KIND_CORRECTION = "KOR"
NATIONAL_CURRENCY = "PLN"

# TKodyKrajowUE: the EU member states as VAT prefixes (Greece is EL, Northern Ireland XI).
EU_VAT_PREFIXES = frozenset(
    {
        *("AT", "BE", "BG", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HR", "HU", "IE"),
        *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "XI"),
    }
)
# The sums per rate, in schema order; the first four also carry the VAT amount (P_14_x).
SUM_FIELDS: tuple[str, ...] = ("1", "2", "3", "4", "6_1", "6_2", "6_3", "7", "8", "9", "10")
SUMS_WITH_VAT = frozenset({"1", "2", "3", "4"})
_SUM_FIELD_BY_RATE_CODE = {
    "23": "1",
    "22": "1",
    "8": "2",
    "7": "2",
    "5": "3",
    "4": "4",
    "3": "4",
    "0 KR": "6_1",
    "0 WDT": "6_2",
    "0 EX": "6_3",
    "zw": "7",
    "np I": "8",
    "np II": "9",
    "oo": "10",
}
# P_8A is the unit in words; the common UN/ECE codes get their Polish abbreviation.
UNIT_NAMES = {
    "C62": "szt.",
    "H87": "szt.",
    "EA": "szt.",
    "HUR": "godz.",
    "DAY": "dzień",
    "MON": "mies.",
    "KGM": "kg",
    "MTR": "m",
    "LTR": "l",
    "MTK": "m2",
    "KWH": "kWh",
}

BuyerRegion = Literal["PL", "EU", "OTHER"]


def render_fa3(
    invoice: InvoiceRequest, *, invoice_number: str, created_at: dt.datetime | None = None
) -> bytes:
    """The FA(3) document for KSeF, as UTF-8 bytes with an XML declaration.

    created_at is DataWytworzeniaFa (when the document was made); now, when not given.
    """
    totals = compute_totals(invoice.lines)
    region = _buyer_region(invoice.customer)
    sign = Decimal(-1) if invoice.invoice_type is InvoiceType.CREDIT_NOTE else Decimal(1)
    codes = [
        _rate_code(line.effective_vat_category, line.vat_rate, region) for line in invoice.lines
    ]

    root = etree.Element(etree.QName(NS_FA3, "Faktura"), nsmap={None: NS_FA3})  # type: ignore[dict-item]
    _header(root, created_at or dt.datetime.now(dt.UTC))
    _seller(
        root, invoice.supplier, intra_community=VatCategory.INTRA_COMMUNITY in _categories(invoice)
    )
    _buyer(root, invoice.customer, region)

    fa = _el(root, "Fa")
    _el(fa, "KodWaluty", invoice.currency)
    _el(fa, "P_1", invoice.issue_date.isoformat())
    _el(fa, "P_2", invoice_number)
    rate = invoice.exchange_rate if invoice.currency != NATIONAL_CURRENCY else None
    _sums(fa, totals, region, sign, rate)
    _el(fa, "P_15", _amount(totals.gross_amount, sign))
    _annotations(fa, invoice, codes)
    _correction(fa, invoice)
    for number, (line, code) in enumerate(zip(invoice.lines, codes, strict=True), start=1):
        row = _line(fa, number, line, code, sign)
        if rate is not None:
            _el(row, "KursWaluty", _plain(rate))  # the last of FaWiersz's elements we write
    if invoice.payment_means is not None:
        _payment(fa, invoice.payment_means, invoice.due_date or invoice.payment_means.due_date)
    if invoice.note:
        _footer(root, invoice.note)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def nip_digits(vat_number: str) -> str:
    """PL526-104-08-28 -> 5261040828: the NIP as FA(3) wants it, without prefix or separators."""
    return "".join(char for char in vat_number if char.isdigit())


def _header(root: etree._Element, created_at: dt.datetime) -> None:
    header = _el(root, "Naglowek")
    _el(
        header,
        "KodFormularza",
        FORM_CODE,
        kodSystemowy=FORM_SYSTEM_CODE,
        wersjaSchemy=FORM_SCHEMA_VERSION,
    )
    _el(header, "WariantFormularza", FORM_VARIANT)
    created_utc = created_at.astimezone(dt.UTC).replace(microsecond=0)
    _el(header, "DataWytworzeniaFa", created_utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
    _el(header, "SystemInfo", SYSTEM_INFO)


def _seller(root: etree._Element, party: Party, *, intra_community: bool) -> None:
    seller = _el(root, "Podmiot1")
    if intra_community:
        # The seller's PL VAT prefix, which an intra-Community supply must show.
        _el(seller, "PrefiksPodatnika", "PL")
    identification = _el(seller, "DaneIdentyfikacyjne")
    _el(identification, "NIP", nip_digits(party.vat_number))
    _el(identification, "Nazwa", party.name)
    if party.address is not None:
        _address(seller, party.address)
    _contact(seller, party)


def _buyer(root: etree._Element, party: Party, region: BuyerRegion) -> None:
    buyer = _el(root, "Podmiot2")
    identification = _el(buyer, "DaneIdentyfikacyjne")
    prefix, number = _split_vat(party.vat_number)
    country = party.address.country if party.address is not None else prefix
    if region == "PL":
        _el(identification, "NIP", nip_digits(party.vat_number))
    elif region == "EU":
        # An EU buyer's VAT number: its prefix (EL for Greece) and the number after it.
        _el(identification, "KodUE", _eu_vat_prefix(prefix or country or ""))
        _el(identification, "NrVatUE", "".join(char for char in number if char.isalnum()))
    else:
        if country is not None:
            _el(identification, "KodKraju", country)
        _el(identification, "NrID", party.vat_number)
    _el(identification, "Nazwa", party.name)
    if party.address is not None:
        _address(buyer, party.address)
    _contact(buyer, party)
    # Not a subordinate unit of a local government (JST), not a VAT group member (GV).
    _el(buyer, "JST", NO)
    _el(buyer, "GV", NO)


def _address(parent: etree._Element, address: Address) -> None:
    locality = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = [line for line in (address.street, locality) if line]
    if not lines:
        return  # Podmiot1 needs one: the gate says so; Podmiot2 may go without
    element = _el(parent, "Adres")
    _el(element, "KodKraju", address.country)
    _el(element, "AdresL1", lines[0])
    if len(lines) > 1:
        _el(element, "AdresL2", lines[1])


def _contact(parent: etree._Element, party: Party) -> None:
    if party.email or party.phone:
        contact = _el(parent, "DaneKontaktowe")
        if party.email:
            _el(contact, "Email", party.email)
        if party.phone:
            _el(contact, "Telefon", "".join(party.phone.split()))


def _sums(
    fa: etree._Element,
    totals: Totals,
    region: BuyerRegion,
    sign: Decimal,
    exchange_rate: Decimal | None,
) -> None:
    net: dict[str, Decimal] = {}
    vat: dict[str, Decimal] = {}
    for group in totals.breakdown:
        field = _SUM_FIELD_BY_RATE_CODE.get(_rate_code(group.category, group.rate, region))
        if field is not None:
            net[field] = net.get(field, Decimal(0)) + group.taxable_amount
            vat[field] = vat.get(field, Decimal(0)) + group.tax_amount
    for field in SUM_FIELDS:
        if field in net:
            _el(fa, f"P_13_{field}", _amount(net[field], sign))
            if field in SUMS_WITH_VAT:
                _el(fa, f"P_14_{field}", _amount(vat[field], sign))
                if exchange_rate is not None:
                    # The VAT in PLN of an invoice in another currency (art. 106e ust. 11).
                    _el(fa, f"P_14_{field}W", _amount(vat[field] * exchange_rate, sign))


def _annotations(fa: etree._Element, invoice: InvoiceRequest, codes: list[str]) -> None:
    annotations = _el(fa, "Adnotacje")
    _el(annotations, "P_16", NO)  # cash accounting
    _el(annotations, "P_17", NO)  # self-billing
    reverse_charge = VatCategory.REVERSE_CHARGE in _categories(invoice)
    _el(annotations, "P_18", YES if reverse_charge else NO)
    _el(annotations, "P_18A", NO)  # split payment
    exemption = _el(annotations, "Zwolnienie")
    exempt_lines = [line for line, code in zip(invoice.lines, codes, strict=True) if code == "zw"]
    if exempt_lines:
        _el(exemption, "P_19", YES)
        reasons = dict.fromkeys(
            reason
            for line in exempt_lines
            if (reason := line.vat_exemption_reason or line.vat_exemption_reason_code)
        )
        if reasons:
            # P_19A: the provision of the Polish VAT act the exemption rests on.
            _el(exemption, "P_19A", "; ".join(reasons))
    else:
        _el(exemption, "P_19N", YES)
    _el(_el(annotations, "NoweSrodkiTransportu"), "P_22N", YES)  # no new means of transport
    _el(annotations, "P_23", NO)  # simplified triangular procedure
    _el(_el(annotations, "PMarzy"), "P_PMarzyN", YES)  # no margin scheme


def _correction(fa: etree._Element, invoice: InvoiceRequest) -> None:
    if invoice.invoice_type is InvoiceType.INVOICE:
        _el(fa, "RodzajFaktury", INVOICE_KIND_VAT)
        return
    _el(fa, "RodzajFaktury", INVOICE_KIND_CORRECTION)
    preceding = invoice.preceding_invoice
    if preceding is None:
        return  # a correction must name what it corrects: the validator says so first (CW-PL-05)
    corrected = _el(fa, "DaneFaKorygowanej")
    if preceding.issue_date is not None:
        _el(corrected, "DataWystFaKorygowanej", preceding.issue_date.isoformat())
    _el(corrected, "NrFaKorygowanej", preceding.number)
    # The model holds no KSeF number of the corrected invoice: it is declared as issued outside.
    _el(corrected, "NrKSeFN", YES)


def _line(fa: etree._Element, number: int, line: Line, code: str, sign: Decimal) -> etree._Element:
    row = _el(fa, "FaWiersz")
    _el(row, "NrWierszaFa", str(number))
    _el(row, "P_7", line.description)
    if line.item_code:
        _el(row, "Indeks", line.item_code)
    _el(row, "P_8A", UNIT_NAMES.get(line.unit_code, line.unit_code))
    _el(row, "P_8B", _plain(line.quantity * sign))
    _el(row, "P_9A", _plain(line.unit_price))
    if line.discount:
        # P_10: the discount not already in the unit price, for the whole line.
        _el(row, "P_10", _amount(line.discount * line.quantity, sign))
    _el(row, "P_11", _amount(line_net_amount(line), sign))
    _el(row, "P_12", code)
    return row


def _payment(fa: etree._Element, payment: PaymentMeans, due_date: dt.date | None) -> None:
    element = _el(fa, "Platnosc")
    if due_date is not None:
        _el(_el(element, "TerminPlatnosci"), "Termin", due_date.isoformat())
    _el(element, "FormaPlatnosci", PAYMENT_FORM_TRANSFER)
    if payment.bank_account:
        account = _el(element, "RachunekBankowy")
        _el(account, "NrRB", "".join(payment.bank_account.split()))  # IBANs are often spaced
        if payment.bic:
            _el(account, "SWIFT", payment.bic)


def _footer(root: etree._Element, note: str) -> None:
    footer = _el(root, "Stopka")
    size = 3500  # TTekstowy
    for start in range(0, len(note), size):
        _el(_el(footer, "Informacje"), "StopkaFaktury", note[start : start + size])


def _rate_code(category: VatCategory | None, rate: Decimal, region: BuyerRegion) -> str:
    """P_12 (TStawkaPodatku) for a line of this VAT category and rate."""
    by_category = {
        VatCategory.ZERO_RATED: "0 KR",
        VatCategory.INTRA_COMMUNITY: "0 WDT",
        VatCategory.EXPORT: "0 EX",
        VatCategory.EXEMPT: "zw",
        VatCategory.OUTSIDE_SCOPE: "np I",
    }
    if category is VatCategory.REVERSE_CHARGE:
        return {"PL": "oo", "EU": "np II", "OTHER": "np I"}[region]
    if category in by_category:
        return by_category[category]
    return _plain(rate)


def _buyer_region(party: Party) -> BuyerRegion:
    prefix, _ = _split_vat(party.vat_number)
    country = prefix or (party.address.country if party.address is not None else "PL")
    if country == "PL":
        return "PL"
    return "EU" if _eu_vat_prefix(country) in EU_VAT_PREFIXES else "OTHER"


def _eu_vat_prefix(country: str) -> str:
    """The VAT prefix of an ISO country code: the same, but for Greece (GR -> EL)."""
    return "EL" if country == "GR" else country


def _split_vat(vat_number: str) -> tuple[str | None, str]:
    """DE123456789 -> ("DE", "123456789"); 5261040828 -> (None, "5261040828")."""
    candidate = vat_number.strip()
    if len(candidate) > 2 and candidate[:2].isalpha() and candidate[:2].isupper():
        return candidate[:2], candidate[2:].strip()
    return None, candidate


def _categories(invoice: InvoiceRequest) -> set[VatCategory | None]:
    return {line.effective_vat_category for line in invoice.lines}


def _amount(amount: Decimal, sign: Decimal) -> str:
    """A 2-decimal TKwotowy; a credit note's difference is negative, and never "-0.00"."""
    signed = round_money(amount * sign)
    return money_str(signed if signed != 0 else abs(signed))


def _plain(value: Decimal) -> str:
    """19.00 -> "19", 2.50 -> "2.5", 20 -> "20" (never "2E+1")."""
    normalized = value.normalize()
    return format(normalized if normalized != 0 else abs(normalized), "f")


def _el(
    parent: etree._Element, name: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, etree.QName(NS_FA3, name), attributes)
    if text is not None:
        element.text = text
    return element

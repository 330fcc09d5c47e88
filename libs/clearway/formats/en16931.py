"""The EN 16931 semantic invoice: what every UBL and CII flavour writes, derived once from the JSON.

Pure: no I/O. The JSON request is turned into the business terms of EN 16931 (BT-n), with every
amount already computed (from compute_totals, so the XML and the API's totals cannot disagree) and
every code already chosen. The syntax writers (ubl.py, cii.py) only place these values; the country
flavours (ubl_cius_ro.py, peppol_bis.py, xrechnung.py, france.py) change only what their
specification adds to EN 16931, with dataclasses.replace on the document build_document gives.

Rules applied here, for every flavour:
- VAT category (BT-151/BT-118): the line's vatCategory; S for a rate above 0; Z for a 0 rate that
  names no category (the validator asks the caller to name it).
- Exemption reason (BT-120/BT-121): one per VAT breakdown, the first one given by a line of that
  category and rate. For AE, K, G and O, whose reason has one code in the VATEX list, the code
  and an English text are filled in when the lines give none; E has no single code, so an exempt
  line without a reason is left for the gate to report (BR-E-10).
- Not subject to VAT (O): BR-O-02 forbids the seller's and the buyer's VAT identifiers, so the
  seller's VAT number travels as its tax registration identifier (BT-32) and the buyer's is left
  out; the O rate is not written (BR-O-05).
- Intra-community supply (K): BR-IC-11 and BR-IC-12 need the actual delivery date (BT-72) and
  the deliver-to country (BT-80). The request has neither, so the issue date stands for the
  delivery date and the buyer's address country for the deliver-to country.
- Discounts: the request's discount is per unit, so it is the item price discount (BT-147) on
  the gross price (BT-148), and the net price (BT-146) is unit price less discount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from clearway.domain.invoice import (
    CENT,
    InvoiceType,
    VatCategory,
    compute_totals,
    line_net_amount,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from clearway.domain.invoice import Address, InvoiceRequest, Line, Party
    from clearway.domain.invoice import Totals as InvoiceTotals

# UNCL 1001 document type codes (BT-3).
TYPE_CODE_INVOICE = "380"
TYPE_CODE_CREDIT_NOTE = "381"
TYPE_CODE_DEBIT_NOTE = "383"
# UNCL 4461: credit transfer.
PAYMENT_MEANS_CREDIT_TRANSFER = "30"
# EAS (BT-34-1/BT-49-1): electronic mail, used where a party has no network identifier.
SCHEME_EMAIL = "EM"

# VATEX codes and texts for the categories whose exemption reason has exactly one code.
_DEFAULT_EXEMPTIONS: dict[str, tuple[str, str]] = {
    VatCategory.REVERSE_CHARGE: ("VATEX-EU-AE", "Reverse charge"),
    VatCategory.INTRA_COMMUNITY: ("VATEX-EU-IC", "Intra-community supply"),
    VatCategory.EXPORT: ("VATEX-EU-G", "Export outside the EU"),
    VatCategory.OUTSIDE_SCOPE: ("VATEX-EU-O", "Not subject to VAT"),
}


@dataclass(frozen=True, slots=True)
class SchemedId:
    """An identifier with its optional scheme (ISO 6523 ICD or EAS code)."""

    value: str
    scheme: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostalAddress:
    """BG-5 / BG-8 / BG-15."""

    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    subdivision: str | None = None  # BT-39 / BT-54
    country: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """BG-6 / BG-9."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeParty:
    """BG-4 (seller) / BG-7 (buyer)."""

    name: str  # BT-27 / BT-44
    identifiers: tuple[SchemedId, ...] = ()  # BT-29 / BT-46
    legal_id: SchemedId | None = None  # BT-30 / BT-47
    vat_id: str | None = None  # BT-31 / BT-48
    tax_registration_id: str | None = None  # BT-32 (seller only)
    endpoint: SchemedId | None = None  # BT-34 / BT-49
    address: PostalAddress | None = None
    contact: Contact | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """BG-1: BT-22, with its subject code (BT-21) when the flavour needs one."""

    text: str
    subject_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VatSubtotal:
    """BG-23."""

    category: str  # BT-118
    rate: Decimal | None  # BT-119; None for O
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str | None = None  # BT-120
    exemption_code: str | None = None  # BT-121


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentLine:
    """BG-25."""

    line_id: str  # BT-126
    name: str  # BT-153
    seller_item_id: str | None  # BT-155
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130
    net_amount: Decimal  # BT-131
    net_price: Decimal  # BT-146
    gross_price: Decimal | None  # BT-148, only with a price discount
    price_discount: Decimal | None  # BT-147
    vat_category: str  # BT-151
    vat_rate: Decimal | None  # BT-152; None for O


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """BG-24 with an embedded document."""

    reference: str  # BT-122
    filename: str  # BT-125-2
    mime_type: str  # BT-125-1
    content_base64: str  # BT-125


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """BT-72 and the deliver-to address BG-15 (BT-75, BT-77, BT-78, BT-80), of BG-13."""

    date: dt.date
    country: str | None
    # A CIUS may need more of BG-15 than the country (XRechnung BR-DE-10/11: city, post code).
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None

    @property
    def address(self) -> PostalAddress | None:
        """BG-15, written only with its country (BR-57)."""
        if not self.country:
            return None
        return PostalAddress(
            street=self.street, city=self.city, postal_code=self.postal_code, country=self.country
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentInstructions:
    """BG-16 with a credit transfer (BG-17)."""

    means_code: str  # BT-81
    account: str  # BT-84
    bic: str | None = None  # BT-86


@dataclass(frozen=True, slots=True, kw_only=True)
class PrecedingInvoice:
    """BG-3."""

    number: str  # BT-25
    issue_date: dt.date | None  # BT-26


@dataclass(frozen=True, slots=True, kw_only=True)
class Totals:
    """BG-22 (no document allowances, charges or prepayments yet, so several coincide)."""

    line_total: Decimal  # BT-106
    tax_exclusive: Decimal  # BT-109
    tax: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    payable: Decimal  # BT-115


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """One invoice, credit note or debit note, in EN 16931 terms."""

    customization_id: str  # BT-24
    business_process: str | None  # BT-23
    number: str  # BT-1
    issue_date: dt.date  # BT-2
    type_code: str  # BT-3
    is_credit_note: bool
    currency: str  # BT-5
    due_date: dt.date | None  # BT-9
    notes: tuple[Note, ...]
    buyer_reference: str | None  # BT-10
    order_reference: str | None  # BT-13
    preceding_invoice: PrecedingInvoice | None
    seller: TradeParty
    buyer: TradeParty
    delivery: Delivery | None
    payment: PaymentInstructions | None
    payment_terms: str | None  # BT-20
    attachments: tuple[Attachment, ...]
    vat_breakdown: tuple[VatSubtotal, ...]
    totals: Totals
    lines: tuple[DocumentLine, ...]


class DocumentOf(Protocol):
    """A country's document of an invoice: build_document and what the country adds."""

    def __call__(self, invoice: InvoiceRequest, *, invoice_number: str) -> Document: ...


class Renderer(Protocol):
    def __call__(self, invoice: InvoiceRequest, *, invoice_number: str) -> bytes: ...


def rendered(document_of: DocumentOf, write: Callable[[Document], bytes]) -> Renderer:
    """The renderer of a country's document in one syntax (write_ubl, write_cii): its bytes,
    UTF-8 with an XML declaration."""

    def render(invoice: InvoiceRequest, *, invoice_number: str) -> bytes:
        return write(document_of(invoice, invoice_number=invoice_number))

    return render


def build_document(
    invoice: InvoiceRequest,
    *,
    invoice_number: str,
    customization_id: str,
    business_process: str | None = None,
) -> Document:
    """The plain EN 16931 document; a flavour replaces what its specification changes."""
    totals = compute_totals(invoice.lines)
    breakdown = _vat_breakdown(invoice, totals)
    not_subject_to_vat = any(vat.category == VatCategory.OUTSIDE_SCOPE for vat in breakdown)
    seller = trade_party(invoice.supplier)
    buyer = trade_party(invoice.customer)
    if not_subject_to_vat:  # BR-O-02
        seller = replace(seller, vat_id=None, tax_registration_id=seller.vat_id)
        buyer = replace(buyer, vat_id=None)
    return Document(
        customization_id=customization_id,
        business_process=business_process,
        number=invoice_number,
        issue_date=invoice.issue_date,
        type_code=_TYPE_CODES[invoice.invoice_type],
        is_credit_note=invoice.invoice_type == InvoiceType.CREDIT_NOTE,
        currency=invoice.currency,
        due_date=due_date(invoice),
        notes=(Note(invoice.note),) if invoice.note else (),
        buyer_reference=invoice.buyer_reference,
        order_reference=invoice.purchase_order_reference,
        preceding_invoice=(
            PrecedingInvoice(
                number=invoice.preceding_invoice.number,
                issue_date=invoice.preceding_invoice.issue_date,
            )
            if invoice.preceding_invoice is not None
            else None
        ),
        seller=seller,
        buyer=buyer,
        delivery=_delivery(invoice, breakdown),
        payment=_payment(invoice),
        payment_terms=invoice.payment_means.payment_terms if invoice.payment_means else None,
        attachments=tuple(
            Attachment(
                reference=attachment.filename,
                filename=attachment.filename,
                mime_type=attachment.mime_type,
                content_base64="".join(attachment.content.split()),
            )
            for attachment in invoice.attachments
        ),
        vat_breakdown=breakdown,
        totals=Totals(
            line_total=totals.net_amount,
            tax_exclusive=totals.net_amount,
            tax=totals.vat_amount,
            tax_inclusive=totals.gross_amount,
            payable=totals.gross_amount,
        ),
        lines=tuple(_line(number, line) for number, line in enumerate(invoice.lines, start=1)),
    )


def trade_party(party: Party) -> TradeParty:
    """A party as the request gives it: identifiers a flavour needs are added by the flavour."""
    contact = Contact(phone=party.phone, email=party.email) if party.phone or party.email else None
    return TradeParty(
        name=party.name,
        # The request's trade register number (e.g. J40/1234/2020) has no scheme.
        legal_id=SchemedId(party.trade_register) if party.trade_register else None,
        vat_id=party.vat_number,
        endpoint=peppol_endpoint(party),
        address=postal_address(party.address) if party.address is not None else None,
        contact=contact,
    )


def postal_address(address: Address) -> PostalAddress:
    return PostalAddress(
        street=address.street,
        city=address.city,
        postal_code=address.postal_code,
        subdivision=address.state_or_province,
        country=address.country,
    )


def peppol_endpoint(party: Party) -> SchemedId | None:
    """BT-34/BT-49 from a Peppol participant id "0208:0123456749" (scheme, then identifier)."""
    if not party.peppol_id:
        return None
    scheme, separator, value = party.peppol_id.partition(":")
    if not separator or not value:
        return None  # not scheme:identifier; the validator reports the participant id
    return SchemedId(value.strip(), scheme.strip())


def email_endpoint(party: Party) -> SchemedId | None:
    return SchemedId(party.email, SCHEME_EMAIL) if party.email else None


def due_date(invoice: InvoiceRequest) -> dt.date | None:
    """BT-9: the invoice's dueDate, else the one given with the payment means."""
    if invoice.due_date is not None:
        return invoice.due_date
    return invoice.payment_means.due_date if invoice.payment_means is not None else None


_TYPE_CODES: dict[InvoiceType, str] = {
    InvoiceType.INVOICE: TYPE_CODE_INVOICE,
    # 383 is EN 16931's debit note. Some CIUS accept fewer codes (CIUS-RO BR-RO-020, XRechnung
    # BR-DE-17, the French BR-FR-04): their gates report it, and the validator decides first.
    InvoiceType.DEBIT_NOTE: TYPE_CODE_DEBIT_NOTE,
    InvoiceType.CREDIT_NOTE: TYPE_CODE_CREDIT_NOTE,
}


def _category(line: Line) -> str:
    return line.effective_vat_category or VatCategory.ZERO_RATED


def _vat_breakdown(invoice: InvoiceRequest, totals: InvoiceTotals) -> tuple[VatSubtotal, ...]:
    """compute_totals' breakdown with codes: a rate-0 line with no category joins Z."""
    reasons: dict[tuple[str, Decimal], tuple[str | None, str | None]] = {}
    for line in invoice.lines:
        key = (_category(line), line.vat_rate)
        reason, code = reasons.get(key, (None, None))
        reasons[key] = (reason or line.vat_exemption_reason, code or line.vat_exemption_reason_code)

    merged: dict[tuple[str, Decimal], tuple[Decimal, Decimal]] = {}
    for vat in totals.breakdown:
        key = (vat.category or VatCategory.ZERO_RATED, vat.rate)
        taxable, tax = merged.get(key, (Decimal(0), Decimal(0)))
        merged[key] = (taxable + vat.taxable_amount, tax + vat.tax_amount)

    subtotals: list[VatSubtotal] = []
    for (category, rate), (taxable, tax) in merged.items():
        reason, code = reasons.get((category, rate), (None, None))
        if reason is None and code is None and category in _DEFAULT_EXEMPTIONS:
            code, reason = _DEFAULT_EXEMPTIONS[category]
        subtotals.append(
            VatSubtotal(
                category=category,
                rate=None if category == VatCategory.OUTSIDE_SCOPE else rate,
                taxable_amount=taxable,
                tax_amount=tax,
                exemption_reason=reason,
                exemption_code=code,
            )
        )
    return tuple(subtotals)


def _delivery(invoice: InvoiceRequest, breakdown: tuple[VatSubtotal, ...]) -> Delivery | None:
    if not any(vat.category == VatCategory.INTRA_COMMUNITY for vat in breakdown):
        return None
    # The request carries no delivery date or place (BT-72, BG-15): for an intra-community supply
    # the issue date stands for the delivery date and the buyer's country for the deliver-to one.
    address = invoice.customer.address
    return Delivery(date=invoice.issue_date, country=address.country if address else None)


def _payment(invoice: InvoiceRequest) -> PaymentInstructions | None:
    # BR-61: a credit transfer needs the payee account, so BG-16 exists only with one.
    payment = invoice.payment_means
    if payment is None or not payment.bank_account:
        return None
    return PaymentInstructions(
        means_code=PAYMENT_MEANS_CREDIT_TRANSFER,
        account="".join(payment.bank_account.split()),  # IBANs are often spaced
        bic=payment.bic,
    )


def _line(number: int, line: Line) -> DocumentLine:
    discount = line.discount or Decimal(0)
    category = _category(line)
    return DocumentLine(
        line_id=str(number),
        name=line.description,
        seller_item_id=line.item_code,
        quantity=line.quantity,
        unit_code=line.unit_code,
        net_amount=line_net_amount(line),
        net_price=line.unit_price - discount,
        gross_price=line.unit_price if discount else None,
        price_discount=discount or None,
        vat_category=category,
        vat_rate=None if category == VatCategory.OUTSIDE_SCOPE else line.vat_rate,
    )


def decimal_text(value: Decimal) -> str:
    """Quantities and rates: 19.00 -> "19", 2.50 -> "2.5", 20 -> "20" (never "2E+1")."""
    return format(value.normalize(), "f")


def price_text(value: Decimal) -> str:
    """Cents when the price has no finer fraction ("5000.00"); otherwise every given digit."""
    return str(value.quantize(CENT)) if value == value.quantize(CENT) else decimal_text(value)

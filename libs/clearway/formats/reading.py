"""Reading a legal document back into the request POST /v1/invoices takes: what every reader shares.

Pure: no I/O. Each format has its reader (ubl_reader.py, cii_reader.py, pdf_reader.py for
Factur-X, governments/it/reading.py for FatturaPA, governments/pl/reading.py for FA(3)); each
government's read_document picks the one for the document it is given and answers a ReadInvoice:
- request: the InvoiceRequest the document says, built by the model's own validation (so a
  document the model cannot hold is refused with the field that does not fit);
- stated: the document's own totals, exactly as it states them, never recomputed: a document
  whose totals do not add up is still read, and the caller compares;
- not_carried: the request fields the format has no place for (its reader's NOT_CARRIED set),
  which a request read back from such a document never has;
- left_out: what this document says that the request model cannot hold (a document-level
  allowance, an attachment given only by its URL), each in a sentence.

Every failure is an UnreadableDocumentError (clearway.formats.hardened) whose message says why:
not well-formed XML, a DTD, the wrong root element, a missing mandatory element, a number or
date that is not one, content the model refuses. XML is only ever parsed by hardened_tree.

Field names in the NOT_CARRIED sets are the request's wire names, dotted: `customer.pec`, and
`lines[].natura` for a field of every line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from clearway.domain.invoice import MONEY_CONTEXT, InvoiceRequest
from clearway.formats.en16931 import Attachment, Contact, PostalAddress, SchemedId, Totals
from clearway.formats.hardened import UnreadableDocumentError, hardened_tree

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from lxml import etree

    from clearway.formats.en16931 import Document, DocumentLine, VatSubtotal

# A document larger than this is refused before it is parsed: ten 2 MB attachments in base64
# and the invoice itself fit well below it.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

# What no government format carries: Clearway's own fields, which never leave Clearway.
CLEARWAY_ONLY: frozenset[str] = frozenset({"companyId", "externalId", "metadata"})


@dataclass(frozen=True, slots=True, kw_only=True)
class StatedVat:
    """One VAT breakdown as the document states it (BG-23, DatiRiepilogo, FA(3)'s P_13/P_14)."""

    category: str | None  # BT-118; FatturaPA: the Natura; FA(3): the sum's field, e.g. "P_13_1"
    rate: Decimal | None  # BT-119
    taxable_amount: Decimal | None  # BT-116
    tax_amount: Decimal | None  # BT-117
    exemption_reason: str | None = None  # BT-120 (FatturaPA: RiferimentoNormativo)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatedTotals:
    """The totals the document states, as it states them (sign included); None where it states
    none (FatturaPA has no net total, FA(3) no VAT total)."""

    line_total: Decimal | None  # BT-106
    tax_exclusive: Decimal | None  # BT-109
    tax: Decimal | None  # BT-110
    tax_inclusive: Decimal | None  # BT-112; FatturaPA ImportoTotaleDocumento, FA(3) P_15
    payable: Decimal | None  # BT-115; FatturaPA ImportoPagamento
    vat_breakdown: tuple[StatedVat, ...]
    line_amounts: tuple[Decimal, ...]  # BT-131 of each line, in order


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadInvoice:
    format_name: str  # as clearway.formats names it: "UBL-CIUS-RO", "FACTUR-X", ...
    request: InvoiceRequest
    stated: StatedTotals
    not_carried: frozenset[str]
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadEn16931:
    """A UBL or CII document read back: its business terms, its stated totals, what it says
    that the request model cannot hold. document.totals is not read from (see
    placeholder_totals): stated is the document's word on its totals."""

    document: Document
    stated: StatedTotals
    left_out: tuple[str, ...]


def placeholder_totals(stated: StatedTotals) -> Totals:
    """en16931.Document needs every BG-22 total; a read document's are in StatedTotals, which
    keeps their absence too, so here an absent one is 0."""
    zero = Decimal(0)
    return Totals(
        line_total=stated.line_total or zero,
        tax_exclusive=stated.tax_exclusive or zero,
        tax=stated.tax or zero,
        tax_inclusive=stated.tax_inclusive or zero,
        payable=stated.payable or zero,
    )


def stated_breakdown(breakdown: Iterable[VatSubtotal]) -> tuple[StatedVat, ...]:
    return tuple(
        StatedVat(
            category=vat.category,
            rate=vat.rate,
            taxable_amount=vat.taxable_amount,
            tax_amount=vat.tax_amount,
            exemption_reason=vat.exemption_reason,
        )
        for vat in breakdown
    )


def refuse_oversized(content: bytes) -> None:
    if len(content) > MAX_DOCUMENT_BYTES:
        raise UnreadableDocumentError(
            f"The document is {len(content)} bytes; at most {MAX_DOCUMENT_BYTES} are read."
        )


def parse_root(xml: bytes) -> etree._Element:
    """The root element, parsed only by hardened_tree (no DTD, no entity expansion)."""
    refuse_oversized(xml)
    if b"<!DOCTYPE" in xml:
        # Refused before libxml2 reads the declarations at all (a billion-laughs DTD otherwise
        # ends in its amplification limit); hardened_tree refuses one an encoding hid from this.
        raise UnreadableDocumentError("The document declares a DTD, which e-invoices never do.")
    return hardened_tree(xml).getroot()


def party_fields(*names: str) -> frozenset[str]:
    """The same fields of both parties: party_fields("pec") is supplier.pec and customer.pec."""
    return frozenset(f"{role}.{name}" for role in ("supplier", "customer") for name in names)


class Fields:
    """Look-ups below one element, in one namespace map, with errors that name the element.

    Text is returned as the document has it (a note keeps its line breaks); an element that is
    absent or empty is None. The request model strips what it strips.
    """

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.namespaces = dict(namespaces)

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(path, self.namespaces)

    def element(self, parent: etree._Element, path: str, term: str) -> etree._Element:
        found = parent.find(path, self.namespaces)
        if found is None:
            raise UnreadableDocumentError(f"The document has no {term} ({path}).")
        return found

    def all(self, element: etree._Element, path: str) -> list[etree._Element]:
        return list(element.iterfind(path, self.namespaces))

    def text(self, element: etree._Element | None, path: str) -> str | None:
        if element is None:
            return None
        found = element.find(path, self.namespaces)
        return found.text if found is not None and found.text else None

    def texts(self, element: etree._Element, path: str) -> list[str]:
        return [found.text for found in element.iterfind(path, self.namespaces) if found.text]

    def required(self, element: etree._Element, path: str, term: str) -> str:
        value = self.text(element, path)
        if value is None or not value.strip():
            raise UnreadableDocumentError(f"The document has no {term} ({path}).")
        return value

    def decimal(self, element: etree._Element | None, path: str) -> Decimal | None:
        value = self.text(element, path)
        return None if value is None else decimal_of(value, path)

    def required_decimal(self, element: etree._Element, path: str, term: str) -> Decimal:
        return decimal_of(self.required(element, path, term), path)

    def date(self, element: etree._Element | None, path: str) -> dt.date | None:
        """An ISO 8601 date (YYYY-MM-DD) where the document states one."""
        value = self.text(element, path)
        return iso_date(value, path) if value else None


_DECIMAL = re.compile(r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$")
# Far more digits than any e-invoice amount, rate or quantity has (the request model's amounts
# are below 10^13 with at most 20 decimals); a longer number is refused before any arithmetic.
MAX_DECIMAL_DIGITS = 40


def decimal_of(text: str, where: str) -> Decimal:
    """A decimal as XML Schema writes one (no exponent, no NaN, no infinity)."""
    if not _DECIMAL.match(text):
        raise UnreadableDocumentError(f"{where} is {text.strip()[:40]!r}, not a decimal number.")
    if sum(char.isdigit() for char in text) > MAX_DECIMAL_DIGITS:
        raise UnreadableDocumentError(
            f"{where} has more than {MAX_DECIMAL_DIGITS} digits, more than any amount has."
        )
    try:
        return Decimal(text.strip())
    except InvalidOperation as error:  # the pattern admits only decimals: kept as a backstop
        raise UnreadableDocumentError(f"{where} is {text!r}, not a decimal number.") from error


def iso_date(text: str, where: str) -> dt.date:
    """YYYY-MM-DD (UBL, FatturaPA, FA(3))."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as error:
        raise UnreadableDocumentError(f"{where} is {text.strip()!r}, not a date.") from error


def compact_date(text: str, where: str) -> dt.date:
    """CCYYMMDD, format 102 (CII)."""
    value = text.strip()
    try:
        return dt.datetime.strptime(value, "%Y%m%d").replace(tzinfo=dt.UTC).date()
    except ValueError as error:
        raise UnreadableDocumentError(f"{where} is {value!r}, not a CCYYMMDD date.") from error


def base64_text(text: str) -> str:
    """An embedded file's base64, without the line breaks a sender may have wrapped it with."""
    return "".join(text.split())


def schemed_id(element: etree._Element | None) -> SchemedId | None:
    """An identifier element and its schemeID (UBL and CII write them alike)."""
    if element is None or not element.text:
        return None
    return SchemedId(element.text, element.get("schemeID"))


def embedded_attachment(reference: str, embedded: etree._Element) -> Attachment:
    """BG-24 from its binary object: mimeCode and filename attributes (UBL and CII alike); the
    filename is the reference (BT-122) when the sender gave none."""
    return Attachment(
        reference=reference,
        filename=embedded.get("filename") or reference,
        mime_type=embedded.get("mimeCode") or "",
        content_base64=base64_text(embedded.text or ""),
    )


def read_attachment(
    reference: str, embedded: etree._Element | None, *, by_url: bool, left_out: list[str]
) -> Attachment | None:
    """BG-24 when the document embeds it; None when it does not, said in left_out when the
    document gives it only by a URL, which the request model cannot hold."""
    if embedded is None or not embedded.text:
        if by_url:
            left_out.append(f"Attachment {reference!r}, given only by reference (BG-24).")
        return None
    return embedded_attachment(reference, embedded)


def leave_out_allowances(
    allowances: Sequence[etree._Element], left_out: list[str], *, line_id: str | None = None
) -> None:
    """Allowances and charges, of the document (BG-20/BG-21) or of a line (BG-27/BG-28), which
    the request model cannot hold: said in left_out when there are any."""
    if allowances and line_id is None:
        left_out.append("Document-level allowances and charges (BG-20, BG-21).")
    elif allowances:
        left_out.append(f"Line {line_id}: line allowances and charges (BG-27, BG-28).")


def leave_out_amounts(
    fields: Fields, parent: etree._Element | None, names: Iterable[str], left_out: list[str]
) -> None:
    """Document totals the request model cannot hold (allowances, charges, prepaid, rounding;
    BG-22): each one `parent` states (names with their prefix) and not zero, said in left_out
    by its name."""
    for name in names:
        amount = fields.decimal(parent, name)
        if amount:
            left_out.append(f"{name.partition(':')[2]} {amount} (BG-22).")


def require_lines(lines: tuple[DocumentLine, ...]) -> tuple[DocumentLine, ...]:
    """The lines; UnreadableDocumentError when there are none (EN 16931 needs one)."""
    if not lines:
        raise UnreadableDocumentError("The document has no invoice line (BG-25).")
    return lines


@dataclass(frozen=True, slots=True)
class AddressPaths:
    """Where a syntax states BG-5/BG-8's terms, relative to its address element."""

    street: str
    city: str
    postal_code: str
    subdivision: str
    country: str


def postal_address(
    fields: Fields, address: etree._Element | None, paths: AddressPaths
) -> PostalAddress | None:
    """BG-5/BG-8 by the syntax's paths (UBL and CII differ only in them)."""
    country = fields.text(address, paths.country)
    if address is None or country is None:
        return None  # an address needs its country (BT-40/BT-55), which the model needs too
    return PostalAddress(
        street=fields.text(address, paths.street),
        city=fields.text(address, paths.city),
        postal_code=fields.text(address, paths.postal_code),
        subdivision=fields.text(address, paths.subdivision),
        country=country,
    )


def party_contact(
    fields: Fields, contact: etree._Element | None, *, name: str, phone: str, email: str
) -> Contact | None:
    """BG-6/BG-9 by the syntax's paths; None where the party states no contact."""
    if contact is None:
        return None
    return Contact(
        name=fields.text(contact, name),
        phone=fields.text(contact, phone),
        email=fields.text(contact, email),
    )


def per_unit(
    net_price: Decimal,
    gross_price: Decimal | None,
    price_discount: Decimal | None,
    basis: Decimal | None,
) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """BT-149: prices stated per basis quantity, divided down to the request's per unit ones."""
    if not basis or basis == 1:
        return net_price, gross_price, price_discount
    with localcontext(MONEY_CONTEXT):
        return (
            net_price / basis,
            gross_price / basis if gross_price is not None else None,
            price_discount / basis if price_discount is not None else None,
        )


def joined(parts: Iterable[str]) -> str | None:
    """Texts a format splits into pieces (FatturaPA's Causale, FA(3)'s StopkaFaktury), whole."""
    text = "".join(parts)
    return text or None


def build_request(fields: dict[str, Any]) -> InvoiceRequest:
    """The request the document says, by the model's own rules; a document the model cannot
    hold is refused, naming the field."""
    try:
        return InvoiceRequest.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()[:5]
        )
        raise UnreadableDocumentError(
            f"The document does not fit the invoice model: {problems}."
        ) from None

"""An EN 16931 document read back (UBL, CII or Factur-X) -> the request POST /v1/invoices takes.

Pure: no I/O. The inverse of en16931.build_document, for every flavour; a flavour (a government's
format) says what its writer added that the request never had, and which request fields it has
no place for (its NOT_CARRIED set, in the ReadInvoice it answers):
- The document number (BT-1) is the request's invoiceNumber.
- Parties: BT-31 is the VAT number, else BT-32 (the seller of an invoice not subject to VAT,
  BR-O-02), else the legal registration identifier (BT-30/BT-47: CIUS-RO's buyer not registered
  for VAT, or a buyer left without VAT identifier by BR-O-02), else the first party identifier or
  the electronic address. A legal registration identifier without a scheme is the trade
  register; one with a scheme was derived by the writer (SIREN 0002, enterprise number 0208). The
  electronic address (BT-34/BT-49) is the peppolId ("scheme:identifier"), except the schemes the
  flavour maps to another field (EM: the e-mail; XRechnung's 0204: the Leitweg-ID) or derives
  from another field (the French directory's 0225: from the SIREN). The contact's phone and
  e-mail are the party's; its name is not in the request.
- Lines: the unit price is the gross price (BT-148) when there is a price discount, the net price
  (BT-146) otherwise; the discount is the price discount (BT-147). The exemption reason and code
  (BT-120/BT-121) are those of the line's VAT breakdown (same category and rate), since the
  writer states them once per breakdown. A rate not stated (O) is 0.
- Notes: every note, as UBL writes one ("#CODE#text" when it has a subject code), one per line,
  but for the notes the flavour's writer adds itself (France's three legal mentions).
- Payment means: the payee account (BT-84), its BIC (BT-86) and the payment terms (BT-20); BT-9 is
  the request's dueDate.
- Attachments: the embedded ones, by their filename (else their BT-122 reference); a MIME type
  the request model does not admit is left out, and said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clearway.domain.invoice import ATTACHMENT_MIME_TYPES, InvoiceType, VatCategory
from clearway.formats import PDF
from clearway.formats.cii_reader import is_cii, read_cii, read_cii_root
from clearway.formats.en16931 import SCHEME_EMAIL, TYPE_CODE_DEBIT_NOTE
from clearway.formats.hardened import UnreadableDocumentError
from clearway.formats.pdf_reader import factur_x_xml, is_pdf
from clearway.formats.reading import (
    CLEARWAY_ONLY,
    ReadInvoice,
    build_request,
    parse_root,
    party_fields,
)
from clearway.formats.ubl_reader import is_ubl, read_ubl_root

if TYPE_CHECKING:
    from collections.abc import Mapping

    from clearway.formats.en16931 import Document, DocumentLine, Note, TradeParty
    from clearway.formats.reading import ReadEn16931

# What no EN 16931 syntax carries, whatever the flavour: Clearway's own fields, the Polish
# exchange rate (BT-6 is not written), Italy's party codes and Natura.
NOT_CARRIED: frozenset[str] = (
    CLEARWAY_ONLY
    | {"exchangeRate", "lines[].natura"}
    | party_fields("fiscalCode", "pec", "sdiCode")
)

# An invoice not subject to VAT (O) states no buyer VAT identifier (BR-O-02).
NOT_CARRIED_WHEN_NOT_SUBJECT_TO_VAT: frozenset[str] = frozenset({"customer.vatNumber"})

# UNCL 1001 codes of the credit note family (EN 16931's code list for BT-3).
_CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Flavour:
    """What one government format's writer adds to EN 16931, for reading it back."""

    format_name: str
    not_carried: frozenset[str]
    # Electronic address schemes that are not a peppolId: the party field each fills, or None
    # when the writer derived the address from another field. EM (the e-mail) always is.
    endpoint_schemes: Mapping[str, str | None] = field(default_factory=dict)
    # Party identifier (BT-29/BT-46) schemes that are a party field: e.g. SIRET, 0009 -> siret.
    identifier_schemes: Mapping[str, str] = field(default_factory=dict)
    # Notes the writer adds to every document: not the request's note.
    added_notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Flavours:
    """A government's formats, by syntax: None for a syntax it does not take."""

    ubl: Flavour | None = None
    cii: Flavour | None = None
    factur_x: Flavour | None = None


def read_en16931_document(
    content: bytes, media_type: str, *, country: str, flavours: Flavours
) -> ReadInvoice:
    """A government's document in the syntaxes it takes, read back."""
    ubl, cii, factur_x = flavours.ubl, flavours.cii, flavours.factur_x
    if media_type == PDF or is_pdf(content):
        if factur_x is None:
            raise UnreadableDocumentError(f"A PDF is not an e-invoice format {country} takes.")
        return read_invoice(read_cii(factur_x_xml(content)), country=country, flavour=factur_x)
    root = parse_root(content)
    if ubl is not None and is_ubl(root):
        return read_invoice(read_ubl_root(root), country=country, flavour=ubl)
    if cii is not None and is_cii(root):
        return read_invoice(read_cii_root(root), country=country, flavour=cii)
    taken = " or ".join(
        name
        for name, flavour in (("a UBL Invoice or CreditNote", ubl), ("a CII invoice", cii))
        if flavour is not None
    )
    raise UnreadableDocumentError(f"The root element is {root.tag}, not {taken}.")


def read_invoice(read: ReadEn16931, *, country: str, flavour: Flavour) -> ReadInvoice:
    document = read.document
    left_out = list(read.left_out)
    fields: dict[str, Any] = {
        "country": country,
        "invoice_type": invoice_type(document),
        "invoice_number": document.number,
        "supplier": _party(document.seller, "seller", flavour),
        "customer": _party(document.buyer, "buyer", flavour),
        "lines": _lines(document),
        "currency": document.currency,
        "issue_date": document.issue_date,
        "due_date": document.due_date,
        "note": _note(document, flavour),
        "payment_means": _payment_means(document),
        "attachments": _attachments(document, left_out),
        "buyer_reference": document.buyer_reference,
        "purchase_order_reference": document.order_reference,
        "preceding_invoice": (
            {
                "number": document.preceding_invoice.number,
                "issue_date": document.preceding_invoice.issue_date,
            }
            if document.preceding_invoice is not None
            else None
        ),
    }
    not_carried = flavour.not_carried
    if any(vat.category == VatCategory.OUTSIDE_SCOPE for vat in document.vat_breakdown):
        # BR-O-02: the buyer's VAT identifier is not written; its vatNumber is a stand-in.
        not_carried |= NOT_CARRIED_WHEN_NOT_SUBJECT_TO_VAT
        if document.buyer.vat_id is None:
            left_out.append(
                "The buyer's VAT identifier (BT-48), which an invoice not subject to VAT does "
                f"not state: vatNumber is its identifier {fields['customer']['vat_number']!r}."
            )
    return ReadInvoice(
        format_name=flavour.format_name,
        request=build_request(fields),
        stated=read.stated,
        not_carried=not_carried,
        left_out=tuple(left_out),
    )


def invoice_type(document: Document) -> InvoiceType:
    if document.type_code == TYPE_CODE_DEBIT_NOTE:
        return InvoiceType.DEBIT_NOTE
    if document.is_credit_note or document.type_code in _CREDIT_NOTE_CODES:
        return InvoiceType.CREDIT_NOTE
    return InvoiceType.INVOICE


def _party(party: TradeParty, role: str, flavour: Flavour) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": party.name, **_identification(party, role)}
    if party.contact is not None:
        fields["email"] = party.contact.email
        fields["phone"] = party.contact.phone
    endpoint = party.endpoint
    if endpoint is not None:
        schemes = {SCHEME_EMAIL: "email", **flavour.endpoint_schemes}
        if endpoint.scheme in schemes:
            target = schemes[endpoint.scheme]
            if target is not None and not fields.get(target):
                fields[target] = endpoint.value
        elif endpoint.scheme:
            fields["peppol_id"] = f"{endpoint.scheme}:{endpoint.value}"
    for identifier in party.identifiers:
        target = flavour.identifier_schemes.get(identifier.scheme or "")
        if target is not None:
            fields.setdefault(target, identifier.value)
    address = party.address
    if address is not None:
        fields["address"] = {
            "street": address.street,
            "city": address.city,
            "postal_code": address.postal_code,
            "state_or_province": address.subdivision,
            "country": address.country,
        }
    return fields


def _identification(party: TradeParty, role: str) -> dict[str, Any]:
    """vatNumber and tradeRegister (see the module doc)."""
    legal = party.legal_id
    trade_register = legal.value if legal is not None and not legal.scheme else None
    vat_number = party.vat_id or party.tax_registration_id
    if vat_number is None:
        endpoint = party.endpoint
        stand_in = legal or next(iter(party.identifiers), None)
        if stand_in is None and endpoint is not None and endpoint.scheme != SCHEME_EMAIL:
            stand_in = endpoint
        if stand_in is None:
            raise UnreadableDocumentError(
                f"The {role} has no VAT, legal registration or other identifier to stand for "
                "its vatNumber."
            )
        vat_number = stand_in.value
        if stand_in is legal:
            trade_register = None  # the registration number is its identifier
    return {"vat_number": vat_number, "trade_register": trade_register}


def _lines(document: Document) -> list[dict[str, Any]]:
    reasons = {
        (vat.category, vat.rate or Decimal(0)): (vat.exemption_reason, vat.exemption_code)
        for vat in reversed(document.vat_breakdown)  # the first breakdown of a key wins
    }
    return [_line(line, reasons) for line in document.lines]


def _line(
    line: DocumentLine, reasons: Mapping[tuple[str, Decimal], tuple[str | None, str | None]]
) -> dict[str, Any]:
    rate = line.vat_rate or Decimal(0)
    reason, code = reasons.get((line.vat_category, rate), (None, None))
    fields: dict[str, Any] = {
        "description": line.name,
        "quantity": line.quantity,
        "unit_price": line.gross_price if line.gross_price is not None else line.net_price,
        "discount": line.price_discount,
        "vat_rate": rate,
        "item_code": line.seller_item_id,
        "vat_category": line.vat_category,
        "vat_exemption_reason": reason,
        "vat_exemption_reason_code": code,
    }
    if line.unit_code:
        fields["unit_code"] = line.unit_code
    return fields


def _note(document: Document, flavour: Flavour) -> str | None:
    notes = [note for note in document.notes if note not in flavour.added_notes]
    text = "\n".join(
        f"#{note.subject_code}#{note.text}" if note.subject_code else note.text for note in notes
    )
    return text or None


def _payment_means(document: Document) -> dict[str, Any] | None:
    payment = document.payment
    fields = {
        "bank_account": payment.account if payment is not None else None,
        "bic": payment.bic if payment is not None else None,
        "payment_terms": document.payment_terms,
    }
    return fields if any(fields.values()) else None


def _attachments(document: Document, left_out: list[str]) -> list[dict[str, Any]]:
    attachments = []
    for attachment in document.attachments:
        if attachment.mime_type not in ATTACHMENT_MIME_TYPES:
            left_out.append(
                f"Attachment {attachment.filename!r}: its MIME type {attachment.mime_type!r} is "
                "not one an invoice may carry (BT-125-1)."
            )
            continue
        attachments.append(
            {
                "filename": attachment.filename,
                "content": attachment.content_base64,
                "mime_type": attachment.mime_type,
            }
        )
    return attachments

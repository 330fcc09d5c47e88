"""UBL 2.1 Invoice or CreditNote -> the EN 16931 document (en16931.Document): ubl.py read back.

Pure: no I/O; parsed only by clearway.formats.hardened. Reads the business terms ubl.py writes,
by the same syntax binding (EN 16931-3-2), from any sender: a note's "#CODE#text" is its subject
code and text; BT-32 is a PartyTaxScheme whose scheme is not VAT; BT-9 of a CreditNote is
PaymentMeans/PaymentDueDate; a price per base quantity (BT-149) is divided down to a unit price.

What a received document may say that the request model cannot hold is listed in left_out:
document-level allowances and charges (BG-20/BG-21), prepaid and rounding amounts, line-level
allowances and charges (BG-27/BG-28), attachments given only by a URL.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree

from clearway.formats.en16931 import (
    Attachment,
    Document,
    DocumentLine,
    Note,
    PaymentInstructions,
    PostalAddress,
    PrecedingInvoice,
    TradeParty,
    VatSubtotal,
)
from clearway.formats.hardened import UnreadableDocumentError
from clearway.formats.reading import (
    AddressPaths,
    Fields,
    ReadEn16931,
    StatedTotals,
    iso_date,
    leave_out_allowances,
    leave_out_amounts,
    parse_root,
    party_contact,
    per_unit,
    placeholder_totals,
    postal_address,
    read_attachment,
    require_lines,
    schemed_id,
    stated_breakdown,
)
from clearway.formats.ubl import NS_CAC, NS_CBC, NS_CREDIT_NOTE, NS_INVOICE, VAT_SCHEME

if TYPE_CHECKING:
    import datetime as dt

UBL = Fields({"cac": NS_CAC, "cbc": NS_CBC})
_ADDRESS = AddressPaths(
    street="cbc:StreetName",
    city="cbc:CityName",
    postal_code="cbc:PostalZone",
    subdivision="cbc:CountrySubentity",
    country="cac:Country/cbc:IdentificationCode",
)
_ROOTS = {(NS_INVOICE, "Invoice"), (NS_CREDIT_NOTE, "CreditNote")}
_NOTE = re.compile(r"^#([A-Z]{3})#(.*)\Z", re.DOTALL)
_UNSUPPORTED_TOTALS = (
    "cbc:AllowanceTotalAmount",
    "cbc:ChargeTotalAmount",
    "cbc:PrepaidAmount",
    "cbc:PayableRoundingAmount",
)


def is_ubl(root: etree._Element) -> bool:
    name = etree.QName(root)
    return (name.namespace, name.localname) in _ROOTS


def read_ubl(xml: bytes) -> ReadEn16931:
    """The document's business terms; UnreadableDocumentError when it is not a UBL invoice or
    credit note, or lacks what EN 16931 makes mandatory (BT-1, BT-2, BT-5, a line, the parties)."""
    return read_ubl_root(parse_root(xml))


def read_ubl_root(root: etree._Element) -> ReadEn16931:
    if not is_ubl(root):
        raise UnreadableDocumentError(
            f"The root element is {root.tag}, not a UBL 2.1 Invoice or CreditNote."
        )
    credit_note = etree.QName(root).localname == "CreditNote"
    left_out: list[str] = []
    currency = UBL.required(root, "cbc:DocumentCurrencyCode", "currency (BT-5)")
    breakdown, tax = _tax_total(root, currency)
    monetary = UBL.find(root, "cac:LegalMonetaryTotal")
    leave_out_amounts(UBL, monetary, _UNSUPPORTED_TOTALS, left_out)
    lines = require_lines(
        tuple(
            _line(element, left_out)
            for element in UBL.all(root, "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine")
        )
    )
    leave_out_allowances(UBL.all(root, "cac:AllowanceCharge"), left_out)
    payment, due_date = _payment(root)
    stated = StatedTotals(
        line_total=UBL.decimal(monetary, "cbc:LineExtensionAmount"),
        tax_exclusive=UBL.decimal(monetary, "cbc:TaxExclusiveAmount"),
        tax=tax,
        tax_inclusive=UBL.decimal(monetary, "cbc:TaxInclusiveAmount"),
        payable=UBL.decimal(monetary, "cbc:PayableAmount"),
        vat_breakdown=stated_breakdown(breakdown),
        line_amounts=tuple(line.net_amount for line in lines),
    )
    document = Document(
        customization_id=UBL.text(root, "cbc:CustomizationID") or "",
        business_process=UBL.text(root, "cbc:ProfileID"),
        number=UBL.required(root, "cbc:ID", "invoice number (BT-1)"),
        issue_date=iso_date(
            UBL.required(root, "cbc:IssueDate", "issue date (BT-2)"), "cbc:IssueDate"
        ),
        type_code=UBL.text(root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode")
        or "",
        is_credit_note=credit_note,
        currency=currency,
        due_date=due_date,
        notes=tuple(_note(text) for text in UBL.texts(root, "cbc:Note")),
        buyer_reference=UBL.text(root, "cbc:BuyerReference"),
        order_reference=UBL.text(root, "cac:OrderReference/cbc:ID"),
        preceding_invoice=_preceding(root),
        seller=_party(root, "cac:AccountingSupplierParty", "seller (BG-4)"),
        buyer=_party(root, "cac:AccountingCustomerParty", "buyer (BG-7)"),
        delivery=None,  # derived from the buyer's address by the writers; not in the request
        payment=payment,
        payment_terms=UBL.text(root, "cac:PaymentTerms/cbc:Note"),
        attachments=_attachments(root, left_out),
        vat_breakdown=breakdown,
        totals=placeholder_totals(stated),
        lines=lines,
    )
    return ReadEn16931(document, stated, tuple(left_out))


def _note(text: str) -> Note:
    match = _NOTE.match(text)
    return Note(match.group(2), match.group(1)) if match else Note(text)


def _preceding(root: etree._Element) -> PrecedingInvoice | None:
    reference = UBL.find(root, "cac:BillingReference/cac:InvoiceDocumentReference")
    if reference is None:
        return None
    issued = UBL.text(reference, "cbc:IssueDate")
    return PrecedingInvoice(
        number=UBL.required(reference, "cbc:ID", "preceding invoice number (BT-25)"),
        issue_date=iso_date(issued, "cbc:IssueDate (BT-26)") if issued else None,
    )


def _party(root: etree._Element, path: str, term: str) -> TradeParty:
    party = UBL.find(root, f"{path}/cac:Party")
    if party is None:
        raise UnreadableDocumentError(f"The document has no {term} ({path}/cac:Party).")
    vat_id = tax_registration = None
    for scheme in UBL.all(party, "cac:PartyTaxScheme"):
        company_id = UBL.text(scheme, "cbc:CompanyID")
        if UBL.text(scheme, "cac:TaxScheme/cbc:ID") == VAT_SCHEME:
            vat_id = vat_id or company_id
        else:
            tax_registration = tax_registration or company_id
    name = UBL.text(party, "cac:PartyLegalEntity/cbc:RegistrationName") or UBL.text(
        party, "cac:PartyName/cbc:Name"
    )
    if name is None:
        raise UnreadableDocumentError(f"The {term} has no name (cbc:RegistrationName).")
    return TradeParty(
        name=name,
        identifiers=tuple(
            identifier
            for element in UBL.all(party, "cac:PartyIdentification/cbc:ID")
            if (identifier := schemed_id(element)) is not None
        ),
        legal_id=schemed_id(UBL.find(party, "cac:PartyLegalEntity/cbc:CompanyID")),
        vat_id=vat_id,
        tax_registration_id=tax_registration,
        endpoint=schemed_id(UBL.find(party, "cbc:EndpointID")),
        address=_address(UBL.find(party, "cac:PostalAddress")),
        contact=party_contact(
            UBL,
            UBL.find(party, "cac:Contact"),
            name="cbc:Name",
            phone="cbc:Telephone",
            email="cbc:ElectronicMail",
        ),
    )


def _address(postal: etree._Element | None) -> PostalAddress | None:
    return postal_address(UBL, postal, _ADDRESS)


def _payment(root: etree._Element) -> tuple[PaymentInstructions | None, dt.date | None]:
    # An Invoice states BT-9 as cbc:DueDate, a CreditNote in PaymentMeans: both are read.
    due = UBL.text(root, "cbc:DueDate")
    payment: PaymentInstructions | None = None
    for means in UBL.all(root, "cac:PaymentMeans"):
        due = due or UBL.text(means, "cbc:PaymentDueDate")
        account = UBL.text(means, "cac:PayeeFinancialAccount/cbc:ID")
        if payment is None and account is not None:
            payment = PaymentInstructions(
                means_code=UBL.text(means, "cbc:PaymentMeansCode") or "",
                account=account,
                bic=UBL.text(
                    means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"
                ),
            )
    return payment, iso_date(due, "the due date (BT-9)") if due else None


def _attachments(root: etree._Element, left_out: list[str]) -> tuple[Attachment, ...]:
    read = (
        read_attachment(
            UBL.text(reference, "cbc:ID") or "",
            UBL.find(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject"),
            by_url=UBL.find(reference, "cac:Attachment") is not None,
            left_out=left_out,
        )
        for reference in UBL.all(root, "cac:AdditionalDocumentReference")
    )
    return tuple(attachment for attachment in read if attachment is not None)


def _tax_total(
    root: etree._Element, currency: str
) -> tuple[tuple[VatSubtotal, ...], Decimal | None]:
    """BG-23 from the TaxTotal in the document currency (a second TaxTotal, BT-111, is in the
    accounting currency and has no breakdown), and its BT-110."""
    tax: Decimal | None = None
    subtotals: list[VatSubtotal] = []
    for total in UBL.all(root, "cac:TaxTotal"):
        amount = UBL.find(total, "cbc:TaxAmount")
        if amount is not None and amount.get("currencyID") in {None, currency} and tax is None:
            tax = UBL.decimal(total, "cbc:TaxAmount")
        for subtotal in UBL.all(total, "cac:TaxSubtotal"):
            category = UBL.find(subtotal, "cac:TaxCategory")
            subtotals.append(
                VatSubtotal(
                    category=UBL.text(category, "cbc:ID") or "",
                    rate=UBL.decimal(category, "cbc:Percent"),
                    taxable_amount=UBL.required_decimal(
                        subtotal, "cbc:TaxableAmount", "VAT category taxable amount (BT-116)"
                    ),
                    tax_amount=UBL.required_decimal(
                        subtotal, "cbc:TaxAmount", "VAT category tax amount (BT-117)"
                    ),
                    exemption_reason=UBL.text(category, "cbc:TaxExemptionReason"),
                    exemption_code=UBL.text(category, "cbc:TaxExemptionReasonCode"),
                )
            )
    return tuple(subtotals), tax


def _line(element: etree._Element, left_out: list[str]) -> DocumentLine:
    line_id = UBL.required(element, "cbc:ID", "line identifier (BT-126)")
    credit_note = etree.QName(element).localname == "CreditNoteLine"
    quantity_path = "cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity"
    quantity_element = UBL.find(element, quantity_path)
    quantity = UBL.required_decimal(element, quantity_path, f"line {line_id} quantity (BT-129)")
    price = UBL.find(element, "cac:Price")
    if price is None:
        raise UnreadableDocumentError(f"Line {line_id} has no price (cac:Price, BT-146).")
    net_price = UBL.required_decimal(price, "cbc:PriceAmount", f"line {line_id} net price")
    base_quantity = UBL.decimal(price, "cbc:BaseQuantity")
    gross_price = price_discount = None
    for allowance in UBL.all(price, "cac:AllowanceCharge"):
        if UBL.text(allowance, "cbc:ChargeIndicator") == "false":
            price_discount = UBL.decimal(allowance, "cbc:Amount")
            gross_price = UBL.decimal(allowance, "cbc:BaseAmount")
    if price_discount is not None and gross_price is None:
        gross_price = net_price + price_discount
    net_price, gross_price, price_discount = per_unit(
        net_price, gross_price, price_discount, base_quantity
    )
    leave_out_allowances(UBL.all(element, "cac:AllowanceCharge"), left_out, line_id=line_id)
    category = UBL.find(element, "cac:Item/cac:ClassifiedTaxCategory")
    return DocumentLine(
        line_id=line_id,
        name=UBL.required(element, "cac:Item/cbc:Name", f"line {line_id} item name (BT-153)"),
        seller_item_id=UBL.text(element, "cac:Item/cac:SellersItemIdentification/cbc:ID"),
        quantity=quantity,
        unit_code=(quantity_element.get("unitCode") if quantity_element is not None else None)
        or "",
        net_amount=UBL.required_decimal(
            element, "cbc:LineExtensionAmount", f"line {line_id} net amount (BT-131)"
        ),
        net_price=net_price,
        gross_price=gross_price,
        price_discount=price_discount,
        vat_category=UBL.required(category, "cbc:ID", f"line {line_id} VAT category (BT-151)")
        if category is not None
        else _missing(f"line {line_id} VAT category (BT-151)"),
        vat_rate=UBL.decimal(category, "cbc:Percent"),
    )


def _missing(term: str) -> str:
    raise UnreadableDocumentError(f"The document has no {term}.")

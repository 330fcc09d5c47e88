"""UN/CEFACT CII D16B CrossIndustryInvoice -> the EN 16931 document (en16931.Document): cii.py
read back.

Pure: no I/O; parsed only by clearway.formats.hardened. Reads the business terms cii.py writes,
by the same syntax binding (EN 16931-3-3), from any sender: dates in format 102 (CCYYMMDD), BT-31
a tax registration with scheme VA and BT-32 one with scheme FC, BT-29 as ram:ID or ram:GlobalID,
the net price per its basis quantity (BT-149) divided down to a unit price.

What a received document may say that the request model cannot hold is listed in left_out:
document-level allowances and charges (BG-20/BG-21), prepaid and rounding amounts, line-level
allowances and charges (BG-27/BG-28), attachments given only by a URL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree

from clearway.formats.cii import (
    NS_QDT,
    NS_RAM,
    NS_RSM,
    NS_UDT,
    TAX_REGISTRATION_SCHEME,
    VAT_REGISTRATION_SCHEME,
)
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
    compact_date,
    decimal_of,
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

if TYPE_CHECKING:
    import datetime as dt

CII = Fields({"rsm": NS_RSM, "ram": NS_RAM, "udt": NS_UDT, "qdt": NS_QDT})
_ADDRESS = AddressPaths(
    street="ram:LineOne",
    city="ram:CityName",
    postal_code="ram:PostcodeCode",
    subdivision="ram:CountrySubDivisionName",
    country="ram:CountryID",
)
ROOT = etree.QName(NS_RSM, "CrossIndustryInvoice")
_SUMMATION = "ram:SpecifiedTradeSettlementHeaderMonetarySummation"
_UNSUPPORTED_TOTALS = (
    "ram:ChargeTotalAmount",
    "ram:AllowanceTotalAmount",
    "ram:TotalPrepaidAmount",
    "ram:RoundingAmount",
)


def is_cii(root: etree._Element) -> bool:
    return etree.QName(root) == ROOT


def read_cii(xml: bytes) -> ReadEn16931:
    """The document's business terms; UnreadableDocumentError when it is not a CII invoice, or
    lacks what EN 16931 makes mandatory (BT-1, BT-2, BT-5, a line, the parties)."""
    return read_cii_root(parse_root(xml))


def read_cii_root(root: etree._Element) -> ReadEn16931:
    if not is_cii(root):
        raise UnreadableDocumentError(
            f"The root element is {root.tag}, not a UN/CEFACT CII CrossIndustryInvoice."
        )
    header = CII.element(root, "rsm:ExchangedDocument", "document header")
    transaction = CII.element(root, "rsm:SupplyChainTradeTransaction", "trade transaction")
    agreement = CII.element(
        transaction, "ram:ApplicableHeaderTradeAgreement", "header trade agreement"
    )
    settlement = CII.element(
        transaction, "ram:ApplicableHeaderTradeSettlement", "header trade settlement"
    )
    left_out: list[str] = []
    lines = require_lines(
        tuple(
            _line(item, left_out)
            for item in CII.all(transaction, "ram:IncludedSupplyChainTradeLineItem")
        )
    )
    leave_out_allowances(CII.all(settlement, "ram:SpecifiedTradeAllowanceCharge"), left_out)
    summation = CII.find(settlement, _SUMMATION)
    leave_out_amounts(CII, summation, _UNSUPPORTED_TOTALS, left_out)
    breakdown = tuple(_trade_tax(tax) for tax in CII.all(settlement, "ram:ApplicableTradeTax"))
    stated = StatedTotals(
        line_total=CII.decimal(summation, "ram:LineTotalAmount"),
        tax_exclusive=CII.decimal(summation, "ram:TaxBasisTotalAmount"),
        tax=_tax_total(summation, CII.text(settlement, "ram:InvoiceCurrencyCode")),
        tax_inclusive=CII.decimal(summation, "ram:GrandTotalAmount"),
        payable=CII.decimal(summation, "ram:DuePayableAmount"),
        vat_breakdown=stated_breakdown(breakdown),
        line_amounts=tuple(line.net_amount for line in lines),
    )
    terms = CII.find(settlement, "ram:SpecifiedTradePaymentTerms")
    type_code = CII.text(header, "ram:TypeCode") or ""
    document = Document(
        customization_id=CII.text(
            root,
            "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        )
        or "",
        business_process=CII.text(
            root,
            "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter"
            "/ram:ID",
        ),
        number=CII.required(header, "ram:ID", "invoice number (BT-1)"),
        issue_date=_date(header, "ram:IssueDateTime/udt:DateTimeString", "issue date (BT-2)"),
        type_code=type_code,
        is_credit_note=False,  # a UBL distinction; the type code says it here
        currency=CII.required(settlement, "ram:InvoiceCurrencyCode", "currency (BT-5)"),
        due_date=_optional_date(terms, "ram:DueDateDateTime/udt:DateTimeString"),
        notes=tuple(
            Note(content, CII.text(note, "ram:SubjectCode"))
            for note in CII.all(header, "ram:IncludedNote")
            if (content := CII.text(note, "ram:Content")) is not None
        ),
        buyer_reference=CII.text(agreement, "ram:BuyerReference"),
        order_reference=CII.text(
            agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        preceding_invoice=_preceding(settlement),
        seller=_party(agreement, "ram:SellerTradeParty", "seller (BG-4)"),
        buyer=_party(agreement, "ram:BuyerTradeParty", "buyer (BG-7)"),
        delivery=None,  # derived from the buyer's address by the writers; not in the request
        payment=_payment(settlement),
        payment_terms=CII.text(terms, "ram:Description"),
        attachments=_attachments(agreement, left_out),
        vat_breakdown=breakdown,
        totals=placeholder_totals(stated),
        lines=lines,
    )
    return ReadEn16931(document, stated, tuple(left_out))


def _date(parent: etree._Element, path: str, term: str) -> dt.date:
    return compact_date(CII.required(parent, path, term), path)


def _optional_date(parent: etree._Element | None, path: str) -> dt.date | None:
    text = CII.text(parent, path)
    return compact_date(text, path) if text else None


def _tax_total(summation: etree._Element | None, currency: str | None) -> Decimal | None:
    """BT-110: the TaxTotalAmount in the invoice currency (a second one, BT-111, is in the
    accounting currency)."""
    if summation is None:
        return None
    for amount in CII.all(summation, "ram:TaxTotalAmount"):
        if amount.text and amount.get("currencyID") in {None, currency}:
            return decimal_of(amount.text, "ram:TaxTotalAmount (BT-110)")
    return None


def _preceding(settlement: etree._Element) -> PrecedingInvoice | None:
    reference = CII.find(settlement, "ram:InvoiceReferencedDocument")
    if reference is None:
        return None
    return PrecedingInvoice(
        number=CII.required(reference, "ram:IssuerAssignedID", "preceding invoice number (BT-25)"),
        issue_date=_optional_date(reference, "ram:FormattedIssueDateTime/qdt:DateTimeString"),
    )


def _party(agreement: etree._Element, path: str, term: str) -> TradeParty:
    party = CII.element(agreement, path, term)
    registrations = {
        element.get("schemeID"): element.text
        for element in reversed(CII.all(party, "ram:SpecifiedTaxRegistration/ram:ID"))
        if element.text
    }
    return TradeParty(
        name=CII.required(party, "ram:Name", f"{term} name"),
        identifiers=tuple(
            identifier
            for element in (*CII.all(party, "ram:ID"), *CII.all(party, "ram:GlobalID"))
            if (identifier := schemed_id(element)) is not None
        ),
        legal_id=schemed_id(CII.find(party, "ram:SpecifiedLegalOrganization/ram:ID")),
        vat_id=registrations.get(VAT_REGISTRATION_SCHEME),
        tax_registration_id=registrations.get(TAX_REGISTRATION_SCHEME),
        endpoint=schemed_id(CII.find(party, "ram:URIUniversalCommunication/ram:URIID")),
        address=_address(CII.find(party, "ram:PostalTradeAddress")),
        contact=party_contact(
            CII,
            CII.find(party, "ram:DefinedTradeContact"),
            name="ram:PersonName",
            phone="ram:TelephoneUniversalCommunication/ram:CompleteNumber",
            email="ram:EmailURIUniversalCommunication/ram:URIID",
        ),
    )


def _address(address: etree._Element | None) -> PostalAddress | None:
    return postal_address(CII, address, _ADDRESS)


def _payment(settlement: etree._Element) -> PaymentInstructions | None:
    for means in CII.all(settlement, "ram:SpecifiedTradeSettlementPaymentMeans"):
        account = CII.find(means, "ram:PayeePartyCreditorFinancialAccount")
        number = CII.text(account, "ram:IBANID") or CII.text(account, "ram:ProprietaryID")
        if number is not None:
            return PaymentInstructions(
                means_code=CII.text(means, "ram:TypeCode") or "",
                account=number,
                bic=CII.text(means, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"),
            )
    return None


def _attachments(agreement: etree._Element, left_out: list[str]) -> tuple[Attachment, ...]:
    read = (
        read_attachment(
            CII.text(reference, "ram:IssuerAssignedID") or "",
            CII.find(reference, "ram:AttachmentBinaryObject"),
            by_url=CII.text(reference, "ram:URIID") is not None,
            left_out=left_out,
        )
        for reference in CII.all(agreement, "ram:AdditionalReferencedDocument")
    )
    return tuple(attachment for attachment in read if attachment is not None)


def _trade_tax(tax: etree._Element) -> VatSubtotal:
    return VatSubtotal(
        category=CII.required(tax, "ram:CategoryCode", "VAT category code (BT-118)"),
        rate=CII.decimal(tax, "ram:RateApplicablePercent"),
        taxable_amount=CII.required_decimal(
            tax, "ram:BasisAmount", "VAT category taxable amount (BT-116)"
        ),
        tax_amount=CII.required_decimal(
            tax, "ram:CalculatedAmount", "VAT category tax amount (BT-117)"
        ),
        exemption_reason=CII.text(tax, "ram:ExemptionReason"),
        exemption_code=CII.text(tax, "ram:ExemptionReasonCode"),
    )


def _line(item: etree._Element, left_out: list[str]) -> DocumentLine:
    line_id = CII.required(
        item, "ram:AssociatedDocumentLineDocument/ram:LineID", "line identifier (BT-126)"
    )
    agreement = CII.element(item, "ram:SpecifiedLineTradeAgreement", f"line {line_id} price")
    net = CII.element(agreement, "ram:NetPriceProductTradePrice", f"line {line_id} net price")
    net_price = CII.required_decimal(net, "ram:ChargeAmount", f"line {line_id} net price (BT-146)")
    basis = CII.decimal(net, "ram:BasisQuantity")
    gross = CII.find(agreement, "ram:GrossPriceProductTradePrice")
    gross_price = CII.decimal(gross, "ram:ChargeAmount")
    price_discount = None
    if gross is not None:
        for allowance in CII.all(gross, "ram:AppliedTradeAllowanceCharge"):
            if CII.text(allowance, "ram:ChargeIndicator/udt:Indicator") == "false":
                price_discount = CII.decimal(allowance, "ram:ActualAmount")
    if gross_price is not None and price_discount is None and gross_price != net_price:
        price_discount = gross_price - net_price
    if gross_price is not None and price_discount is None:
        gross_price = None  # a gross price equal to the net one: no discount to state
    net_price, gross_price, price_discount = per_unit(net_price, gross_price, price_discount, basis)
    delivery = CII.find(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    settlement = CII.element(item, "ram:SpecifiedLineTradeSettlement", f"line {line_id} settlement")
    leave_out_allowances(
        CII.all(settlement, "ram:SpecifiedTradeAllowanceCharge"), left_out, line_id=line_id
    )
    tax = CII.find(settlement, "ram:ApplicableTradeTax")
    return DocumentLine(
        line_id=line_id,
        name=CII.required(item, "ram:SpecifiedTradeProduct/ram:Name", f"line {line_id} name"),
        seller_item_id=CII.text(item, "ram:SpecifiedTradeProduct/ram:SellerAssignedID"),
        quantity=CII.required_decimal(
            item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", f"line {line_id} quantity"
        ),
        unit_code=(delivery.get("unitCode") if delivery is not None else None) or "",
        net_amount=CII.required_decimal(
            settlement,
            "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
            f"line {line_id} net amount (BT-131)",
        ),
        net_price=net_price,
        gross_price=gross_price,
        price_discount=price_discount,
        vat_category=CII.required(
            settlement,
            "ram:ApplicableTradeTax/ram:CategoryCode",
            f"line {line_id} VAT category (BT-151)",
        ),
        vat_rate=CII.decimal(tax, "ram:RateApplicablePercent"),
    )

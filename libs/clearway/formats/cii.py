"""EN 16931 document -> UN/CEFACT Cross Industry Invoice D16B, as EN 16931-3-3 binds it.

Pure: no I/O. Built with lxml, elements in the D16B schema's order (sequences: order is validity;
the CII XSD gate checks it). The same writer serves XRechnung CII, EN 16931 CII for France and the
XML inside a Factur-X PDF; the flavours differ only in the document they pass.

Syntax choices:
- Amounts carry no currencyID except the VAT total (BT-110), as EN 16931-3-3 and Factur-X ask.
- Dates are udt:DateTimeString / qdt:DateTimeString with format 102 (CCYYMMDD).
- BT-29 with a scheme is ram:GlobalID, without one ram:ID; BT-31 is a tax registration with
  scheme VA, BT-32 with scheme FC.
- An embedded attachment is an additional referenced document of type 916 (BT-122..BT-125).
- A credit note is TypeCode 381 with positive amounts, as in UBL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from clearway.domain.invoice import money_str
from clearway.formats.en16931 import decimal_text, price_text

if TYPE_CHECKING:
    import datetime as dt

    from clearway.formats.en16931 import (
        Contact,
        Document,
        DocumentLine,
        PostalAddress,
        SchemedId,
        TradeParty,
        VatSubtotal,
    )

NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

VAT_TYPE_CODE = "VAT"
VAT_REGISTRATION_SCHEME = "VA"
TAX_REGISTRATION_SCHEME = "FC"
ATTACHMENT_TYPE_CODE = "916"  # UNCL 1001: related document
DATE_FORMAT = "102"  # CCYYMMDD


def write_cii(document: Document) -> bytes:
    """The CrossIndustryInvoice, as UTF-8 bytes with an XML declaration."""
    nsmap = {"rsm": NS_RSM, "ram": NS_RAM, "udt": NS_UDT, "qdt": NS_QDT}
    root = etree.Element(etree.QName(NS_RSM, "CrossIndustryInvoice"), nsmap=nsmap)

    context = _rsm(root, "ExchangedDocumentContext")
    if document.business_process:
        parameter = _ram(context, "BusinessProcessSpecifiedDocumentContextParameter")
        _ram(parameter, "ID", document.business_process)
    _ram(
        _ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", document.customization_id
    )

    header = _rsm(root, "ExchangedDocument")
    _ram(header, "ID", document.number)
    _ram(header, "TypeCode", document.type_code)
    _date(_ram(header, "IssueDateTime"), document.issue_date)
    for note in document.notes:
        included = _ram(header, "IncludedNote")
        _ram(included, "Content", note.text)
        if note.subject_code:
            _ram(included, "SubjectCode", note.subject_code)

    transaction = _rsm(root, "SupplyChainTradeTransaction")
    for line in document.lines:
        _line(_ram(transaction, "IncludedSupplyChainTradeLineItem"), line)
    _agreement(_ram(transaction, "ApplicableHeaderTradeAgreement"), document)
    _delivery(_ram(transaction, "ApplicableHeaderTradeDelivery"), document)
    _settlement(_ram(transaction, "ApplicableHeaderTradeSettlement"), document)

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _agreement(agreement: etree._Element, document: Document) -> None:
    if document.buyer_reference:
        _ram(agreement, "BuyerReference", document.buyer_reference)
    _party(_ram(agreement, "SellerTradeParty"), document.seller)
    _party(_ram(agreement, "BuyerTradeParty"), document.buyer)
    if document.order_reference:
        _ram(
            _ram(agreement, "BuyerOrderReferencedDocument"),
            "IssuerAssignedID",
            document.order_reference,
        )
    for attachment in document.attachments:
        reference = _ram(agreement, "AdditionalReferencedDocument")
        _ram(reference, "IssuerAssignedID", attachment.reference)
        _ram(reference, "TypeCode", ATTACHMENT_TYPE_CODE)
        _ram(
            reference,
            "AttachmentBinaryObject",
            attachment.content_base64,
            mimeCode=attachment.mime_type,
            filename=attachment.filename,
        )


def _party(element: etree._Element, party: TradeParty) -> None:
    for identifier in party.identifiers:
        _identifier(element, "GlobalID" if identifier.scheme else "ID", identifier)
    _ram(element, "Name", party.name)
    if party.legal_id is not None:
        _identifier(_ram(element, "SpecifiedLegalOrganization"), "ID", party.legal_id)
    if party.contact is not None:
        _contact(element, party.contact)
    if party.address is not None:
        _address(_ram(element, "PostalTradeAddress"), party.address)
    if party.endpoint is not None:
        _identifier(_ram(element, "URIUniversalCommunication"), "URIID", party.endpoint)
    for tax_id, scheme in (
        (party.vat_id, VAT_REGISTRATION_SCHEME),
        (party.tax_registration_id, TAX_REGISTRATION_SCHEME),
    ):
        if tax_id:
            _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", tax_id, schemeID=scheme)


def _contact(party: etree._Element, contact: Contact) -> None:
    if not (contact.name or contact.phone or contact.email):
        return
    element = _ram(party, "DefinedTradeContact")
    if contact.name:
        _ram(element, "PersonName", contact.name)
    if contact.phone:
        _ram(_ram(element, "TelephoneUniversalCommunication"), "CompleteNumber", contact.phone)
    if contact.email:
        _ram(_ram(element, "EmailURIUniversalCommunication"), "URIID", contact.email)


def _identifier(parent: etree._Element, name: str, identifier: SchemedId) -> None:
    if identifier.scheme:
        _ram(parent, name, identifier.value, schemeID=identifier.scheme)
    else:
        _ram(parent, name, identifier.value)


def _address(element: etree._Element, address: PostalAddress) -> None:
    if address.postal_code:
        _ram(element, "PostcodeCode", address.postal_code)
    if address.street:
        _ram(element, "LineOne", address.street)
    if address.city:
        _ram(element, "CityName", address.city)
    _ram(element, "CountryID", address.country)
    if address.subdivision:
        _ram(element, "CountrySubDivisionName", address.subdivision)


def _delivery(delivery: etree._Element, document: Document) -> None:
    if document.delivery is None:
        return  # the element stays, empty: EN 16931-3-3 makes it mandatory
    if document.delivery.address is not None:
        ship_to = _ram(delivery, "ShipToTradeParty")
        _address(_ram(ship_to, "PostalTradeAddress"), document.delivery.address)
    event = _ram(delivery, "ActualDeliverySupplyChainEvent")
    _date(_ram(event, "OccurrenceDateTime"), document.delivery.date)


def _settlement(settlement: etree._Element, document: Document) -> None:
    currency = document.currency
    _ram(settlement, "InvoiceCurrencyCode", currency)
    if document.payment is not None:
        means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _ram(means, "TypeCode", document.payment.means_code)
        account = _ram(means, "PayeePartyCreditorFinancialAccount")
        _ram(account, "IBANID", document.payment.account)
        if document.payment.bic:
            institution = _ram(means, "PayeeSpecifiedCreditorFinancialInstitution")
            _ram(institution, "BICID", document.payment.bic)

    for vat in document.vat_breakdown:
        _trade_tax(_ram(settlement, "ApplicableTradeTax"), vat)

    if document.payment_terms or document.due_date is not None:
        terms = _ram(settlement, "SpecifiedTradePaymentTerms")
        if document.payment_terms:
            _ram(terms, "Description", document.payment_terms)
        if document.due_date is not None:
            _date(_ram(terms, "DueDateDateTime"), document.due_date)

    totals = document.totals
    summation = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _ram(summation, "LineTotalAmount", money_str(totals.line_total))
    _ram(summation, "TaxBasisTotalAmount", money_str(totals.tax_exclusive))
    _ram(summation, "TaxTotalAmount", money_str(totals.tax), currencyID=currency)
    _ram(summation, "GrandTotalAmount", money_str(totals.tax_inclusive))
    _ram(summation, "DuePayableAmount", money_str(totals.payable))

    if document.preceding_invoice is not None:
        reference = _ram(settlement, "InvoiceReferencedDocument")
        _ram(reference, "IssuerAssignedID", document.preceding_invoice.number)
        if document.preceding_invoice.issue_date is not None:
            issued = _ram(reference, "FormattedIssueDateTime")
            _qdt(
                issued,
                "DateTimeString",
                _yyyymmdd(document.preceding_invoice.issue_date),
                format=DATE_FORMAT,
            )


def _trade_tax(tax: etree._Element, vat: VatSubtotal) -> None:
    _ram(tax, "CalculatedAmount", money_str(vat.tax_amount))
    _ram(tax, "TypeCode", VAT_TYPE_CODE)
    if vat.exemption_reason:
        _ram(tax, "ExemptionReason", vat.exemption_reason)
    _ram(tax, "BasisAmount", money_str(vat.taxable_amount))
    _ram(tax, "CategoryCode", vat.category)
    if vat.exemption_code:
        _ram(tax, "ExemptionReasonCode", vat.exemption_code)
    if vat.rate is not None:
        _ram(tax, "RateApplicablePercent", decimal_text(vat.rate))


def _line(item: etree._Element, line: DocumentLine) -> None:
    _ram(_ram(item, "AssociatedDocumentLineDocument"), "LineID", line.line_id)

    product = _ram(item, "SpecifiedTradeProduct")
    if line.seller_item_id:
        _ram(product, "SellerAssignedID", line.seller_item_id)
    _ram(product, "Name", line.name)

    agreement = _ram(item, "SpecifiedLineTradeAgreement")
    if line.gross_price is not None and line.price_discount is not None:
        gross = _ram(agreement, "GrossPriceProductTradePrice")
        _ram(gross, "ChargeAmount", price_text(line.gross_price))
        discount = _ram(gross, "AppliedTradeAllowanceCharge")
        _udt(_ram(discount, "ChargeIndicator"), "Indicator", "false")
        _ram(discount, "ActualAmount", price_text(line.price_discount))
    _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", price_text(line.net_price))

    delivery = _ram(item, "SpecifiedLineTradeDelivery")
    _ram(delivery, "BilledQuantity", decimal_text(line.quantity), unitCode=line.unit_code)

    settlement = _ram(item, "SpecifiedLineTradeSettlement")
    tax = _ram(settlement, "ApplicableTradeTax")
    _ram(tax, "TypeCode", VAT_TYPE_CODE)
    _ram(tax, "CategoryCode", line.vat_category)
    if line.vat_rate is not None:
        _ram(tax, "RateApplicablePercent", decimal_text(line.vat_rate))
    summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _ram(summation, "LineTotalAmount", money_str(line.net_amount))


def _date(parent: etree._Element, date: dt.date) -> None:
    _udt(parent, "DateTimeString", _yyyymmdd(date), format=DATE_FORMAT)


def _yyyymmdd(date: dt.date) -> str:
    return date.strftime("%Y%m%d")


def _rsm(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, etree.QName(NS_RSM, name))


def _ram(
    parent: etree._Element, name: str, text: str | None = None, **attributes: str
) -> etree._Element:
    return _element(parent, NS_RAM, name, text, attributes)


def _udt(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    return _element(parent, NS_UDT, name, text, attributes)


def _qdt(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    return _element(parent, NS_QDT, name, text, attributes)


def _element(
    parent: etree._Element, namespace: str, name: str, text: str | None, attributes: dict[str, str]
) -> etree._Element:
    element = etree.SubElement(parent, etree.QName(namespace, name), attributes)
    if text is not None:
        element.text = text
    return element

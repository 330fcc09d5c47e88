"""EN 16931 document -> UBL 2.1 Invoice or CreditNote: the one UBL builder every flavour uses.

Pure: no I/O. Built with lxml, elements in UBL 2.1 schema order (the XSD's content models are
sequences, so order is validity; the UBL XSD gate checks it). The flavours (CIUS-RO, Peppol BIS
Billing 3.0, XRechnung, EN 16931 for France) differ only in the values of the document they pass.

Syntax choices EN 16931-3-2 leaves open:
- A note's subject code (BT-21) has no UBL element: it prefixes the text as "#CODE#text", the
  convention of the French and German CIUS.
- BT-32 (seller tax registration) is a PartyTaxScheme whose scheme is TAX, beside the VAT one.
- Attachments (BG-24) are embedded: AdditionalDocumentReference/Attachment/
  EmbeddedDocumentBinaryObject with mimeCode and filename.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree

from clearway.domain.invoice import money_str
from clearway.formats.en16931 import decimal_text, price_text

if TYPE_CHECKING:
    from clearway.formats.en16931 import (
        Contact,
        Document,
        DocumentLine,
        Note,
        PostalAddress,
        SchemedId,
        TradeParty,
    )

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

VAT_SCHEME = "VAT"
TAX_REGISTRATION_SCHEME = "TAX"


def write_ubl(document: Document) -> bytes:
    """The UBL 2.1 document, as UTF-8 bytes with an XML declaration."""
    namespace, root_name = (
        (NS_CREDIT_NOTE, "CreditNote") if document.is_credit_note else (NS_INVOICE, "Invoice")
    )
    # The document namespace is the default one, as in the specifications' own examples.
    # lxml-stubs do not admit the None (default namespace) key that lxml documents.
    nsmap = {None: namespace, "cac": NS_CAC, "cbc": NS_CBC}
    root = etree.Element(etree.QName(namespace, root_name), nsmap=nsmap)  # type: ignore[arg-type]

    _header(root, document)
    _references(root, document)
    _party(_cac(root, "AccountingSupplierParty"), document.seller)
    _party(_cac(root, "AccountingCustomerParty"), document.buyer)
    if document.delivery is not None:
        delivery = _cac(root, "Delivery")
        _cbc(delivery, "ActualDeliveryDate", document.delivery.date.isoformat())
        if document.delivery.address is not None:
            location = _cac(delivery, "DeliveryLocation")
            _postal_address(_cac(location, "Address"), document.delivery.address)
    _payment(root, document)
    _tax_total(root, document)
    _legal_monetary_total(root, document)
    line_element = "CreditNoteLine" if document.is_credit_note else "InvoiceLine"
    quantity_element = "CreditedQuantity" if document.is_credit_note else "InvoicedQuantity"
    for line in document.lines:
        _line(_cac(root, line_element), quantity_element, line, document.currency)

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _header(root: etree._Element, document: Document) -> None:
    _cbc(root, "CustomizationID", document.customization_id)
    if document.business_process:
        _cbc(root, "ProfileID", document.business_process)
    _cbc(root, "ID", document.number)
    _cbc(root, "IssueDate", document.issue_date.isoformat())
    # UBL 2.1 CreditNote has no cbc:DueDate: BT-9 goes in PaymentMeans/PaymentDueDate there.
    if not document.is_credit_note and document.due_date is not None:
        _cbc(root, "DueDate", document.due_date.isoformat())
    type_code = "CreditNoteTypeCode" if document.is_credit_note else "InvoiceTypeCode"
    _cbc(root, type_code, document.type_code)
    for note in document.notes:
        _cbc(root, "Note", _note_text(note))
    _cbc(root, "DocumentCurrencyCode", document.currency)
    if document.buyer_reference:
        _cbc(root, "BuyerReference", document.buyer_reference)


def _references(root: etree._Element, document: Document) -> None:
    if document.order_reference:
        _cbc(_cac(root, "OrderReference"), "ID", document.order_reference)
    if document.preceding_invoice is not None:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", document.preceding_invoice.number)
        if document.preceding_invoice.issue_date is not None:
            _cbc(reference, "IssueDate", document.preceding_invoice.issue_date.isoformat())
    for attachment in document.attachments:
        reference = _cac(root, "AdditionalDocumentReference")
        _cbc(reference, "ID", attachment.reference)
        _cbc(
            _cac(reference, "Attachment"),
            "EmbeddedDocumentBinaryObject",
            attachment.content_base64,
            mimeCode=attachment.mime_type,
            filename=attachment.filename,
        )


def _payment(root: etree._Element, document: Document) -> None:
    if document.payment is not None:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", document.payment.means_code)
        if document.is_credit_note and document.due_date is not None:
            _cbc(means, "PaymentDueDate", document.due_date.isoformat())
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", document.payment.account)
        if document.payment.bic:
            _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", document.payment.bic)
    if document.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", document.payment_terms)


def _note_text(note: Note) -> str:
    return f"#{note.subject_code}#{note.text}" if note.subject_code else note.text


def _party(role: etree._Element, party: TradeParty) -> None:
    element = _cac(role, "Party")
    if party.endpoint is not None:
        _identifier(element, "EndpointID", party.endpoint)
    for identifier in party.identifiers:
        _identifier(_cac(element, "PartyIdentification"), "ID", identifier)
    if party.address is not None:
        _postal_address(_cac(element, "PostalAddress"), party.address)
    if party.vat_id:
        _tax_scheme(element, party.vat_id, VAT_SCHEME)
    if party.tax_registration_id:
        _tax_scheme(element, party.tax_registration_id, TAX_REGISTRATION_SCHEME)

    legal_entity = _cac(element, "PartyLegalEntity")
    _cbc(legal_entity, "RegistrationName", party.name)
    if party.legal_id is not None:
        _identifier(legal_entity, "CompanyID", party.legal_id)

    if party.contact is not None:
        _contact(element, party.contact)


def _contact(party: etree._Element, contact: Contact) -> None:
    details = (
        ("Name", contact.name),
        ("Telephone", contact.phone),
        ("ElectronicMail", contact.email),
    )
    if any(value for _, value in details):
        element = _cac(party, "Contact")
        for name, value in details:
            if value:
                _cbc(element, name, value)


def _tax_scheme(party: etree._Element, company_id: str, scheme: str) -> None:
    tax_scheme = _cac(party, "PartyTaxScheme")
    _cbc(tax_scheme, "CompanyID", company_id)
    _cbc(_cac(tax_scheme, "TaxScheme"), "ID", scheme)


def _postal_address(postal: etree._Element, address: PostalAddress) -> None:
    if address.street:
        _cbc(postal, "StreetName", address.street)
    if address.city:
        _cbc(postal, "CityName", address.city)
    if address.postal_code:
        _cbc(postal, "PostalZone", address.postal_code)
    if address.subdivision:
        _cbc(postal, "CountrySubentity", address.subdivision)
    _cbc(_cac(postal, "Country"), "IdentificationCode", address.country)


def _tax_total(root: etree._Element, document: Document) -> None:
    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", document.totals.tax, document.currency)
    for vat in document.vat_breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _amount(subtotal, "TaxableAmount", vat.taxable_amount, document.currency)
        _amount(subtotal, "TaxAmount", vat.tax_amount, document.currency)
        category = _cac(subtotal, "TaxCategory")
        _cbc(category, "ID", vat.category)
        if vat.rate is not None:
            _cbc(category, "Percent", decimal_text(vat.rate))
        if vat.exemption_code:
            _cbc(category, "TaxExemptionReasonCode", vat.exemption_code)
        if vat.exemption_reason:
            _cbc(category, "TaxExemptionReason", vat.exemption_reason)
        _cbc(_cac(category, "TaxScheme"), "ID", VAT_SCHEME)


def _legal_monetary_total(root: etree._Element, document: Document) -> None:
    totals, currency = document.totals, document.currency
    monetary = _cac(root, "LegalMonetaryTotal")
    _amount(monetary, "LineExtensionAmount", totals.line_total, currency)
    _amount(monetary, "TaxExclusiveAmount", totals.tax_exclusive, currency)
    _amount(monetary, "TaxInclusiveAmount", totals.tax_inclusive, currency)
    _amount(monetary, "PayableAmount", totals.payable, currency)


def _line(
    element: etree._Element, quantity_element: str, line: DocumentLine, currency: str
) -> None:
    _cbc(element, "ID", line.line_id)
    _cbc(element, quantity_element, decimal_text(line.quantity), unitCode=line.unit_code)
    _amount(element, "LineExtensionAmount", line.net_amount, currency)

    item = _cac(element, "Item")
    _cbc(item, "Name", line.name)
    if line.seller_item_id:
        # The API gives no code scheme, and a classification (BT-158) needs one (BR-65), so the
        # code travels as the seller's item identifier (BT-155).
        _cbc(_cac(item, "SellersItemIdentification"), "ID", line.seller_item_id)
    category = _cac(item, "ClassifiedTaxCategory")
    _cbc(category, "ID", line.vat_category)
    if line.vat_rate is not None:
        _cbc(category, "Percent", decimal_text(line.vat_rate))
    _cbc(_cac(category, "TaxScheme"), "ID", VAT_SCHEME)

    price = _cac(element, "Price")
    _cbc(price, "PriceAmount", price_text(line.net_price), currencyID=currency)
    if line.gross_price is not None and line.price_discount is not None:
        discount = _cac(price, "AllowanceCharge")
        _cbc(discount, "ChargeIndicator", "false")
        _cbc(discount, "Amount", price_text(line.price_discount), currencyID=currency)
        _cbc(discount, "BaseAmount", price_text(line.gross_price), currencyID=currency)


def _identifier(parent: etree._Element, name: str, identifier: SchemedId) -> None:
    if identifier.scheme:
        _cbc(parent, name, identifier.value, schemeID=identifier.scheme)
    else:
        _cbc(parent, name, identifier.value)


def _amount(parent: etree._Element, element: str, amount: Decimal, currency: str) -> None:
    _cbc(parent, element, money_str(amount), currencyID=currency)


# Names in Clark notation ({namespace}name), which lxml takes faster than a QName: a document
# makes some 80 elements.
def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NS_CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS_CBC}}}{name}", attributes)
    element.text = text
    return element

"""The shared UBL 2.1 builder: element order (UBL's content models are sequences) and content."""

from __future__ import annotations

from tests.libs.formats.support import NS, UBL_HEADER, UBL_PARTIES_TO_TOTALS, find, names
from tests.libs.formats.support import rendered_tree as ubl  # every country here renders UBL


def test_invoice_header_order() -> None:
    root = ubl("DE", "multiple_rates_discount_attachment")
    assert names(root) == [
        "CustomizationID",
        "ProfileID",
        *UBL_HEADER,
        "BuyerReference",
        "OrderReference",
        "AdditionalDocumentReference",
        *UBL_PARTIES_TO_TOTALS,
        "InvoiceLine",
        "InvoiceLine",
        "InvoiceLine",
    ]


def test_credit_note_order_and_billing_reference() -> None:
    root = ubl("FR", "credit_note")
    assert root.tag == f"{{{NS['cn']}}}CreditNote"
    assert names(root) == [
        "CustomizationID",
        "ProfileID",
        "ID",
        "IssueDate",
        "CreditNoteTypeCode",
        "Note",
        "Note",
        "Note",
        "Note",
        "DocumentCurrencyCode",
        "BuyerReference",
        "OrderReference",
        "BillingReference",
        *UBL_PARTIES_TO_TOTALS,
        "CreditNoteLine",
        "CreditNoteLine",
    ]
    reference = find(root, "cac:BillingReference/cac:InvoiceDocumentReference")
    assert names(reference) == ["ID", "IssueDate"]
    assert find(reference, "cbc:ID").text == "INV-2026-0042"
    assert find(reference, "cbc:IssueDate").text == "2026-02-15"
    assert find(root, "cbc:CreditNoteTypeCode").text == "381"
    assert find(root, "cac:CreditNoteLine/cbc:CreditedQuantity").get("unitCode") == "C62"
    # UBL 2.1 CreditNote has no cbc:DueDate: BT-9 is the payment means' due date.
    assert names(find(root, "cac:PaymentMeans")) == [
        "PaymentMeansCode",
        "PaymentDueDate",
        "PayeeFinancialAccount",
    ]


def test_party_order_with_every_part() -> None:
    seller = find(ubl("FR"), "cac:AccountingSupplierParty/cac:Party")
    assert names(seller) == [
        "EndpointID",
        "PartyIdentification",
        "PostalAddress",
        "PartyTaxScheme",
        "PartyLegalEntity",
        "Contact",
    ]
    assert names(find(seller, "cac:Contact")) == ["Telephone", "ElectronicMail"]
    assert names(find(seller, "cac:PartyLegalEntity")) == ["RegistrationName", "CompanyID"]


def test_attachment_is_embedded_with_mime_code_and_filename() -> None:
    root = ubl("BE", "multiple_rates_discount_attachment")
    reference = find(root, "cac:AdditionalDocumentReference")
    assert names(reference) == ["ID", "Attachment"]
    assert find(reference, "cbc:ID").text == "timesheet.pdf"
    binary = find(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    assert binary.get("mimeCode") == "application/pdf"
    assert binary.get("filename") == "timesheet.pdf"
    assert (binary.text or "").startswith("JVBERi0")


def test_discounted_line_has_gross_price_and_price_discount() -> None:
    line = ubl("RO", "multiple_rates_discount_attachment").findall("cac:InvoiceLine", NS)[2]
    assert names(line) == ["ID", "InvoicedQuantity", "LineExtensionAmount", "Item", "Price"]
    price = find(line, "cac:Price")
    assert names(price) == ["PriceAmount", "AllowanceCharge"]
    assert names(find(price, "cac:AllowanceCharge")) == ["ChargeIndicator", "Amount", "BaseAmount"]
    assert find(price, "cbc:PriceAmount").text == "89.985"
    assert find(price, "cac:AllowanceCharge/cbc:ChargeIndicator").text == "false"
    assert find(price, "cac:AllowanceCharge/cbc:Amount").text == "10.005"
    assert find(price, "cac:AllowanceCharge/cbc:BaseAmount").text == "99.99"
    assert find(line, "cbc:LineExtensionAmount").text == "269.96"


def test_exemption_reason_in_the_breakdown_and_category_on_every_line() -> None:
    root = ubl("DE", "exempt")
    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    exempt = find(subtotals[1], "cac:TaxCategory")
    assert names(exempt) == [
        "ID",
        "Percent",
        "TaxExemptionReasonCode",
        "TaxExemptionReason",
        "TaxScheme",
    ]
    assert find(exempt, "cbc:ID").text == "E"
    assert find(exempt, "cbc:TaxExemptionReasonCode").text == "VATEX-EU-132-1I"
    assert names(find(subtotals[0], "cac:TaxCategory")) == ["ID", "Percent", "TaxScheme"]
    categories = [
        find(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID").text
        for line in root.findall("cac:InvoiceLine", NS)
    ]
    assert categories == ["S", "E"]


def test_reverse_charge_and_zero_rated() -> None:
    reverse = ubl("BE", "reverse_charge").findall("cac:TaxTotal/cac:TaxSubtotal", NS)[1]
    assert find(reverse, "cac:TaxCategory/cbc:ID").text == "AE"
    assert find(reverse, "cac:TaxCategory/cbc:TaxExemptionReasonCode").text == "VATEX-EU-AE"
    assert find(reverse, "cbc:TaxAmount").text == "0.00"
    zero = ubl("RO", "zero_rated").findall("cac:TaxTotal/cac:TaxSubtotal", NS)[1]
    assert names(find(zero, "cac:TaxCategory")) == ["ID", "Percent", "TaxScheme"]
    assert find(zero, "cac:TaxCategory/cbc:ID").text == "Z"


def test_intra_community_supply_has_delivery_date_and_country() -> None:
    root = ubl("BE", "intra_community")
    names_in_order = names(root)
    assert names_in_order.index("Delivery") == names_in_order.index("AccountingCustomerParty") + 1
    delivery = find(root, "cac:Delivery")
    assert names(delivery) == ["ActualDeliveryDate", "DeliveryLocation"]
    assert find(delivery, "cbc:ActualDeliveryDate").text == "2026-03-02"
    country = "cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode"
    assert find(delivery, country).text == "NL"
    assert find(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID").text == "K"


def test_not_subject_to_vat_has_no_vat_identifiers_and_no_rate() -> None:
    # Plain EN 16931 (FR); XRechnung states a 0 rate in the breakdown (BR-DE-14, test_xrechnung).
    root = ubl("FR", "not_subject_to_vat")
    category = find(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory")
    assert names(category) == ["ID", "TaxExemptionReasonCode", "TaxExemptionReason", "TaxScheme"]
    line_category = find(root, "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory")
    assert names(line_category) == ["ID", "TaxScheme"]
    seller_tax = root.findall("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme", NS)
    assert [find(s, "cac:TaxScheme/cbc:ID").text for s in seller_tax] == ["TAX"]
    assert root.find("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme", NS) is None
